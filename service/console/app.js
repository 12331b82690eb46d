// The console's entry module: reads the session (its CSRF token), switches panels by the URL's hash, and refreshes
// the visible panel every few seconds without reloading — the overview always, so its charts show a continuous series.
import { api } from "./api.js";
import { el, show } from "./dom.js";
import * as budget from "./panels/budget.js";
import * as experiments from "./panels/experiments.js";
import * as overview from "./panels/overview.js";
import * as resources from "./panels/resources.js";
import * as tenants from "./panels/tenants.js";
import * as upstreams from "./panels/upstreams.js";

const REFRESH_MS = 2000;
const PANELS = { overview, tenants, upstreams, resources, budget, experiments };
let refreshes = 0;
let running = false;

function current() {
  const name = location.hash.slice(1);
  return name in PANELS ? name : "overview";
}

function select() {
  const name = current();
  for (const key of Object.keys(PANELS)) document.getElementById(`panel-${key}`).hidden = key !== name;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.panel === name);
  void tick();
}

async function tick() {
  if (running) return;
  running = true;
  const status = document.getElementById("status");
  const name = current();
  try {
    // The overview's series keep growing while another panel is shown.
    await Promise.all([overview.refresh(), name === "overview" ? null : PANELS[name].refresh()]);
    refreshes += 1;
    status.dataset.refreshes = String(refreshes);
    status.dataset.panel = name;
    show(status, `updated ${new Date().toISOString().slice(11, 19)} UTC`);
  } catch (err) {
    show(status, el("span", { class: "error" }, `refresh failed: ${err.message}`));
  } finally {
    running = false;
  }
}

async function logout() {
  await fetch("/console/logout", {
    method: "POST",
    headers: { "x-csrf-token": csrfToken },
    credentials: "same-origin",
  });
  location.assign("/console/login");
}

let csrfToken = "";
const session = await api.start();
csrfToken = session.csrfToken;
document.getElementById("logout").addEventListener("click", () => void logout());
window.addEventListener("hashchange", select);
select();
setInterval(() => void tick(), REFRESH_MS);
