/**
 * Access tokens for Vertex AI. In production: Application Default Credentials through google-auth-library (on Cloud
 * Run, the metadata server of the service's own service account). The token is cached and refreshed in the
 * background ahead of expiry, so the hot path reads a string and never waits on the token endpoint (except the very
 * first request, or after a failed refresh let the token lapse).
 */
import { GoogleAuth } from "google-auth-library";

export interface TokenSource {
  /** The `Authorization` header value to send upstream. */
  authorization(): string | Promise<string>;
  /** True when a usable token is held (readiness). */
  healthy(): boolean;
}

/** What the token source needs from an auth client: google-auth-library's AuthClient satisfies it. */
export interface AccessTokenClient {
  getAccessToken(): Promise<{ token?: string | null; res?: { data?: { expiry_date?: number | null } } | null }>;
  credentials?: { expiry_date?: number | null };
}

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

/** Emulator mode: a fixed bearer token (the emulator, like Vertex, insists on one being present). */
export function staticToken(token: string): TokenSource {
  const header = `Bearer ${token}`;
  return { authorization: () => header, healthy: () => true };
}

export interface AdcOptions {
  /** Refresh this long before expiry (google-auth-library refreshes 5 minutes ahead too). */
  refreshAheadMs?: number;
  /** Injected client for tests; default: ADC with the cloud-platform scope. */
  client?: AccessTokenClient;
  onError?: (err: Error) => void;
  now?: () => number;
}

/** Tokens are assumed valid this long when the client does not report an expiry (metadata tokens last ~1 h). */
const DEFAULT_LIFETIME_MS = 30 * 60_000;

export function adcTokenSource(options: AdcOptions = {}): TokenSource {
  const refreshAheadMs = options.refreshAheadMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let clientPromise: Promise<AccessTokenClient> | undefined;
  const getClient = () =>
    (clientPromise ??= options.client
      ? Promise.resolve(options.client)
      : (new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] }).getClient() as Promise<AccessTokenClient>));

  let header: string | undefined;
  let expiresAt = 0;
  let inflight: Promise<string> | undefined;

  const refresh = (): Promise<string> =>
    (inflight ??= (async () => {
      try {
        const client = await getClient();
        const { token, res } = await client.getAccessToken();
        if (!token) throw new Error("the credentials returned no access token");
        const expiry = res?.data?.expiry_date ?? client.credentials?.expiry_date ?? now() + DEFAULT_LIFETIME_MS;
        header = `Bearer ${token}`;
        expiresAt = expiry;
        return header;
      } catch (err) {
        options.onError?.(err as Error);
        throw err;
      } finally {
        inflight = undefined;
      }
    })());

  return {
    authorization() {
      const t = now();
      if (header && t < expiresAt - refreshAheadMs) return header;
      if (header && t < expiresAt) {
        // Still valid: use it, and refresh in the background.
        refresh().catch(() => undefined);
        return header;
      }
      return refresh();
    },
    healthy: () => header !== undefined && now() < expiresAt,
  };
}
