/**
 * The console's static files, read once at start-up into memory: the folder `service/console/` (HTML, CSS, ES modules)
 * and Chart.js's UMD build from node_modules (no CDN: the page loads nothing from another origin). Served by exact
 * path from this map — no file-system lookups per request, so no path can reach another file.
 *
 * The folder is found beside the source tree (`tsx service/src/main.ts`: service/console) or beside the compiled tree
 * (`node dist/service/main.js` in the image, which copies service/console to the same place).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface Asset {
  body: Buffer;
  contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** Served without a session: the login page and its stylesheet, nothing else. */
export const PUBLIC_ASSETS: ReadonlySet<string> = new Set(["login.html", "login.css"]);

export const CHART_ASSET = "vendor/chart.umd.min.js";

/** The console folder: source layout first, then the compiled layout's sibling. */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", "..", "console"), join(here, "..", "..", "..", "service", "console")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (!found) throw new Error(`console assets not found (looked in ${candidates.join(", ")})`);
  return found;
}

/** Every servable file, by its path under /console/ (e.g. `panels/overview.js`). */
export function loadAssets(dir: string = consoleDir()): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder)) {
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (TYPES[extname(entry)]) {
        assets.set(relative(dir, path).split(sep).join("/"), {
          body: readFileSync(path),
          contentType: TYPES[extname(entry)]!,
        });
      }
    }
  };
  walk(dir);
  const chart = join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js");
  assets.set(CHART_ASSET, { body: readFileSync(chart), contentType: TYPES[".js"]! });
  return assets;
}
