// The gateway's web admin page in real headless Chromium: sign in, create a token, copy its
// secret, use it, test a restriction, read the audit log, revoke it. Screenshots of each state go
// to test-artifacts/admin-page/ (not committed) for a reviewer to look at.
//
// Runs `cfl serve --demo` (the gateway in front of an embedded simulator) from target/debug/cfl,
// or $CFL_BIN. Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM_PATH).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";

const CFL = process.env.CFL_BIN || new URL("../target/debug/cfl", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SHOTS = new URL("../test-artifacts/admin-page/", import.meta.url).pathname;

let server, demo, browser, context, page;
const consoleErrors = [];

async function startDemo() {
  server = spawn(CFL, ["serve", "--demo", "--listen", "127.0.0.1:0"], {
    env: { ...process.env, CFL_ADMIN_TOKEN: "" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const lines = createInterface({ input: server.stdout });
  for await (const line of lines) {
    return JSON.parse(line);
  }
  throw new Error("cfl serve --demo printed nothing");
}

async function shot(name) {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

async function gatewayGet(path, user, secret) {
  const auth = "Basic " + Buffer.from(`${user}:${secret}`).toString("base64");
  return fetch(demo.gateway + path, { headers: { Authorization: auth } });
}

before(async () => {
  assert.ok(existsSync(CFL), `the cfl binary is missing at ${CFL}: run cargo build first`);
  mkdirSync(SHOTS, { recursive: true });
  demo = await startDemo();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: demo.gateway });
  page = await context.newPage();
  // Script errors and CSP violations ("Refused to …"); HTTP error statuses (the deliberate wrong
  // sign-in) are reported by Chromium as "Failed to load resource" and are not page faults.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
  server?.kill();
});

test("the page is served with anti-framing and a strict CSP", async () => {
  const resp = await page.goto(demo.gateway + "/admin/");
  const h = resp.headers();
  assert.equal(resp.status(), 200);
  assert.match(h["content-security-policy"], /frame-ancestors 'none'/);
  assert.match(h["content-security-policy"], /script-src 'self'/);
  assert.doesNotMatch(h["content-security-policy"], /unsafe-inline/);
  assert.equal(h["x-frame-options"], "DENY");
  assert.equal(h["x-content-type-options"], "nosniff");
  await page.waitForSelector("#signin:not([hidden])");
  await shot("1-signin");
});

test("create, use, test, audit and revoke a token through the page", async () => {
  await page.goto(demo.gateway + "/admin/");
  // A wrong admin token is refused with a message.
  await page.fill("#admin-token", "cfl_not-an-admin-token-at-all");
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#signin-error:has-text('refused')");

  await page.fill("#admin-token", demo.admin_token);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#token-table tbody tr");
  assert.ok(await page.isVisible(`#token-table tr[data-id="${demo.token_id}"]`), "the demo token is listed");
  await shot("2-tokens");

  // Create: bound user, 3 days (so "expiring soon"), one restriction.
  await page.fill("#create-form [name=label]", "e2e reader");
  await page.fill("#create-form [name=user]", "alice");
  await page.fill("#create-form [name=days]", "3");
  await page.fill("#create-form [name=restrictions]", "[get]/rest/api/user/current");
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#secret-box:not([hidden])");
  const secret = (await page.textContent("#secret-value")).trim();
  const id = (await page.textContent("#secret-id")).trim();
  assert.match(secret, /^cfl_[0-9A-Za-z]{38}$/);
  await page.click("#copy-secret");
  await page.waitForSelector("#copied:not([hidden])");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, "Copy puts the secret on the clipboard");
  const row = page.locator(`#token-table tr[data-id="${id}"]`);
  assert.match(await row.getAttribute("class"), /expiring/, "a token expiring within 7 days is highlighted");
  // Snippets for the new token carry its secret.
  await page.click(".snippet-tabs [data-lang=python]");
  assert.match(await page.textContent("#snippet-code"), new RegExp(`requests\\.get[\\s\\S]*${secret}`));
  await page.click(".snippet-tabs [data-lang=curl]");
  assert.match(await page.textContent("#snippet-code"), new RegExp(`curl -u 'alice:${secret}'`));
  await shot("3-created");

  // Use it: the allowed call passes as alice, the other is refused by the restriction.
  const ok = await gatewayGet("/rest/api/user/current", "alice", secret);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).username, "alice");
  assert.equal((await gatewayGet("/rest/api/space", "alice", secret)).status, 403);
  await page.click("#nav [data-view=tokens]");
  await page.waitForSelector(`#token-table tr[data-id="${id}"] td.uses:has-text("1")`);

  // The restriction tester uses the proxy's matcher and normaliser.
  await page.click("#nav [data-view=tester]");
  await page.selectOption("#tester-form [name=token]", id);
  await page.fill("#tester-form [name=path]", "/rest/api/space");
  await page.click("#tester-form button[type=submit]");
  await page.waitForSelector("#tester-result:has-text('DENY')");
  await page.fill("#tester-form [name=path]", "/rest//api/./user/current");
  await page.click("#tester-form button[type=submit]");
  await page.waitForSelector("#tester-result:has-text('ALLOW')");
  assert.match(await page.textContent("#tester-result"), /checked as \/rest\/api\/user\/current/);
  await shot("4-tester");

  // The audit view shows the refused call; filters and chain verification work.
  await page.click("#nav [data-view=audit]");
  await page.waitForSelector("#audit-table tbody tr");
  await page.fill("#audit-form [name=tokenId]", id);
  await page.selectOption("#audit-form [name=decision]", "deny");
  await page.click("#audit-form button[type=submit]");
  await page.waitForSelector("#audit-table tbody tr td:has-text('/rest/api/space')");
  const decisions = await page.locator("#audit-table tbody td.deny, #audit-table tbody td.allow").allTextContents();
  assert.ok(decisions.length > 0 && decisions.every((d) => d === "deny"), `filtered to denials: ${decisions}`);
  await page.click("#audit-verify");
  await page.waitForSelector("#audit-verify-result:has-text('intact')");
  await shot("5-audit");

  // Revoke, with confirmation: refused from the very next request.
  await page.click("#nav [data-view=tokens]");
  await page.click(`#token-table tr[data-id="${id}"] button.revoke`);
  await page.click(`#token-table tr[data-id="${id}"] button.confirm-revoke`);
  await page.waitForSelector(`#token-table tr[data-id="${id}"] td.status-revoked`);
  assert.equal((await gatewayGet("/rest/api/user/current", "alice", secret)).status, 401);
  await shot("6-revoked");

  assert.deepEqual(consoleErrors, [], "no script errors or CSP violations in the page");
});

async function adminApi(method, path, body) {
  const r = await fetch(demo.gateway + path, {
    method,
    headers: { Authorization: "Bearer " + demo.admin_token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status}`);
  return r.json();
}

async function signInFresh() {
  await page.goto(demo.gateway + "/admin/");
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(demo.gateway + "/admin/");
  await page.fill("#admin-token", demo.admin_token);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#token-table tbody tr");
}

test("signed out, the navigation is hidden; a refused admin token signs out without a script error", async () => {
  consoleErrors.length = 0;
  await page.goto(demo.gateway + "/admin/");
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(demo.gateway + "/admin/");
  await page.waitForSelector("#signin:not([hidden])");
  assert.equal(await page.$eval("#nav", (n) => getComputedStyle(n).display), "none", "no navigation before signing in");
  assert.equal(await page.isVisible("#nav [data-view=audit]"), false);

  // Signed in, then the admin token stops working (revoked, or another store): the next click
  // signs out with a message instead of throwing.
  await signInFresh();
  assert.ok(await page.isVisible("#nav"), "the navigation shows once signed in");
  await page.evaluate(() => sessionStorage.setItem("cfl-admin-token", "cfl_a-token-that-no-longer-works"));
  await page.click("#nav [data-view=audit]");
  await page.waitForSelector("#signin:not([hidden])");
  assert.match(await page.textContent("#signin-error"), /refused/);
  assert.equal(await page.$eval("#nav", (n) => getComputedStyle(n).display), "none");
  // A page opened with a stale token lands on the sign-in form the same way.
  await page.evaluate(() => sessionStorage.setItem("cfl-admin-token", "cfl_a-token-that-no-longer-works"));
  await page.reload();
  await page.waitForSelector("#signin-error:has-text('refused')");
  assert.deepEqual(consoleErrors, [], "no uncaught errors");
  await shot("7-signed-out");
});

test("the restriction tester defaults to an active token and says when one is revoked", async () => {
  consoleErrors.length = 0;
  // The oldest token (listed first) revoked, a newer one active.
  await adminApi("DELETE", `/admin/v1/tokens/${demo.token_id}`);
  const active = await adminApi("POST", "/admin/v1/tokens", { label: "e2e active", user: "alice", restrictions: ["[get].*/rest/api/.*"] });
  await signInFresh();
  await page.click("#nav [data-view=tester]");
  await page.waitForSelector(`#tester-form [name=token] option[value="${active.token.id}"]`, { state: "attached" });
  assert.equal(await page.$eval("#tester-form [name=token]", (s) => s.value), active.token.id, "an active token is the default");
  assert.match(await page.textContent(`#tester-form [name=token] option[value="${demo.token_id}"]`), /revoked/);

  // The revoked token's rules allow GET /rest/api/space, but the token is refused before them.
  await page.selectOption("#tester-form [name=token]", demo.token_id);
  await page.fill("#tester-form [name=path]", "/rest/api/space");
  await page.click("#tester-form button[type=submit]");
  await page.waitForSelector("#tester-result:has-text('revoked')");
  const said = await page.textContent("#tester-result");
  assert.match(said, /^DENY/, said);
  assert.doesNotMatch(said, /^ALLOW/);
  // The active one is allowed as before.
  await page.selectOption("#tester-form [name=token]", active.token.id);
  await page.click("#tester-form button[type=submit]");
  await page.waitForSelector("#tester-result:has-text('ALLOW')");
  assert.deepEqual(consoleErrors, []);
  await shot("8-tester-revoked");
});

test("a restriction's regex error keeps its caret under the column it points at", async () => {
  consoleErrors.length = 0;
  await signInFresh();
  await page.fill("#create-form [name=label]", "bad rule");
  await page.fill("#create-form [name=user]", "alice");
  await page.fill("#create-form [name=restrictions]", "[get]/rest/(api");
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#create-error:has-text('^')");
  const columns = await page.$eval("#create-error", (p) => {
    const node = p.firstChild;
    const lines = node.textContent.split("\n");
    const caretLine = lines.findIndex((l) => l.trim() === "^");
    const col = lines[caretLine].indexOf("^");
    const offsetOf = (line) => lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0);
    const x = (offset) => {
      const r = document.createRange();
      r.setStart(node, offset);
      r.setEnd(node, offset + 1);
      const rect = r.getBoundingClientRect();
      return { left: rect.left, top: rect.top };
    };
    return { caret: x(offsetOf(caretLine) + col), pointed: x(offsetOf(caretLine - 1) + col), col };
  });
  assert.ok(columns.col > 0, "the caret is indented to its column");
  assert.ok(Math.abs(columns.caret.left - columns.pointed.left) < 1, `caret at x=${columns.caret.left}, its character at x=${columns.pointed.left}`);
  assert.ok(columns.caret.top > columns.pointed.top, "the caret is on the line below");
  assert.deepEqual(consoleErrors, []);
  await shot("9-regex-error");
});
