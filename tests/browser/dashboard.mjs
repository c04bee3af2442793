// Drives headless Chromium through the Build IDE and the console with playwright-core
// (never Playwright's own browser download; tests/e2e/browser.rs passes the Chromium that
// tests/clients/package-lock.json pins, unpacked in target/clients/chromium):
//   1. log in to Build and read the token: it is the script's token, still working;
//   2. a phone login kills the script's token, and the console's timeline shows it die,
//      with the script's refused use marked;
//   3. Reset Token on the Settings page replaces the phone's token;
//   4. call a function from the console and see its event arrive;
//   5. a hostile username and event data are shown as text, never run.
// After step 4 it saves a 1280x800 screenshot of the console.
//
//   node tests/browser/dashboard.mjs <base url>
// Environment: SPARK_MOCK_USER, SPARK_MOCK_PASSWORD, SPARK_MOCK_DEVICE (id),
// SPARK_MOCK_CHROMIUM (the browser; default /usr/bin/chromium), SPARK_MOCK_CLIENTS_DIR (where
// node_modules/playwright-core is; default <repo>/target/clients), SPARK_MOCK_SCREENSHOT.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.argv[2];
const env = process.env;
const user = env.SPARK_MOCK_USER;
const password = env.SPARK_MOCK_PASSWORD;
const deviceId = env.SPARK_MOCK_DEVICE;
const clients = env.SPARK_MOCK_CLIENTS_DIR || join(here, "..", "..", "target", "clients");
if (!base || !user || !password || !deviceId) {
  console.error("usage: SPARK_MOCK_USER=… SPARK_MOCK_PASSWORD=… SPARK_MOCK_DEVICE=… node dashboard.mjs <base url>");
  process.exit(2);
}
const { chromium } = createRequire(join(clients, "package.json"))("playwright-core");

// A hung browser must fail the test, not the CI job's patience.
setTimeout(() => {
  console.error("dashboard.mjs: gave up after 150 s");
  process.exit(3);
}, 150_000).unref();

const step = (m) => console.log("-- " + m);
function check(ok, message) {
  if (!ok) throw new Error("check failed: " + message);
}

async function grant(client) {
  const body = new URLSearchParams({ grant_type: "password", username: user, password, client_id: client, client_secret: "x" });
  const r = await fetch(base + "/oauth/token", { method: "POST", body });
  const j = await r.json();
  check(r.ok && j.access_token, "a " + client + " login: " + JSON.stringify(j));
  return j.access_token;
}

async function works(token) {
  const r = await fetch(base + "/v1/user", { headers: { Authorization: "Bearer " + token } });
  return r.status === 200;
}

const row = (token, status) => `.token-row[data-token="${token}"]` + (status ? `[data-status="${status}"]` : "");
const profile = mkdtempSync(join(tmpdir(), "spark-mock-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.SPARK_MOCK_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
context.setDefaultTimeout(15_000);
const pageErrors = [];

try {
  step("1. log in to Build and read the token");
  const script = await grant("python-script");
  const build = await context.newPage();
  build.on("pageerror", (e) => pageErrors.push("build: " + e.message));
  await build.goto(base + "/build");
  await build.fill('input[name="username"]', user);
  await build.fill('input[name="password"]', password);
  await Promise.all([build.waitForURL("**/build/settings"), build.click("#login")]);
  const shown = (await build.textContent("#access-token")).trim();
  check(shown === script, `Build shows the script's token (${shown} vs ${script})`);
  check(await works(script), "logging in to Build did not change the token");

  step("2. a phone login kills the script's token on the timeline");
  const console_ = await context.newPage();
  console_.on("pageerror", (e) => pageErrors.push("console: " + e.message));
  console_.on("console", (m) => m.type() === "error" && console.log("   (console error: " + m.text() + ")"));
  await console_.goto(base + "/");
  await console_.waitForSelector(row(script, "valid"));
  const phone = await grant("spark-ios");
  check(!(await works(script)), "the phone login invalidated the script's token");
  const dead = console_.locator(row(script, "invalidated"));
  await dead.waitFor();
  const reason = await dead.getAttribute("data-reason");
  check(reason.includes("spark-ios"), "the reason names the phone's client: " + reason);
  await console_.waitForSelector(row(script) + " .reject");
  await console_.waitForSelector(row(phone, "valid"));

  step("3. Reset Token on the Settings page");
  await build.reload();
  check((await build.textContent("#access-token")).trim() === phone, "Build now shows the phone's token");
  await Promise.all([build.waitForURL("**/build/settings?reset=done"), build.click("#reset-token")]);
  const fresh = (await build.textContent("#access-token")).trim();
  check(/^[0-9a-f]{40}$/.test(fresh) && fresh !== phone, "a new token: " + fresh);
  check(!(await works(phone)) && (await works(fresh)), "the reset replaced the phone's token");
  const reset = console_.locator(row(phone, "invalidated"));
  await reset.waitFor();
  check((await reset.getAttribute("data-reason")).startsWith("reset from Build settings"), "the timeline says why");
  await console_.waitForSelector(row(fresh, "valid"));

  step("4. call a function from the console and see the event arrive");
  const card = console_.locator(`.device[data-device-id="${deviceId}"][data-online="true"]`);
  await card.waitFor();
  await card.locator('tr[data-variable="temperature"] .value', { hasText: "21.5" }).waitFor();
  const form = card.locator('form.fn[data-fn="led"]');
  await form.locator("input").fill("on");
  await form.locator("button").click();
  await form.locator("output.result.ok", { hasText: "→ 1" }).waitFor();
  await console_.locator('#events-body tr[data-name="led"]', { hasText: "on" }).waitFor();
  await card.locator(".device-events li", { hasText: "led" }).waitFor();
  await card.locator('tr[data-variable="state"] .value', { hasText: "on" }).waitFor();

  if (env.SPARK_MOCK_SCREENSHOT) {
    await console_.waitForTimeout(500);
    await console_.screenshot({ path: env.SPARK_MOCK_SCREENSHOT });
    step("screenshot: " + env.SPARK_MOCK_SCREENSHOT);
  }
  step("5. user-controlled text stays text");
  const hostile = '<img src=x onerror="window.__pwned=1">@example.com';
  const signup = await fetch(base + "/v1/users", { method: "POST", body: new URLSearchParams({ username: hostile, password: "pw" }) });
  check(signup.ok, "sign up a user with a hostile name");
  const publish = await fetch(base + "/v1/devices/events", {
    method: "POST",
    headers: { Authorization: "Bearer " + fresh },
    body: new URLSearchParams({ name: "markup", data: "<i>not italic</i>" }),
  });
  check(publish.ok, "publish an event with markup");
  const cell = console_.locator('#events-body tr[data-name="markup"] td.data');
  await cell.waitFor();
  check((await cell.textContent()) === "<i>not italic</i>", "event data shown as text");
  check((await console_.locator("#events-body i, #timeline img").count()) === 0, "no markup was parsed");
  await console_.locator(".user-name", { hasText: "<img src=x" }).waitFor();
  check(!(await console_.evaluate(() => window.__pwned)), "no script ran");

  check(pageErrors.length === 0, "no script errors: " + pageErrors.join("; "));
  step("ok");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
