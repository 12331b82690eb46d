// Experiments: the prompts with an experiment (GET /admin/prompts) and each one's per-variant report
// (GET /admin/experiments/{name}). Absent when the gateway serves no prompts.
import { api } from "../api.js";
import { el, fmt, show, table } from "../dom.js";

export async function refresh() {
  const body = document.getElementById("experiments-body");
  const prompts = await api.optional("/admin/prompts");
  const named = (prompts?.prompts ?? []).filter((p) => p.experiment);
  if (!named.length) {
    show(
      body,
      el(
        "p",
        { class: "note" },
        prompts ? "No experiments in the prompt repository." : "This gateway serves no prompts.",
      ),
    );
    return;
  }
  const reports = await Promise.all(
    named.map((p) => api.optional(`/admin/experiments/${encodeURIComponent(p.experiment)}`)),
  );
  show(
    body,
    reports.filter(Boolean).map((r) =>
      el(
        "div",
        { class: "tenant", "data-testid": "experiment", "data-experiment": r.experiment },
        el("h3", {}, `${r.experiment} (prompt ${r.prompt}, label ${r.label})`),
        el(
          "p",
          {},
          r.conclusion
            ? `Concluded: ${r.conclusion.winner} wins (${r.conclusion.reason}).`
            : `Running on ${r.metric.name} (${r.metric.optimize}); holdout ${fmt.pct(r.holdout)}.`,
        ),
        table(
          [
            "variant",
            "model",
            "share",
            { value: "requests", class: "num" },
            { value: "errors", class: "num" },
            "p50 ms",
            { value: "cost USD", class: "num" },
            `${r.metric.name} mean`,
          ],
          r.variants.map((v) => [
            v.name,
            v.model,
            fmt.pct(v.share),
            { value: fmt.int(v.requests), class: "num" },
            { value: fmt.int(v.errors), class: "num" },
            v.latencyMs.p50 === null ? "–" : fmt.int(v.latencyMs.p50),
            { value: fmt.usd(v.costUsd), class: "num" },
            v.outcomes[r.metric.name]?.mean ?? "–",
          ]),
        ),
        r.comparisons.length
          ? table(
              ["variant vs control", "decision", "samples (control / variant)"],
              r.comparisons.map((c) => [c.variant, c.decision, `${c.n.control} / ${c.n.variant}`]),
            )
          : null,
      ),
    ),
  );
}
