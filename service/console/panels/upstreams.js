// Upstreams: circuit breaker states (GET /readyz → details.circuits), upstream calls by outcome and retries/failovers
// (GET /admin/summary: this instance's metrics), and the breakers' cool-down before a probe.
import { api } from "../api.js";
import { el, fmt, show, table } from "../dom.js";

export async function refresh() {
  const [readyz, summary] = await Promise.all([
    fetch("/readyz", { cache: "no-store" }).then((r) => r.json()),
    api.get("/admin/summary"),
  ]);
  const circuits = Object.entries(readyz.details?.circuits ?? {}).map(([key, state]) => {
    const bar = key.indexOf("|");
    return { upstream: key.slice(0, bar), model: key.slice(bar + 1), state };
  });
  const outcomes = [...new Set(Object.values(summary.upstreamCalls).flatMap((u) => Object.keys(u.byOutcome)))].sort();
  show(
    document.getElementById("upstreams-body"),
    el(
      "p",
      {},
      `Readiness: ${readyz.status}. `,
      Object.entries(readyz.checks)
        .map(([k, v]) => `${k}: ${v}`)
        .join(" · "),
    ),
    el("h3", {}, "Circuits"),
    el(
      "p",
      { class: "note" },
      `An open circuit is routed around; after ${summary.coolDownSeconds} s of cool-down one probe call tries it (half-open). ` +
        "A circuit appears once its upstream has served the model.",
    ),
    circuits.length
      ? table(
          ["upstream", "model", "state"],
          circuits.map((c) => ({
            attrs: {
              "data-testid": "circuit",
              "data-upstream": c.upstream,
              "data-model": c.model,
              "data-state": c.state,
            },
            cells: [c.upstream, c.model, { value: c.state, class: `state-${c.state}` }],
          })),
        )
      : el("p", { class: "note", "data-testid": "no-circuits" }, "No circuits yet: no upstream calls since start."),
    el("h3", {}, "Cooling down (the upstream asked for a pause: Retry-After or RetryInfo)"),
    summary.coolingDown.length
      ? table(
          ["upstream", "until", { value: "seconds left", class: "num" }],
          summary.coolingDown.map((c) => ({
            attrs: { "data-testid": "cooling", "data-upstream": c.upstream },
            cells: [c.upstream, fmt.time(c.until), { value: fmt.int(c.remainingSeconds), class: "num" }],
          })),
        )
      : el("p", { class: "note" }, "None: every upstream takes new calls."),
    el("h3", {}, "Upstream calls (this instance, last attempt of each call)"),
    table(
      ["provider region", { value: "calls", class: "num" }, ...outcomes.map((o) => ({ value: o, class: "num" }))],
      Object.entries(summary.upstreamCalls).map(([where, u]) => ({
        attrs: { "data-where": where },
        cells: [
          where,
          { value: fmt.int(u.calls), class: "num" },
          ...outcomes.map((o) => ({ value: fmt.int(u.byOutcome[o] ?? 0), class: "num", dataset: { outcome: o } })),
        ],
      })),
      { "data-testid": "upstream-calls" },
    ),
    el("h3", {}, "Retries and failovers (by the upstream whose attempt failed)"),
    Object.keys(summary.retries).length
      ? table(
          ["upstream", { value: "retries", class: "num" }, "reasons"],
          Object.entries(summary.retries).map(([id, r]) => [
            id,
            { value: fmt.int(r.total), class: "num" },
            Object.entries(r.byReason)
              .map(([why, n]) => `${why} ${fmt.int(n)}`)
              .join(" · "),
          ]),
          { "data-testid": "retries" },
        )
      : el("p", { class: "note" }, "None since start."),
  );
}
