/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` (.ci/run installs it), driven by
 * playwright-core — no browser download. One browser per test file; a fresh context (cookie jar) per login.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Where the tests write their screenshots (git-ignored); docs/console.md lists their captions. */
export const SCREENSHOTS = join("test-results", "console");

/** The little of the DOM these helpers read in the page (the project compiles without the DOM library). */
interface InPage {
  document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null };
}

/**
 * Runs an expression in the page and returns its value. A string, as the project compiles without the DOM library;
 * Playwright evaluates it through the DevTools protocol, which the page's CSP (no eval) does not govern.
 */
export async function inPage<T>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps trying to reach Google's hosts (refused here).
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions (CSP violations are reported as console errors). */
  problems: string[];
}

/**
 * A new cookie jar, logged in through the login form with `adminKey`; lands on the overview. `shot`: a screenshot of
 * the filled-in login form under that name.
 */
export async function logIn(browser: Browser, baseUrl: string, adminKey: string, shot?: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    // Answers with an error status are the tests' business (an optional endpoint's 404, a refused CSRF attempt).
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${baseUrl}/console/`);
  await page.waitForURL(`${baseUrl}/console/login`);
  await page.fill("#key", adminKey);
  if (shot) await screenshot(page, shot);
  await Promise.all([page.waitForURL(`${baseUrl}/console/`), page.click("button[type=submit]")]);
  await refreshed(page);
  return { context, page, problems };
}

/** Waits until the page has refreshed its data `times` more times (polling, no reload). */
export async function refreshed(page: Page, times = 1): Promise<void> {
  const before = Number((await page.getAttribute("#status", "data-refreshes")) ?? 0);
  // A function, not a string: the console's CSP forbids eval, which Playwright would need for a string predicate.
  await page.waitForFunction(
    (n) => Number((globalThis as unknown as InPage).document.getElementById("status")?.dataset.refreshes ?? 0) >= n,
    before + times,
    { timeout: 20_000 },
  );
}

/** Shows a panel (by the URL's hash, as the nav links do) and waits for its data. */
export async function openPanel(page: Page, panel: string): Promise<void> {
  await page.click(`nav a[data-panel=${panel}]`);
  await page.waitForFunction(
    (p) => (globalThis as unknown as InPage).document.getElementById("status")?.dataset.panel === p,
    panel,
    { timeout: 20_000 },
  );
  await refreshed(page);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
