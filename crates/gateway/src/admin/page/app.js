// cfl gateway admin page. Plain JS, no dependencies; everything goes through /admin/v1, either
// with an admin token in an Authorization header (kept in sessionStorage: this tab only) or with
// the session cookie of a sign-in through the identity provider (OpenID Connect), whose
// state-changing calls carry the session's CSRF token.
"use strict";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));
const KEY = "cfl-admin-token";
const DAY = 86400000;
let tokens = [];
let auditBefore = null;
// Who is signed in: GET /admin/v1/session's answer, with `cookie` true when the session came from
// the identity provider's sign-in (then the browser holds the credential, not this page).
let me = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

function when(ms) {
  if (!ms) return "-";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

async function api(method, path, body) {
  const headers = credentialHeaders(method);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) {
    signOut(me && me.cookie ? "Your session has ended: sign in again." : "Your admin token was refused: sign in again.");
    throw new Error("unauthorized");
  }
  if (r.status === 403 && data.error === "forbidden_by_role") throw roleRefusal(data);
  if (!r.ok) throw new Error(data.message || `the gateway answered ${r.status}`);
  return data;
}

// The admin token when signed in with one; with the session cookie the browser sends the cookie
// itself, and every state-changing call adds the session's CSRF token.
function credentialHeaders(method) {
  const token = sessionStorage.getItem(KEY);
  if (token) return { Authorization: "Bearer " + token };
  if (me && me.cookie && method !== "GET" && me.csrf_token) return { "X-CSRF-Token": me.csrf_token };
  return {};
}

function roleRefusal(data) {
  const role = me && me.role ? me.role : "this";
  // The gateway's message names the role and the permission needed; without one, say the role.
  const e = new Error("Refused: " + (data.message || `your role (${role}) may not do this.`));
  e.roleRefused = true;
  return e;
}

function can(permission) {
  return !!me && (me.permissions || []).includes(permission);
}

// ---- who is signed in ----

// GET /admin/v1/session with whatever credential the page has; null when none is accepted.
async function fetchSession() {
  const r = await fetch("/admin/v1/session", { headers: credentialHeaders("GET") });
  if (r.status === 401 || r.status === 403) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok || !data) throw new Error(`the gateway answered ${r.status} for /admin/v1/session`);
  return data;
}

// Records who is signed in and shows it; hides what the role may not do (body can-* classes).
function setSession(session) {
  me = session;
  document.body.className = "";
  if (!me) {
    $("#whoami").replaceChildren();
    return;
  }
  me.cookie = !sessionStorage.getItem(KEY);
  for (const p of me.permissions || []) document.body.classList.add("can-" + p.replace(/[^a-z]+/g, "-"));
  const who = me.email && me.email !== me.name ? `${me.name} <${me.email}>` : me.name || me.subject;
  $("#whoami").replaceChildren(
    el("span", { class: "name" }, who),
    el("span", { class: "role", title: "role" }, me.role),
    el("span", { class: "via" }, me.via === "oidc" ? "via single sign-on" : "via " + me.via),
  );
}

// The first view this role may open.
function homeView() {
  if (can("tokens:read")) return "tokens";
  if (can("audit:read")) return "audit";
  return "tokens";
}

// Offers "Sign in with <provider>" when the gateway has OpenID Connect sign-in configured.
async function showProviderSignIn() {
  const r = await fetch("/admin/oidc/info").catch(() => null);
  const info = r && r.ok ? await r.json().catch(() => null) : null;
  $("#oidc-signin").hidden = !(info && info.enabled);
  if (info && info.enabled) $("#oidc-provider").textContent = info.provider || "single sign-on";
}

// On load: an admin token of this tab, else the session cookie of an earlier sign-in.
async function start() {
  showProviderSignIn();
  const hadToken = !!sessionStorage.getItem(KEY);
  let session = null;
  try {
    session = await fetchSession();
  } catch (e) {
    $("#view-error").textContent = e.message;
  }
  if (!session) {
    if (hadToken) return signOut("Your admin token was refused: sign in again.");
    return signOut();
  }
  setSession(session);
  await guarded(show)(homeView());
}

// The Sign out button: a cookie session is revoked on the gateway too.
async function signOutClicked() {
  if (me && me.cookie) {
    try {
      await api("DELETE", "/admin/v1/session");
    } catch (e) {
      if (e.message !== "unauthorized") return void ($("#view-error").textContent = "Sign-out failed: " + e.message);
    }
  }
  signOut("You are signed out.");
}

// Runs an action from a click or a view change: a refused admin token has already signed the
// page out (with its message); any other failure is shown, never left as an uncaught error.
function guarded(action) {
  return async (...args) => {
    try {
      $("#view-error").textContent = "";
      await action(...args);
    } catch (e) {
      if (e.message !== "unauthorized") showError($("#view-error"), e);
    }
  };
}

// A role refusal is shown as one (framed), other failures as plain messages.
function showError(target, e) {
  target.textContent = e.message;
  target.classList.toggle("role-refused", !!e.roleRefused);
}

function show(view) {
  if (view !== "signin" && !me) view = "signin";
  for (const id of ["signin", "tokens", "tester", "audit"]) $("#" + id).hidden = id !== view;
  $("#nav").hidden = view === "signin";
  $$("#nav .tab").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
  if (view === "tokens") return loadTokens();
  if (view === "tester") return fillTokenSelect();
  if (view === "audit") return loadAudit(true);
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  setSession(null);
  show("signin");
  $("#view-error").textContent = "";
  $("#signin-error").textContent = message || "";
}

async function signIn(ev) {
  ev.preventDefault();
  sessionStorage.setItem(KEY, $("#admin-token").value.trim());
  $("#admin-token").value = "";
  try {
    const session = await fetchSession();
    if (!session) return signOut("Your admin token was refused: sign in again.");
    setSession(session);
    $("#signin-error").textContent = "";
    await guarded(show)(homeView());
  } catch (e) {
    if (e.message !== "unauthorized") $("#signin-error").textContent = e.message;
  }
}

// ---- tokens ----

async function loadTokens() {
  tokens = (await api("GET", "/admin/v1/tokens")).tokens;
  const body = $("#token-table tbody");
  body.replaceChildren();
  const now = Date.now();
  for (const t of tokens) {
    const expiring = t.status === "active" && t.expiresAt && t.expiresAt - now < 7 * DAY;
    const actions = el("td");
    actions.append(el("button", { type: "button", className: "snippets", onclick: () => showSnippets(t, null) }, "Snippets"));
    if (t.status === "active") {
      actions.append(" ", el("button", { type: "button", className: "danger revoke", onclick: (e) => confirmRevoke(e.target, t) }, "Revoke"));
    }
    const row = el(
      "tr",
      { class: [t.status, expiring ? "expiring" : ""].join(" ").trim(), "data-id": t.id },
      el("td", {}, t.label),
      el("td", {}, el("code", {}, t.id)),
      el("td", {}, t.user || "(any user)"),
      el("td", { class: "status-" + t.status }, t.status),
      el("td", { class: "uses" }, String(t.useCount)),
      el("td", {}, when(t.lastUsedAt)),
      el("td", { class: "expires", title: expiring ? "expires within 7 days" : "" }, when(t.expiresAt) + (expiring ? " (soon)" : "")),
      actions,
    );
    body.append(row);
  }
}

function confirmRevoke(button, t) {
  const cell = button.parentElement;
  cell.replaceChildren(
    el("span", {}, `Revoke "${t.label}"? `),
    el("button", { type: "button", className: "danger confirm-revoke", onclick: guarded(() => revoke(t)) }, "Yes, revoke"),
    " ",
    el("button", { type: "button", onclick: guarded(loadTokens) }, "Cancel"),
  );
}

async function revoke(t) {
  await api("DELETE", "/admin/v1/tokens/" + encodeURIComponent(t.id));
  await loadTokens();
}

function lines(text) {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

async function createToken(ev) {
  ev.preventDefault();
  const f = ev.target;
  const body = { label: f.label.value, restrictions: lines(f.restrictions.value), ipAllowlist: lines(f.ips.value) };
  if (f.user.value.trim()) body.user = f.user.value.trim();
  if (f.days.value) body.daysUntilExpiry = Number(f.days.value);
  if (f.rate.value) body.rateLimitPerMinute = Number(f.rate.value);
  try {
    const created = await api("POST", "/admin/v1/tokens", body);
    $("#create-error").textContent = "";
    f.reset();
    $("#secret-id").textContent = created.token.id;
    $("#secret-value").textContent = created.secret;
    $("#copied").hidden = true;
    $("#secret-box").hidden = false;
    showSnippets(created.token, created.secret);
    await loadTokens();
  } catch (e) {
    if (e.message !== "unauthorized") showError($("#create-error"), e);
  }
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard access refused (e.g. no permission): select the text so it can be copied by hand.
    const r = document.createRange();
    r.selectNodeContents($("#secret-value"));
    getSelection().removeAllRanges();
    getSelection().addRange(r);
  }
  if (done) done.hidden = false;
}

// ---- snippets ----

let snippetLang = "curl";
let snippetFor = null;

function snippet(lang, t, secret) {
  const base = location.origin;
  const user = t.user || "USER";
  const tok = secret || "<TOKEN>";
  const path = "/rest/api/space";
  if (lang === "python") {
    return `import requests\n\nr = requests.get(\n    "${base}${path}",\n    auth=("${user}", "${tok}"),  # or headers={"Authorization": "Bearer ${tok}"}\n    timeout=30,\n)\nr.raise_for_status()\nprint(r.json())`;
  }
  if (lang === "js") {
    return `const r = await fetch("${base}${path}", {\n  headers: { Authorization: "Bearer ${tok}" },\n});\nif (!r.ok) throw new Error(\`gateway answered \${r.status}\`);\nconsole.log(await r.json());`;
  }
  return `curl -u '${user}:${tok}' '${base}${path}'\n# or: curl -H 'Authorization: Bearer ${tok}' '${base}${path}'`;
}

function showSnippets(t, secret) {
  snippetFor = { t, secret };
  $("#snippet-token").textContent = `${t.label} (${t.id})`;
  $("#snippets").hidden = false;
  renderSnippet();
}

function renderSnippet() {
  if (!snippetFor) return;
  $$(".snippet-tabs .tab").forEach((b) => b.classList.toggle("active", b.dataset.lang === snippetLang));
  $("#snippet-code").textContent = snippet(snippetLang, snippetFor.t, snippetFor.secret);
}

// ---- restriction tester ----

// Active tokens first (the first one is the default); the others say what they are.
async function fillTokenSelect() {
  tokens = (await api("GET", "/admin/v1/tokens")).tokens;
  const sel = $("#tester-form").token;
  const active = tokens.filter((t) => t.status === "active");
  const inactive = tokens.filter((t) => t.status !== "active");
  sel.replaceChildren(
    ...active.map((t) => el("option", { value: t.id }, `${t.label} (${t.id})`)),
    ...inactive.map((t) => el("option", { value: t.id }, `${t.label} (${t.id}) — ${t.status}`)),
  );
}

async function runCheck(ev) {
  ev.preventDefault();
  const f = ev.target;
  const out = $("#tester-result");
  const body = { tokenId: f.token.value, method: f.method.value, path: f.path.value };
  if (f.body.value.trim()) {
    try {
      body.body = JSON.parse(f.body.value);
    } catch (e) {
      out.className = "error";
      out.textContent = "The JSON body is not valid JSON: " + e.message;
      return;
    }
  }
  try {
    const r = await api("POST", "/admin/v1/check", body);
    const checked = r.normalizedPath ? ` (checked as ${r.normalizedPath})` : "";
    // A revoked or expired token is denied by the check itself, saying so in `reason`.
    out.className = r.decision;
    out.textContent =
      r.decision === "allow"
        ? `ALLOW — ${r.rule ? "rule " + r.rule : "the token has no restrictions"}${checked}`
        : `DENY — ${r.reason}${checked}`;
  } catch (e) {
    out.className = "error";
    out.textContent = e.message;
  }
}

// ---- audit ----

async function loadAudit(fresh) {
  const f = $("#audit-form");
  const q = new URLSearchParams({ limit: "50" });
  for (const k of ["tokenId", "user", "decision", "kind"]) if (f[k].value) q.set(k, f[k].value);
  if (!fresh && auditBefore) q.set("before", auditBefore);
  const page = await api("GET", "/admin/v1/audit?" + q);
  const body = $("#audit-table tbody");
  if (fresh) body.replaceChildren();
  for (const r of page.records) {
    body.append(
      el(
        "tr",
        { "data-seq": String(r.seq) },
        el("td", {}, String(r.seq)),
        el("td", {}, when(r.at)),
        el("td", {}, r.actor),
        el("td", {}, r.tokenId || "-"),
        el("td", {}, r.method),
        el("td", {}, el("code", {}, r.path)),
        el("td", { class: r.decision }, r.decision),
        el("td", {}, String(r.status)),
        el("td", {}, r.reason),
        el("td", {}, r.clientIp),
      ),
    );
  }
  auditBefore = page.nextBefore;
  $("#audit-older").hidden = !auditBefore;
}

async function verifyChain() {
  const r = await api("GET", "/admin/v1/audit/verify");
  const out = $("#audit-verify-result");
  out.className = r.ok ? "allow" : "deny";
  out.textContent = r.ok ? `intact: ${r.checked} records verified` : `TAMPERED: ${r.problem}`;
}

// ---- wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOutClicked);
  $$("#nav .tab").forEach((b) => b.addEventListener("click", guarded(() => show(b.dataset.view))));
  $("#create-form").addEventListener("submit", createToken);
  $("#copy-secret").addEventListener("click", () => copy($("#secret-value").textContent, $("#copied")));
  $("#copy-snippet").addEventListener("click", () => copy($("#snippet-code").textContent));
  $$(".snippet-tabs .tab").forEach((b) =>
    b.addEventListener("click", () => {
      snippetLang = b.dataset.lang;
      renderSnippet();
    }),
  );
  $("#tester-form").addEventListener("submit", runCheck);
  $("#audit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(loadAudit)(true);
  });
  $("#audit-older").addEventListener("click", guarded(() => loadAudit(false)));
  $("#audit-verify").addEventListener("click", guarded(verifyChain));
  start();
});
