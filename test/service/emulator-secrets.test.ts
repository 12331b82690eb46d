// The emulator's Secret Manager subset, through the official client's REST transport (as the gateway calls it) and
// plain HTTP for the calls only operators make (version list, access by number): versions numbered from 1, latest is
// the newest, Google's error statuses.
import { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import { PassThroughClient } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretManagerClient } from "../../service/src/keys/documents.js";
import { startEmulator, type RunningEmulator } from "../../service/src/emulator/server.js";

let emulator: RunningEmulator;
let client: SecretManagerServiceClient;
const NAME = "projects/p1/secrets/doc";

beforeAll(async () => {
  emulator = await startEmulator();
  const url = new URL(emulator.url);
  client = new SecretManagerServiceClient({
    fallback: true,
    protocol: "http",
    apiEndpoint: url.hostname,
    port: Number(url.port),
    authClient: new PassThroughClient(),
  });
});
afterAll(async () => {
  await client.close();
  await emulator.close();
});

describe("emulator Secret Manager", () => {
  it("create, add versions, access latest and by number, list newest first", async () => {
    const [secret] = await client.createSecret({
      parent: "projects/p1",
      secretId: "doc",
      secret: { replication: { automatic: {} } },
    });
    expect(secret.name).toBe(NAME);
    await expect(
      client.createSecret({ parent: "projects/p1", secretId: "doc", secret: { replication: { automatic: {} } } }),
    ).rejects.toMatchObject({ code: 6 }); // ALREADY_EXISTS
    await expect(client.accessSecretVersion({ name: `${NAME}/versions/latest` })).rejects.toMatchObject({ code: 5 });
    for (const text of ["one", "two", "three"]) {
      await client.addSecretVersion({ parent: NAME, payload: { data: Buffer.from(text) } });
    }
    const [latest] = await client.accessSecretVersion({ name: `${NAME}/versions/latest` });
    expect(latest.name).toBe(`${NAME}/versions/3`);
    expect(Buffer.from(latest.payload!.data as Uint8Array).toString()).toBe("three");
    const [second] = await client.accessSecretVersion({ name: `${NAME}/versions/2` });
    expect(Buffer.from(second.payload!.data as Uint8Array).toString()).toBe("two");
    const list = (await (await fetch(`${emulator.url}/v1/${NAME}/versions`)).json()) as {
      versions: { name: string; state: string }[];
    };
    expect(list.versions.map((v) => v.name)).toEqual([3, 2, 1].map((n) => `${NAME}/versions/${n}`));
    expect(emulator.secretVersions(NAME).map((b) => b.toString())).toEqual(["one", "two", "three"]);
  });

  it("the gateway's wrapper: null before the first version, the version number after each add", async () => {
    await fetch(`${emulator.url}/v1/projects/p1/secrets?secretId=wrapped`, { method: "POST", body: "{}" });
    const versions = await secretManagerClient(emulator.url);
    try {
      expect(await versions.latest("projects/p1/secrets/wrapped")).toBeNull();
      expect(await versions.add("projects/p1/secrets/wrapped", Buffer.from("a"))).toBe("1");
      expect(await versions.add("projects/p1/secrets/wrapped", Buffer.from("b"))).toBe("2");
      expect(await versions.latest("projects/p1/secrets/wrapped")).toEqual({ version: "2", data: Buffer.from("b") });
      // A secret that does not exist: adding a version is refused (the infrastructure creates the secret).
      await expect(versions.add("projects/p1/secrets/missing", Buffer.from("x"))).rejects.toMatchObject({ code: 5 });
    } finally {
      await versions.close();
    }
  });

  it("answers bad requests with Google's envelope", async () => {
    const bad = await fetch(`${emulator.url}/v1/${NAME}:addVersion`, { method: "POST", body: "{}" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 400, status: "INVALID_ARGUMENT" } });
    const missing = await fetch(`${emulator.url}/v1/${NAME}/versions/9:access`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { status: "NOT_FOUND" } });
  });
});
