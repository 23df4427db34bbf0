// The admin page's sign-in with an identity provider (OpenID Connect), in real headless Chromium:
// `cfl sim` plays the provider (examples/sim-dc.toml's [oidc]: Ada the admin, Tom the token
// manager, Audrey the auditor), `cfl serve` has [admin.oidc] pointing at it. Tom signs in, creates
// and revokes a token, is refused what his role may not do (hidden on the page, refused by the
// API, shown as a role refusal), signs out; Ada then finds both names in the audit log.
// Screenshots go to test-artifacts/admin-oidc/ (not committed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync, cpSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CFL = process.env.CFL_BIN || new URL("../target/debug/cfl", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const SHOTS = new URL("../test-artifacts/admin-oidc/", import.meta.url).pathname;
const ADMIN_TOKEN = "e2e-bootstrap-admin-token-0123456789";
const TENANT = "7d3e4b2a-1c5f-4e8d-9a6b-0f2c4d6e8a1b";
const GROUPS = {
  admin: "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e01",
  token_manager: "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e02",
  auditor: "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e03",
};
const ALICE_PAT = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=";

const children = [];
let gateway, browser, page;
const consoleErrors = [];

// A loopback port free now: the provider must know the gateway's callback before it starts.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Spawns `cfl ARGS` and returns its JSON start-up line (the simulator's stderr, its sign-in
// instructions, is left out of the test output).
async function startCfl(args, env, stderr = "inherit") {
  const child = spawn(CFL, args, { env: { ...process.env, CFL_LOG: "warn", ...env }, stdio: ["ignore", "pipe", stderr] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout })) return JSON.parse(line);
  throw new Error(`cfl ${args.join(" ")} printed nothing`);
}

async function startPair() {
  const dir = mkdtempSync(join(tmpdir(), "cfl-e2e-oidc-"));
  cpSync(join(EXAMPLES, "keys"), join(dir, "keys"), { recursive: true });
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/admin/oidc/callback`;
  const simToml = readFileSync(join(EXAMPLES, "sim-dc.toml"), "utf8").replace(
    '"http://127.0.0.1:8080/admin/oidc/callback"',
    JSON.stringify(callback),
  );
  assert.ok(simToml.includes(callback), "the example sim config registers the gateway's callback");
  writeFileSync(join(dir, "sim.toml"), simToml);
  const sim = await startCfl(["sim", "--config", join(dir, "sim.toml"), "--listen", "127.0.0.1:0"], {}, "ignore");
  const gwToml = [
    `listen = "127.0.0.1:${port}"`,
    `store = "sqlite:${join(dir, "gw.sqlite")}"`,
    "[admin.oidc]",
    `issuer = "${sim.base_url}/${TENANT}/v2.0"`,
    'client_id = "cfl-gateway-demo"',
    'client_secret_env = "E2E_OIDC_SECRET"',
    'provider_name = "Simulated Entra ID"',
    `redirect_url = "${callback}"`,
    "[admin.oidc.roles]",
    `admin = ["${GROUPS.admin}"]`,
    `token_manager = ["${GROUPS.token_manager}"]`,
    `auditor = ["${GROUPS.auditor}"]`,
    "[upstream]",
    `url = "${sim.base_url}"`,
    "[upstream.identity]",
    'mode = "static"',
    'token_env = "E2E_ALICE_PAT"',
  ].join("\n");
  writeFileSync(join(dir, "gateway.toml"), gwToml + "\n");
  return startCfl(["serve", "--config", join(dir, "gateway.toml")], {
    CFL_ADMIN_TOKEN: ADMIN_TOKEN,
    E2E_OIDC_SECRET: "cfl-gateway-demo-secret",
    E2E_ALICE_PAT: ALICE_PAT,
  });
}

async function shot(name) {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

// From the signed-out page: "Sign in with …", the provider's form, back on the page signed in.
async function signInAs(username, password, name) {
  await page.goto(gateway + "/admin/");
  await page.waitForSelector("#oidc-signin:not([hidden])");
  assert.equal((await page.textContent("#oidc-signin-link")).trim(), "Sign in with Simulated Entra ID");
  await page.click("#oidc-signin-link");
  await page.waitForSelector("input[name=password]");
  assert.ok(!page.url().startsWith(gateway), `the provider's login form, not the gateway: ${page.url()}`);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]:not([name=cancel])");
  await page.waitForSelector(`#whoami:has-text("${name}")`);
  assert.ok(page.url().startsWith(gateway + "/admin/"), `back on the admin page: ${page.url()}`);
}

async function signOut() {
  await page.click("#signout");
  await page.waitForSelector("#signin:not([hidden])");
  const after = await page.evaluate(async () => (await fetch("/admin/v1/session")).status);
  assert.equal(after, 401, "the session cookie no longer signs in");
}

before(async () => {
  assert.ok(existsSync(CFL), `the cfl binary is missing at ${CFL}: run cargo build first`);
  mkdirSync(SHOTS, { recursive: true });
  gateway = (await startPair()).base_url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill();
});

test("a token manager signs in with the provider, manages tokens, is refused the rest, signs out", async () => {
  await page.goto(gateway + "/admin/");
  await page.waitForSelector("#oidc-signin:not([hidden])");
  assert.ok(await page.isVisible("#admin-token"), "the admin-token sign-in stays beside it");
  await shot("1-signin");

  await signInAs("tom@example.com", "tom-demo", "Tom Tokenmanager");
  const who = await page.textContent("#whoami");
  assert.match(who, /tom@example\.com/);
  assert.match(who, /token-manager/);
  assert.match(who, /single sign-on/);
  await page.waitForSelector("#tokens:not([hidden])");
  // The page hides what a token manager may not do: the audit log.
  assert.equal(await page.isVisible("#nav [data-view=audit]"), false, "no audit tab for a token manager");
  assert.ok(await page.isVisible("#create-form"), "a token manager may create tokens");
  await shot("2-token-manager");

  // Create and revoke a token (the writes carry the session's CSRF token).
  await page.fill("#create-form [name=label]", "made by tom in the browser");
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#secret-box:not([hidden])");
  const id = (await page.textContent("#secret-id")).trim();
  assert.match(id, /^tok_/);
  await page.click(`#token-table tr[data-id="${id}"] button.revoke`);
  await page.click(`#token-table tr[data-id="${id}"] button.confirm-revoke`);
  await page.waitForSelector(`#token-table tr[data-id="${id}"] td.status-revoked`);
  await shot("3-created-and-revoked");

  // The API refuses the hidden action too, and a cookie-authenticated write without the CSRF
  // token is refused whatever the role.
  const refused = await page.evaluate(async () => {
    const r = await fetch("/admin/v1/audit");
    return { status: r.status, body: await r.json() };
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error, "forbidden_by_role");
  const forged = await page.evaluate(async () => {
    const r = await fetch("/admin/v1/tokens", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ label: "forged" }) });
    return { status: r.status, body: await r.json().catch(() => ({})) };
  });
  assert.equal(forged.status, 403, "a write without X-CSRF-Token is refused");
  assert.equal(forged.body.error, "csrf");

  // Forced onto the audit view anyway, the page says it is the role that was refused.
  await page.evaluate(() => guarded(show)("audit"));
  await page.waitForSelector("#view-error.role-refused:has-text('token-manager')");
  assert.match(await page.textContent("#view-error"), /^Refused: .*token-manager.*audit:read/);
  await shot("4-role-refused");

  await signOut();
  await shot("5-signed-out");
  assert.deepEqual(consoleErrors, [], "no script errors or CSP violations in the page");
});

test("an admin sees who did what in the audit log, their own name included", async () => {
  consoleErrors.length = 0;
  await signInAs("ada@example.com", "ada-demo", "Ada Admin");
  assert.match(await page.textContent("#whoami"), /admin/);
  assert.ok(await page.isVisible("#nav [data-view=audit]"), "an admin has the audit tab");
  await page.click("#nav [data-view=audit]");
  await page.waitForSelector("#audit-table tbody tr");
  await page.selectOption("#audit-form [name=kind]", "admin");
  await page.click("#audit-form button[type=submit]");
  await page.waitForSelector("#audit-table tbody td:has-text('Tom Tokenmanager')");
  await page.waitForSelector("#audit-table tbody td:has-text('Ada Admin')");
  await shot("6-audit-names");
  await signOut();
  assert.deepEqual(consoleErrors, [], "no script errors or CSP violations in the page");
});

test("a session cookie survives a reload; an admin-token sign-in still works beside it", async () => {
  consoleErrors.length = 0;
  await signInAs("aud@example.com", "aud-demo", "Audrey Auditor");
  await page.reload();
  await page.waitForSelector('#whoami:has-text("Audrey Auditor")');
  // An auditor reads tokens and the audit log, and may not create tokens.
  assert.equal(await page.isVisible("#create-form"), false, "no create form for an auditor");
  assert.ok(await page.isVisible("#nav [data-view=audit]"));
  await signOut();

  await page.fill("#admin-token", ADMIN_TOKEN);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#tokens:not([hidden])");
  assert.match(await page.textContent("#whoami"), /admin/);
  assert.ok(await page.isVisible("#create-form"));
  await page.click("#signout");
  await page.waitForSelector("#signin:not([hidden])");
  assert.deepEqual(consoleErrors, [], "no script errors or CSP violations in the page");
});
