/**
 * A stand-in for Google's token signer: one RSA key generated per test process, its public key as `certs` (what
 * push-auth.ts accepts instead of Google's certificates), and ID tokens signed by hand with node:crypto, so tests can
 * also forge the bad ones (another key, alg "none", HS256 keyed with the public key, expired, wrong claims).
 */
import { createHmac, createSign, generateKeyPairSync, type KeyObject } from "node:crypto";

export const KID = "test-key-1";

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
}

export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

export const signingKey = newSigningKey();

/** Key id → public key PEM, as createPushVerifier's `certs` option takes it. */
export const certs: Record<string, string> = { [KID]: signingKey.publicKeyPem };

/** Claims of a Pub/Sub push token; iss, iat, exp and email_verified get defaults. */
export interface IdTokenClaims {
  iss?: string;
  aud?: string | string[];
  sub?: string;
  email?: string;
  email_verified?: boolean;
  iat?: number;
  exp?: number;
  [claim: string]: unknown;
}

export interface SignOptions {
  kid?: string;
  /** "RS256" (default) signs with `key`; "HS256" with the public key PEM as HMAC secret; "none" leaves it unsigned. */
  alg?: "RS256" | "HS256" | "none";
  /** Default: this module's key. */
  key?: SigningKey;
}

export function signIdToken(claims: IdTokenClaims, opts: SignOptions = {}): string {
  const alg = opts.alg ?? "RS256";
  const key = opts.key ?? signingKey;
  const iat = Math.floor(Date.now() / 1000);
  const payload = { iss: "https://accounts.google.com", iat, exp: iat + 3600, email_verified: true, ...claims };
  const header = { alg, kid: opts.kid ?? KID, typ: "JWT" };
  const signed = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;

  let signature = "";
  if (alg === "RS256") signature = createSign("RSA-SHA256").update(signed).sign(key.privateKey, "base64url");
  else if (alg === "HS256") signature = createHmac("sha256", key.publicKeyPem).update(signed).digest("base64url");
  return `${signed}.${signature}`;
}

function b64url(s: string): string {
  return Buffer.from(s, "utf8").toString("base64url");
}
