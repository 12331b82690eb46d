// DOM helpers. Every string from the gateway — tenant ids, key labels, display names, models, messages — reaches the
// page as a text node (textContent), never as markup: the CSP's Trusted Types rule makes the browser refuse HTML sinks.

/**
 * An element: `el("td", { class: "num", dataset: { tenant: "acme" } }, "text", childNode…)`.
 * Attributes are set one by one (setAttribute), children appended as nodes; strings become text nodes.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces a container's children (the refresh of a panel). */
export function show(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

/** A table from a header row and rows of cells; a cell is a string/number/Node, or { value, class, dataset }. */
export function table(headers, rows, attrs = {}) {
  const cell = (tag, c) =>
    c !== null && typeof c === "object" && !(c instanceof Node) && !Array.isArray(c)
      ? el(tag, { class: c.class, dataset: c.dataset }, c.value)
      : el(tag, {}, c);
  return el(
    "table",
    attrs,
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((h) => cell("th", h)),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((r) =>
        el(
          "tr",
          r.attrs ?? {},
          (r.cells ?? r).map((c) => cell("td", c)),
        ),
      ),
    ),
  );
}

export const fmt = {
  usd: (v) => `$${Number(v ?? 0).toFixed(6)}`,
  int: (v) => Math.round(Number(v ?? 0)).toLocaleString("en-US"),
  seconds: (v) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(3)} s`),
  pct: (v) => `${Math.round(v * 100)} %`,
  time: (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + "Z" : "–"),
};

/** A usage meter in 5 % steps (classes, not style attributes: the CSP allows none). */
export function meter(used, limit) {
  if (!limit) return el("span", { class: "note" }, "no limit");
  const ratio = used / limit;
  const step = Math.min(100, Math.max(0, Math.round((ratio * 100) / 5) * 5));
  const level = ratio >= 0.9 ? "bad" : ratio >= 0.7 ? "warn" : "";
  return el(
    "span",
    {},
    el(
      "span",
      { class: `meter ${level}`, role: "meter", "aria-valuenow": used, "aria-valuemax": limit },
      el("span", { class: `w${step}` }),
    ),
    `${fmt.pct(ratio)}`,
  );
}
