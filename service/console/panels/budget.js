// Budget: the kill switch's state (GET /admin/budget) and its reset (POST /admin/budget/reset), beside this month's
// spend at the gateway's price table (GET /admin/usage?period=month).
import { api } from "../api.js";
import { el, fmt, show, table } from "../dom.js";

let message = "";

async function reset() {
  if (!confirm("Reset the budget kill switch? Traffic it stopped resumes for the rest of the period.")) return;
  try {
    const doc = await api.post("/admin/budget/reset");
    message = `Reset: the level is now ${doc.state?.level ?? "open"}.`;
  } catch (err) {
    message = `Reset failed: ${err.message}`;
  }
  await refresh();
}

export async function refresh() {
  const [budget, month] = await Promise.all([api.optional("/admin/budget"), api.get("/admin/usage?period=month")]);
  const body = document.getElementById("budget-body");
  const spend = Object.values(month.tenants).reduce((s, t) => s + t.total.usd, 0);
  if (budget === null) {
    show(
      body,
      el(
        "p",
        { "data-testid": "budget-off" },
        "The budget kill switch is not configured on this gateway (GATEWAY_BUDGET_PUSH_AUDIENCE).",
      ),
      el("p", {}, `Spend this month at the price table: ${fmt.usd(spend)}.`),
    );
    return;
  }
  const s = budget.state;
  show(
    body,
    el(
      "p",
      { "data-testid": "budget-level", "data-level": s?.level ?? "open" },
      "Kill switch: ",
      el("span", { class: `level-${s?.level ?? "open"}` }, s?.level ?? "open"),
      s ? ` — ${s.reason}` : " — no budget notification received this period.",
    ),
    s
      ? table(
          ["budget", "cost (billing)", "ratio", "period start", "period ends", "updated", "reset level"],
          [
            [
              `${s.displayName}: ${s.currencyCode} ${s.budgetAmount}`,
              `${s.currencyCode} ${s.costAmount}`,
              fmt.pct(s.ratio),
              s.costIntervalStart,
              fmt.time(new Date(s.periodEndsAt).toISOString()),
              fmt.time(new Date(s.updatedAt).toISOString()),
              s.resetLevel ?? "–",
            ],
          ],
        )
      : null,
    el(
      "p",
      { "data-testid": "budget-spend", dataset: { value: String(spend) } },
      `Spend this month at the gateway's price table (all instances): ${fmt.usd(spend)}.`,
    ),
    el(
      "button",
      { type: "button", class: "danger", "data-testid": "budget-reset", on: { click: reset } },
      "Reset the kill switch",
    ),
    message ? el("p", { "data-testid": "budget-message", role: "status" }, message) : null,
  );
}
