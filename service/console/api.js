// The admin endpoints, with the console session (cookie) and, on changes, its CSRF token. A lost session sends the
// page back to the login form.

let csrfToken = "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  if (res.status === 401) {
    location.assign("/console/login");
    throw new ApiError(401, "session ended");
  }
  const text = await res.text();
  const doc = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, doc?.error?.message ?? `HTTP ${res.status}`);
  return doc;
}

export const api = {
  async start() {
    const session = await call("GET", "/console/session");
    csrfToken = session.csrfToken;
    return session;
  },
  get: (path) => call("GET", path),
  /** Like get, but a 404 (an endpoint this gateway does not serve) is null rather than an error. */
  async optional(path) {
    try {
      return await call("GET", path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  },
  post: (path, body) => call("POST", path, body ?? {}),
};
