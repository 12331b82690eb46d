/**
 * Authenticating Pub/Sub push requests. A push subscription with `oidcToken{serviceAccountEmail, audience}` sends
 * `Authorization: Bearer <JWT>`: a Google-signed ID token (RS256) whose `aud` is the configured audience and whose
 * `email` is the subscription's service account. Anyone can mint a Google ID token for some audience, so the check is
 * all three: Google's signature (and issuer, expiry, audience), then the exact service account, with a verified email.
 *
 * Signatures are checked by google-auth-library's OAuth2Client against Google's certificates, which it fetches and
 * caches per their Cache-Control; tests pass their own `certs` instead. The library's error messages quote the whole
 * token, so they are never passed on: clients and logs get our own short reasons.
 */
import { OAuth2Client, type TokenPayload } from "google-auth-library";
import { GatewayError } from "../wire/errors.js";

/** Google signs ID tokens with either spelling of its issuer. */
const GOOGLE_ISSUERS = ["accounts.google.com", "https://accounts.google.com"];

export interface PushVerifierOptions {
  /** The `audience` configured on the push subscription (by default Pub/Sub uses the push endpoint URL). */
  audience: string;
  /** The service account the subscription signs as; tokens of any other account are refused (403). */
  serviceAccountEmail: string;
  /** Key id → PEM certificate or public key to verify against instead of Google's (tests, air-gapped set-ups). */
  certs?: Readonly<Record<string, string>>;
}

export interface PushVerifier {
  /**
   * Resolves when `authorization` carries a valid token of the expected service account.
   * @throws GatewayError 401 UNAUTHENTICATED (missing, malformed, badly signed, expired, wrong issuer or audience),
   *   403 PERMISSION_DENIED (valid token of another account, or an unverified email), 503 UNAVAILABLE (Google's
   *   certificates could not be fetched: Pub/Sub retries).
   */
  verify(authorization: string | undefined): Promise<void>;
}

export function createPushVerifier(options: PushVerifierOptions): PushVerifier {
  const client = new OAuth2Client();
  const fixedCerts = options.certs ? { ...options.certs } : undefined;

  const certs = async (): Promise<Record<string, string>> => {
    if (fixedCerts) return fixedCerts;
    try {
      // PEM format under Node; cached by the client until the certificates' max-age.
      const { certs } = await client.getFederatedSignonCertsAsync();
      return certs as Record<string, string>;
    } catch {
      throw new GatewayError(
        503,
        "UNAVAILABLE",
        "Could not fetch Google's token-signing certificates to authenticate the push request; retry shortly.",
        undefined,
        { "retry-after": "5" },
      );
    }
  };

  return {
    async verify(authorization) {
      const token = bearerToken(authorization);
      checkHeader(token);
      let payload: TokenPayload | undefined;
      try {
        const ticket = await client.verifySignedJwtWithCertsAsync(
          token,
          await certs(),
          options.audience,
          GOOGLE_ISSUERS,
        );
        payload = ticket.getPayload();
      } catch (err) {
        if (err instanceof GatewayError) throw err;
        throw unauthenticated(reasonOf(err));
      }
      if (!payload) throw unauthenticated("the token has no payload");
      if (payload.email !== options.serviceAccountEmail) {
        throw new GatewayError(
          403,
          "PERMISSION_DENIED",
          "The push token is not from the service account this endpoint accepts.",
        );
      }
      if (payload.email_verified !== true) {
        throw new GatewayError(403, "PERMISSION_DENIED", "The push token's email is not verified.");
      }
    },
  };
}

function unauthenticated(reason: string): GatewayError {
  return new GatewayError(401, "UNAUTHENTICATED", `The push request's OIDC token was rejected: ${reason}.`);
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) {
    throw new GatewayError(
      401,
      "UNAUTHENTICATED",
      "The push request has no Authorization header; configure the subscription's push authentication (OIDC token).",
    );
  }
  const m = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(authorization);
  if (!m) throw unauthenticated("the Authorization header is not a Bearer JWT");
  return m[1]!;
}

/**
 * The library verifies every token as RSA-SHA256 whatever its header says (ES256 aside), so "none" and HS256 tokens
 * already fail its signature check; refusing any alg but RS256 up front makes that explicit and independent of it.
 */
function checkHeader(token: string): void {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString("utf8"));
  } catch {
    throw unauthenticated("the token header is not valid JSON");
  }
  const h = header as { alg?: unknown; kid?: unknown } | null;
  if (typeof h !== "object" || h === null) throw unauthenticated("the token header is not valid JSON");
  if (h.alg !== "RS256") throw unauthenticated("the token is not signed with RS256");
  if (typeof h.kid !== "string" || h.kid === "") throw unauthenticated("the token header names no signing key");
}

/** Our wording for the library's failures (whose messages contain the token itself). */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  if (message.startsWith("No pem found")) return "it is not signed by a known Google key";
  if (message.startsWith("Invalid token signature")) return "its signature is invalid";
  if (message.startsWith("Token used too late")) return "it has expired";
  if (message.startsWith("Token used too early")) return "it is not valid yet";
  if (message.startsWith("Expiration time too far")) return "its expiry is too far in the future";
  if (message.startsWith("No issue time") || message.startsWith("No expiration time")) return "it lacks iat or exp";
  if (message.startsWith("Invalid issuer")) return "it was not issued by Google";
  if (message.startsWith("Wrong recipient")) return "its audience is not this endpoint";
  return "it could not be verified";
}
