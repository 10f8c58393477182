// Drives Debian's Chromium headless (Playwright, no browser of its own) through
// index.html against a running `cubeblob serve`, and prints the page's result as one
// JSON line on stdout. Run by tests/browser_sdk.rs:
//
//   CB_API=http://127.0.0.1:PORT CB_LOGIN=alice CB_PASSWORD=... node browser.mjs
//
// The page is served here, on a port of its own: another origin than the server's.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const { CB_API: api, CB_LOGIN: login, CB_PASSWORD: password } = process.env;
const executablePath = process.env.CUBEBLOB_CHROMIUM || "/usr/bin/chromium";
if (!api || !login || !password) {
  console.error("browser.mjs: set CB_API, CB_LOGIN and CB_PASSWORD");
  process.exit(2);
}

// Everything the run does is bounded: a hung page must not hang `cargo test`.
const deadline = setTimeout(() => {
  console.error("browser.mjs: no result within 120 s");
  process.exit(1);
}, 120_000);

const files = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/connectycube.min.js": [
    "node_modules/connectycube/dist/connectycube.min.js",
    "text/javascript; charset=utf-8",
  ],
};
const pages = http.createServer((req, res) => {
  const found = files[new URL(req.url, "http://x").pathname];
  if (!found) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": found[1] });
  fs.createReadStream(path.join(here, found[0])).pipe(res);
});
await new Promise((resolve) => pages.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${pages.address().port}`;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  // What Chromium needs on these machines: no sandbox as root, no GPU, and none of
  // its own network traffic (the network is closed). Playwright gives it a fresh
  // profile folder of its own.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
let code = 0;
try {
  const page = await browser.newPage();
  page.on("console", (msg) => console.error(`page console: ${msg.text()}`));
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  page.on("requestfailed", (req) =>
    console.error(`page request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`),
  );
  await page.goto(`${origin}/`);
  const result = await page.evaluate(
    ([a, l, p]) => window.runSteps(a, l, p),
    [api, login, password],
  );
  result.page_origin = origin;
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (err) {
  console.error(`browser.mjs: ${err && err.stack ? err.stack : err}`);
  code = 1;
} finally {
  await browser.close();
  pages.close();
  clearTimeout(deadline);
}
process.exit(code);
