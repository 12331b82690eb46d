// Resources: each tenant's live context caches, stored interactions and batch jobs, from the ownership registry
// (GET /admin/resources). Display names are the tenant's own strings: text only.
import { api } from "../api.js";
import { el, fmt, show, table } from "../dom.js";

const KINDS = [
  ["cachedContent", "Context caches"],
  ["interaction", "Interactions"],
  ["batch", "Batch jobs"],
];

export async function refresh() {
  const doc = await api.get("/admin/resources");
  const body = document.getElementById("resources-body");
  const tenants = Object.entries(doc.tenants);
  show(
    body,
    tenants.map(([tenant, kinds]) =>
      el(
        "div",
        { class: "tenant", "data-testid": "resources-tenant", "data-tenant": tenant },
        el("h3", {}, tenant),
        KINDS.map(([kind, title]) => [
          el("h4", {}, `${title} (${kinds[kind].length})`),
          kinds[kind].length
            ? table(
                ["id", "name", "model", "upstream", "created", "expires", "details"],
                kinds[kind].map((r) => ({
                  attrs: { "data-testid": `resource-${kind}`, "data-id": r.id },
                  cells: [
                    r.id,
                    { value: r.displayName ?? "", class: "display-name" },
                    r.model,
                    r.upstream,
                    fmt.time(r.createdAt),
                    fmt.time(r.expiresAt),
                    [
                      r.tokens !== undefined ? `${fmt.int(r.tokens)} tokens` : "",
                      r.requests !== undefined ? `${fmt.int(r.requests)} requests` : "",
                      r.billed !== undefined ? (r.billed ? "billed" : "not yet billed") : "",
                    ]
                      .filter(Boolean)
                      .join(" · "),
                  ],
                })),
              )
            : null,
        ]),
      ),
    ),
  );
}
