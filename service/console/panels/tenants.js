// Tenants and keys: usage and spend by model and feature (GET /admin/usage?period=day|month), limits and how close
// each tenant is to them (GET /admin/tenants), and keys with their actions (GET/POST /admin/keys…). A new key's secret
// is shown once, in the page only until dismissed.
import { api, ApiError } from "../api.js";
import { el, fmt, meter, show, table } from "../dom.js";

const LIMITS = [
  ["requestsPerMinute", "requests / minute", fmt.int],
  ["tokensPerMinute", "tokens / minute", fmt.int],
  ["requestsPerDay", "requests / day", fmt.int],
  ["usdPerDay", "USD / day", fmt.usd],
  ["usdPerMonth", "USD / month", fmt.usd],
];

let controls;

function say(text, isError = false) {
  show(controls.message, text ? el("span", { class: isError ? "error" : "" }, text) : null);
}

/** The secret of a key just made: shown once; Dismiss removes it from the page (nothing else holds it). */
function showSecret(title, secret, note) {
  const slot = document.getElementById("secret-slot");
  const code = el("code", { "data-testid": "secret-value" }, secret);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      say("Copied.");
    } catch {
      say("Copy failed: select the key and copy it by hand.", true);
    }
  };
  show(
    slot,
    el(
      "div",
      { class: "secret", "data-testid": "secret", role: "alert" },
      el("strong", {}, title),
      el("div", {}, "Copy it now: the gateway keeps only its hash and will not show it again."),
      code,
      note ? el("div", { class: "note" }, note) : null,
      el("button", { type: "button", on: { click: copy } }, "Copy"),
      " ",
      el(
        "button",
        { type: "button", "data-testid": "secret-dismiss", on: { click: () => slot.replaceChildren() } },
        "Dismiss",
      ),
    ),
  );
}

async function act(what, fn) {
  try {
    await fn();
  } catch (err) {
    say(`${what} failed: ${err instanceof ApiError ? `${err.status} ${err.message}` : err.message}`, true);
  }
  await refresh();
}

function createKey(event) {
  event.preventDefault();
  const tenant = controls.tenant.value;
  const label = controls.label.value.trim();
  const expires = controls.expires.value;
  return act("Creating the key", async () => {
    const doc = await api.post("/admin/keys", {
      tenant,
      label,
      ...(expires ? { expiresAt: new Date(expires).toISOString() } : {}),
    });
    controls.label.value = "";
    say(`Key ${doc.key.id} created for ${doc.key.tenant}.`);
    showSecret(`New key ${doc.key.id} for tenant ${doc.key.tenant}`, doc.secret);
  });
}

function rotate(key) {
  const overlapSeconds = Number(controls.overlap.value);
  return act(`Rotating ${key.id}`, async () => {
    const doc = await api.post(`/admin/keys/${encodeURIComponent(key.id)}/rotate`, { overlapSeconds });
    say(`Key ${key.id} rotated: ${doc.key.id} replaces it.`);
    showSecret(
      `Key ${doc.key.id} replaces ${doc.previous.id} (tenant ${doc.key.tenant})`,
      doc.secret,
      `The old key stays valid until ${fmt.time(doc.previous.expiresAt)} (the overlap), then expires.`,
    );
  });
}

function revoke(key) {
  if (
    !confirm(`Revoke key ${key.id} (${key.label}) of tenant ${key.tenant}? Every instance refuses it within seconds.`)
  ) {
    return;
  }
  return act(`Revoking ${key.id}`, async () => {
    await api.post(`/admin/keys/${encodeURIComponent(key.id)}/revoke`);
    say(`Key ${key.id} revoked.`);
  });
}

function initControls() {
  const period = document.getElementById("tenants-period");
  period.addEventListener("change", () => void refresh());
  const tenant = el("select", { name: "tenant", "aria-label": "tenant", "data-testid": "key-tenant" });
  const label = el("input", {
    name: "label",
    placeholder: "label (e.g. ci-runner)",
    required: true,
    maxlength: 200,
    "data-testid": "key-label",
  });
  const expires = el("input", { name: "expiresAt", type: "datetime-local", "aria-label": "expires (optional)" });
  const overlap = el("input", {
    name: "overlapSeconds",
    type: "number",
    min: 0,
    value: 3600,
    "aria-label": "rotation overlap in seconds",
    "data-testid": "key-overlap",
  });
  const message = el("div", { "data-testid": "keys-message", role: "status" });
  const form = el(
    "form",
    { class: "inline", "data-testid": "key-form", on: { submit: createKey } },
    "New key for",
    tenant,
    label,
    "expires",
    expires,
    el("button", { type: "submit", class: "primary", "data-testid": "key-create" }, "Create key"),
    el("span", { class: "note" }, "· rotation keeps the old key for"),
    overlap,
    el("span", { class: "note" }, "s"),
  );
  document.getElementById("secret-slot").before(form, message);
  controls = { period, tenant, label, expires, overlap, message, form };
}

function syncTenantOptions(ids) {
  const have = [...controls.tenant.options].map((o) => o.value);
  if (have.join("\n") === ids.join("\n")) return;
  const selected = controls.tenant.value;
  controls.tenant.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
  if (ids.includes(selected)) controls.tenant.value = selected;
}

function usageTable(rows, testid) {
  return table(
    [
      "",
      { value: "requests", class: "num" },
      { value: "input tokens", class: "num" },
      { value: "output tokens", class: "num" },
      { value: "cache hits", class: "num" },
      { value: "USD", class: "num" },
    ],
    rows.map(([name, u]) => ({
      attrs: { "data-testid": testid, "data-name": name },
      cells: [
        name,
        { value: fmt.int(u.requests), class: "num" },
        { value: fmt.int(u.tokens.input), class: "num" },
        { value: fmt.int(u.tokens.output), class: "num" },
        { value: fmt.int(u.cacheHits), class: "num" },
        { value: fmt.usd(u.usd), class: "num", dataset: { value: String(u.usd) } },
      ],
    })),
  );
}

function tenantSection(id, info, usage, keys, period) {
  const total = usage?.total;
  const active = keys.filter((k) => k.state === "active" || k.state === "expiring").length;
  return el(
    "div",
    { class: "tenant", "data-testid": "tenant", "data-tenant": id },
    el("h3", {}, id),
    el(
      "p",
      {},
      info ? `priority ${info.priority} · models ${info.models.join(", ")} · ` : "",
      `keys ${info?.keys?.active ?? active} active of ${info?.keys?.total ?? keys.length} · spend ${period === "day" ? "today" : "this month"}: `,
      el(
        "strong",
        { "data-testid": "tenant-spend", dataset: { tenant: id, value: String(total?.usd ?? 0) } },
        fmt.usd(total?.usd ?? 0),
      ),
      ` · ${fmt.int(total?.requests ?? 0)} requests`,
    ),
    usage && Object.keys(usage.models).length
      ? [el("h4", {}, "By model"), usageTable(Object.entries(usage.models), "usage-model")]
      : null,
    usage && Object.keys(usage.features).length
      ? [el("h4", {}, "By feature"), usageTable(Object.entries(usage.features), "usage-feature")]
      : null,
    usage && Object.keys(usage.kinds ?? {}).length
      ? [el("h4", {}, "Caches, interactions, batch jobs"), usageTable(Object.entries(usage.kinds), "usage-kind")]
      : null,
    info
      ? [
          el("h4", {}, "Limits"),
          info.limits
            ? table(
                ["limit", { value: "used", class: "num" }, { value: "limit", class: "num" }, "how close"],
                LIMITS.filter(([k]) => info.limits[k] !== undefined).map(([k, name, f]) => ({
                  attrs: { "data-testid": "limit", "data-limit": k },
                  cells: [
                    name,
                    { value: f(info.used?.[k] ?? 0), class: "num" },
                    { value: f(info.limits[k]), class: "num" },
                    meter(info.used?.[k] ?? 0, info.limits[k]),
                  ],
                })),
              )
            : el("p", { class: "note" }, "No limits."),
        ]
      : null,
    el("h4", {}, "Keys"),
    keys.length
      ? table(
          ["id", "label", "state", "source", "created", "expires", "last used", ""],
          keys.map((k) => ({
            attrs: { "data-testid": "key", "data-key-id": k.id, "data-state": k.state },
            cells: [
              k.id,
              { value: k.label, class: "key-label" },
              { value: k.state, class: `state-${k.state}` },
              k.source,
              fmt.time(k.createdAt),
              fmt.time(k.expiresAt),
              fmt.time(k.lastUsedAt),
              k.state === "active" || k.state === "expiring"
                ? el(
                    "span",
                    {},
                    el(
                      "button",
                      { type: "button", "data-testid": "key-rotate", on: { click: () => rotate(k) } },
                      "Rotate",
                    ),
                    " ",
                    el(
                      "button",
                      { type: "button", class: "danger", "data-testid": "key-revoke", on: { click: () => revoke(k) } },
                      "Revoke",
                    ),
                  )
                : "",
            ],
          })),
        )
      : el("p", { class: "note" }, "No keys listed."),
  );
}

export async function refresh() {
  if (!controls) initControls();
  const period = controls.period.value;
  const [usage, tenants, keys] = await Promise.all([
    api.get(`/admin/usage?period=${period}`),
    api.optional("/admin/tenants"),
    api.optional("/admin/keys"),
  ]);
  const info = new Map((tenants?.tenants ?? []).map((t) => [t.id, t]));
  const keyList = keys?.keys ?? [];
  const ids = [...new Set([...info.keys(), ...Object.keys(usage.tenants), ...keyList.map((k) => k.tenant)])].sort();
  syncTenantOptions(ids);
  const missing = [tenants ? null : "GET /admin/tenants", keys ? null : "GET /admin/keys"].filter(Boolean);
  show(
    document.getElementById("tenants-body"),
    missing.length
      ? el(
          "p",
          { class: "note" },
          `This gateway does not serve ${missing.join(" or ")}: limits and keys are not shown.`,
        )
      : null,
    ids.map((id) =>
      tenantSection(
        id,
        info.get(id),
        usage.tenants[id],
        keyList.filter((k) => k.tenant === id),
        period,
      ),
    ),
  );
}
