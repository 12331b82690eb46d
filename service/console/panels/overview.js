// Overview: this instance's requests, errors and latency (GET /admin/summary, from its Prometheus registry), spend
// today and this month for every instance (GET /admin/usage), against the budget (GET /admin/budget) when one is set.
import { api } from "../api.js";
import { pushPoint, setBars } from "../charts.js";
import { el, fmt, show } from "../dom.js";

let previous;

function card(testid, label, value, sub, dataValue) {
  return el(
    "div",
    {
      class: "card",
      "data-testid": testid,
      dataset: dataValue === undefined ? undefined : { value: String(dataValue) },
    },
    el("div", { class: "label" }, label),
    el("div", { class: "value" }, value),
    sub ? el("div", { class: "sub" }, sub) : null,
  );
}

const fleetTotal = (usage) => Object.values(usage.tenants).reduce((s, t) => s + t.total.usd, 0);

export async function refresh() {
  const [summary, day, month, budget] = await Promise.all([
    api.get("/admin/summary"),
    api.get("/admin/usage?period=day"),
    api.get("/admin/usage?period=month"),
    api.optional("/admin/budget"),
  ]);
  const spendDay = fleetTotal(day);
  const spendMonth = fleetTotal(month);
  const state = budget?.state ?? null;
  const errors = summary.errors.clientErrors + summary.errors.serverErrors;
  const budgetSub = state
    ? `${fmt.pct(spendMonth / state.budgetAmount)} of the ${state.currencyCode} ${state.budgetAmount} budget (billing reports ${fmt.pct(state.ratio)})`
    : budget
      ? "no budget notification yet"
      : "no budget kill switch configured";
  show(
    document.getElementById("overview-cards"),
    card(
      "overview-requests",
      "Requests (this instance)",
      fmt.int(summary.requests.total),
      Object.entries(summary.requests.bySurface)
        .map(([s, n]) => `${s} ${fmt.int(n)}`)
        .join(" · "),
      summary.requests.total,
    ),
    card(
      "overview-errors",
      "Errors",
      fmt.int(errors),
      `4xx ${fmt.int(summary.errors.clientErrors)} · 5xx ${fmt.int(summary.errors.serverErrors)} · limited ${fmt.int(summary.errors.rateLimited)} · over budget ${fmt.int(summary.errors.overBudget)}`,
      errors,
    ),
    card(
      "overview-latency",
      "Latency p50 / p90 / p99",
      fmt.seconds(summary.latencySeconds.p50),
      `p90 ${fmt.seconds(summary.latencySeconds.p90)} · p99 ${fmt.seconds(summary.latencySeconds.p99)}`,
      summary.latencySeconds.p50 ?? "",
    ),
    card("overview-spend-day", "Spend today (UTC, all instances)", fmt.usd(spendDay), day.at.slice(0, 10), spendDay),
    card("overview-spend-month", "Spend this month", fmt.usd(spendMonth), budgetSub, spendMonth),
    card(
      "overview-cache",
      "Response cache",
      fmt.int(summary.cache.hit ?? 0),
      Object.entries(summary.cache)
        .map(([k, n]) => `${k} ${fmt.int(n)}`)
        .join(" · "),
    ),
  );

  const label = new Date().toISOString().slice(11, 19);
  const delta = (now, before) => Math.max(0, now - (before ?? now));
  pushPoint("chart-traffic", label, {
    requests: delta(summary.requests.total, previous?.requests.total),
    errors: delta(errors, previous && previous.errors.clientErrors + previous.errors.serverErrors),
  });
  pushPoint("chart-latency", label, {
    p50: summary.latencySeconds.p50,
    p90: summary.latencySeconds.p90,
    p99: summary.latencySeconds.p99,
  });
  pushPoint("chart-spend", label, { "spend today": spendDay });
  const tenants = Object.keys(day.tenants).sort();
  setBars("chart-tenants", tenants, { USD: tenants.map((t) => day.tenants[t].total.usd) });
  previous = summary;
}
