/**
 * Headers on every console response (pages, assets, redirects, refusals). The Content-Security-Policy allows nothing but
 * this origin's own files: no inline script or style, no eval, no plugins, no framing, forms only to this origin; and
 * Trusted Types are required, so the browser itself refuses any string written into an HTML sink (innerHTML and the
 * like) — the console's code writes tenant-supplied strings with textContent only, and the policy makes that a rule.
 */
import type { ServerResponse } from "node:http";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  // Pages show live spend and keys: never kept by a shared cache or the back button.
  "cache-control": "no-store",
};

export function setConsoleHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(HEADERS)) res.setHeader(name, value);
}
