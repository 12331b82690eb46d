// Charts (Chart.js, loaded as /console/vendor/chart.umd.min.js): created once per canvas, their data replaced on
// each refresh. Series over time are kept in the page from the polled endpoints (nothing is stored elsewhere).

const Chart = globalThis.Chart;
const COLORS = ["#1a56db", "#b42318", "#067647", "#b54708", "#6941c6", "#0e7090", "#c11574", "#4e5ba6"];
const MAX_POINTS = 120;

const charts = new Map();

function chart(id, type, options = {}) {
  let c = charts.get(id);
  if (!c) {
    const canvas = document.getElementById(id);
    c = new Chart(canvas, {
      type,
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { y: { beginAtZero: true } },
        ...options,
      },
    });
    charts.set(id, c);
  }
  return c;
}

/** Appends one point per series to a line chart over time: `values` maps a series name to its value now. */
export function pushPoint(id, label, values) {
  const c = chart(id, "line");
  c.data.labels.push(label);
  for (const [i, [name, value]] of Object.entries(values).entries()) {
    let ds = c.data.datasets.find((d) => d.label === name);
    if (!ds) {
      ds = {
        label: name,
        data: c.data.labels.slice(0, -1).map(() => null),
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length],
        pointRadius: 0,
        tension: 0.2,
      };
      c.data.datasets.push(ds);
    }
    ds.data.push(value);
  }
  if (c.data.labels.length > MAX_POINTS) {
    c.data.labels.shift();
    for (const ds of c.data.datasets) ds.data.shift();
  }
  c.update();
}

/** Sets a bar chart: one bar per label, one dataset per series ({name: values[]}); stacked when asked. */
export function setBars(id, labels, series, { stacked = false } = {}) {
  const c = chart(
    id,
    "bar",
    stacked ? { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } } : {},
  );
  c.data.labels = labels;
  c.data.datasets = Object.entries(series).map(([name, data], i) => ({
    label: name,
    data,
    backgroundColor: COLORS[i % COLORS.length],
  }));
  c.update();
}
