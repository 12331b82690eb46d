/**
 * Where the managed keys document lives. Two places, one contract:
 * - Secret Manager (GATEWAY_KEYS_SECRET): every change is a new version of one secret, so the versions are the
 *   history and any earlier version can be made current again (docs/keys.md, Rollback). The revision is the version
 *   number.
 * - the quota store (without GATEWAY_KEYS_SECRET): one entry; shared by every instance with Redis, this process only
 *   with the in-memory store. The revision is a counter kept beside the document.
 *
 * Writers are serialized by the caller (keys/service.ts holds a lease in the shared store around read-change-write);
 * this module only reads and writes whole documents.
 */
import type { KeyValue } from "../store/store.js";
import { EMPTY_DOCUMENT, parseDocument, serializeDocument, type KeysDocument } from "./records.js";

export interface Revisioned {
  doc: KeysDocument;
  /** Changes with every write: "0" before the first. */
  revision: string;
}

export interface KeysDocuments {
  /** For logs and /readyz: where the document lives. */
  readonly where: string;
  /** The latest document (EMPTY_DOCUMENT at revision "0" before the first write). */
  read(): Promise<Revisioned>;
  /** Writes a new revision and returns it. */
  write(doc: KeysDocument): Promise<string>;
  close(): Promise<void>;
}

/** Effectively permanent: the store's KeyValue entries all expire, this one after ten years. */
const KEEP_MS = 10 * 365 * 86_400_000;
const DOC_KEY = "keys:document";

/** The document in the quota store's KeyValue: `{"revision":n,"doc":{…}}`. */
export function storeDocuments(kv: KeyValue, where: string): KeysDocuments {
  return {
    where,
    async read() {
      const raw = await kv.get(DOC_KEY);
      if (raw === null) return { doc: EMPTY_DOCUMENT, revision: "0" };
      const { revision, doc } = JSON.parse(raw) as { revision: number; doc: unknown };
      return { doc: parseDocument(JSON.stringify(doc)), revision: String(revision) };
    },
    async write(doc) {
      const raw = await kv.get(DOC_KEY);
      const revision = raw === null ? 1 : (JSON.parse(raw) as { revision: number }).revision + 1;
      await kv.set(DOC_KEY, `{"revision":${revision},"doc":${serializeDocument(doc)}}`, KEEP_MS);
      return String(revision);
    },
    async close() {},
  };
}

/** The few calls of `@google-cloud/secret-manager`'s client that the gateway makes (a test can pass another). */
export interface SecretVersions {
  /** The latest version's number and bytes; null when the secret has no version yet. */
  latest(secret: string): Promise<{ version: string; data: Buffer } | null>;
  /** Adds a version and returns its number. */
  add(secret: string, data: Buffer): Promise<string>;
  close(): Promise<void>;
}

export function secretManagerDocuments(secret: string, versions: SecretVersions): KeysDocuments {
  return {
    where: `Secret Manager ${secret}`,
    async read() {
      const latest = await versions.latest(secret);
      if (latest === null) return { doc: EMPTY_DOCUMENT, revision: "0" };
      return { doc: parseDocument(latest.data.toString("utf8")), revision: latest.version };
    },
    write: (doc) => versions.add(secret, Buffer.from(serializeDocument(doc), "utf8")),
    close: () => versions.close(),
  };
}

/** gRPC status NOT_FOUND, as the client reports it (REST 404 mapped by google-gax). */
const NOT_FOUND = 5;

/**
 * The official client over REST (`fallback: true`), the same transport on Cloud Run (Application Default Credentials)
 * and against the emulator (`baseUrl`: plain HTTP, no credentials sent). Imported lazily: only gateways with
 * GATEWAY_KEYS_SECRET load google-gax.
 */
export async function secretManagerClient(baseUrl: string | undefined): Promise<SecretVersions> {
  const { SecretManagerServiceClient } = await import("@google-cloud/secret-manager");
  let options: ConstructorParameters<typeof SecretManagerServiceClient>[0] = { fallback: true };
  if (baseUrl) {
    const { PassThroughClient } = await import("google-auth-library");
    const url = new URL(baseUrl);
    options = {
      fallback: true,
      protocol: url.protocol.replace(":", ""),
      apiEndpoint: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      // An emulator (or a test server) takes no credentials; the client would otherwise look for ADC.
      authClient: new PassThroughClient(),
    };
  }
  const client = new SecretManagerServiceClient(options);
  return {
    async latest(secret) {
      try {
        const [v] = await client.accessSecretVersion({ name: `${secret}/versions/latest` });
        const data = v.payload?.data;
        if (!v.name || !data) throw new Error(`Secret Manager answered ${secret} without a version or payload`);
        return { version: v.name.slice(v.name.lastIndexOf("/") + 1), data: Buffer.from(data as Uint8Array) };
      } catch (err) {
        if ((err as { code?: unknown }).code === NOT_FOUND) return null;
        throw err;
      }
    },
    async add(secret, data) {
      const [v] = await client.addSecretVersion({ parent: secret, payload: { data } });
      if (!v.name) throw new Error(`Secret Manager added a version to ${secret} without naming it`);
      return v.name.slice(v.name.lastIndexOf("/") + 1);
    },
    close: () => client.close(),
  };
}
