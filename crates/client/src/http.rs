//! The one HTTP layer every cfl command goes through: reqwest on rustls (ring), proxies from
//! `HTTPS_PROXY`/`NO_PROXY`, an extra CA bundle and an mTLS client certificate, `User-Agent:
//! cfl/VERSION`, `X-Atlassian-Token: no-check` on writes, bounded retries of 429/503 that honour
//! `Retry-After`, Cloud's `Beta-Retry-After` and `X-RateLimit-Reset` (and a pause when Cloud says
//! `X-RateLimit-NearLimit`), 401s explained with the command that fixes them, 410s explained as
//! endpoints Atlassian removed, downloads that follow redirects without carrying the credential
//! to another host, and `--verbose` request/response logging with every secret redacted.

use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::authorize::{self, Authorized, Authorizer, Ctx, Target};
use crate::credentials::Credential;
use crate::deployment::{self, Deployment};

pub const USER_AGENT: &str = concat!("cfl/", env!("CARGO_PKG_VERSION"));

/// Transport settings from the profile and flags.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    pub verbose: bool,
    pub ca_bundle: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// How long and how often to retry 429/503.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_retries: u32,
    /// Longest single wait we accept; a server asking for more makes us give up at once.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// Defaults, overridable with `CFL_MAX_RETRIES` and `CFL_RETRY_MAX_WAIT` (seconds).
    pub fn from_env() -> RetryPolicy {
        let num = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        RetryPolicy {
            max_retries: num("CFL_MAX_RETRIES")
                .map(|n| n.min(20) as u32)
                .unwrap_or(4),
            max_wait: Duration::from_secs(num("CFL_RETRY_MAX_WAIT").unwrap_or(60)),
        }
    }
}

/// Installs rustls' ring provider once per process (reqwest is built without a default one).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client with cfl's transport settings (also used unauthenticated, for probes).
pub fn build_http(opts: &ClientOptions) -> Result<reqwest::Client> {
    install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(30))
        // A limit per read, not per request: a multi-gigabyte attachment may take longer than
        // any whole-request limit, but a server silent for five minutes is gone.
        .read_timeout(Duration::from_secs(300))
        // Never carry credentials to another host behind our back.
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = &opts.ca_bundle {
        let pem = std::fs::read(ca)
            .map_err(|e| Error::io(format!("cannot read CA bundle {}", ca.display()), e))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            Error::transport(
                format!("{} is not a PEM certificate bundle", ca.display()),
                e,
            )
        })? {
            b = b.add_root_certificate(cert);
        }
    }
    match (&opts.client_cert, &opts.client_key) {
        (Some(cert), key) => {
            let mut pem = std::fs::read(cert).map_err(|e| {
                Error::io(
                    format!("cannot read client certificate {}", cert.display()),
                    e,
                )
            })?;
            if let Some(key) = key {
                pem.push(b'\n');
                pem.extend(std::fs::read(key).map_err(|e| {
                    Error::io(format!("cannot read client key {}", key.display()), e)
                })?);
            }
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                Error::transport(
                    "client certificate: expected PEM certificate and private key",
                    e,
                )
            })?;
            b = b.identity(id);
        }
        (None, Some(_)) => {
            return Err(Error::Invalid(
                "a client key needs a client certificate (--client-cert)".into(),
            ))
        }
        (None, None) => {}
    }
    b.build()
        .map_err(|e| Error::transport("cannot build the HTTP client", e))
}

/// A finished response, body read.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: String,
    /// The request's method (`GET`, …), for explanations that name the endpoint.
    pub method: String,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Request(format!("{} did not answer JSON: {e}", self.url)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An authenticated client rooted at the credential's API base.
pub struct Client {
    http: reqwest::Client,
    pub cred: Credential,
    verbose: bool,
    pub retry: RetryPolicy,
    /// The method's URL rewrite, header or cookie, and renewal.
    auth: Box<dyn Authorizer>,
    /// No request before this instant: Cloud said `X-RateLimit-NearLimit: true`.
    near_limit_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

/// How long to pause before the next request when Cloud says the rate limit is near.
pub const NEAR_LIMIT_PAUSE: Duration = Duration::from_millis(500);

/// How many redirects a download follows.
const MAX_REDIRECTS: usize = 5;

impl Client {
    pub fn new(cred: Credential, opts: &ClientOptions) -> Result<Client> {
        Ok(Client {
            http: build_http(opts)?,
            auth: authorize::for_credential(&cred)?,
            cred,
            verbose: opts.verbose,
            retry: RetryPolicy::from_env(),
            near_limit_until: std::sync::Mutex::new(None),
        })
    }

    pub fn api_base(&self) -> &Url {
        &self.cred.api_base
    }

    /// `path` relative to the API base; an absolute URL only on the API base's own origin, so a
    /// credential is never sent to another host.
    pub fn url(&self, path: &str) -> Result<String> {
        if path.starts_with("http://") || path.starts_with("https://") {
            let u =
                Url::parse(path).map_err(|e| Error::Invalid(format!("bad URL {path:?}: {e}")))?;
            if u.origin() != self.cred.api_base.origin() {
                return Err(Error::Invalid(format!(
                    "refusing to send credentials to {} (the profile's API base is {})",
                    u.origin().ascii_serialization(),
                    self.cred.api_base
                )));
            }
            return Ok(path.to_string());
        }
        Ok(deployment::join(&self.cred.api_base, path))
    }

    /// The URL a request really goes to, after the method's rewrite (`oauth1-impersonation`
    /// acts as its user through `xoauth_requestor_id`): the only thing a request can be
    /// authorized for.
    pub fn target(&self, url: &str) -> Result<Target> {
        self.auth.target(&self.cred, url)
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            cred: &self.cred,
            http: &self.http,
        }
    }

    /// Sends one request, retrying 429 (and 503 on idempotent methods) within the policy. A 401
    /// on a renewable credential (OAuth 2.0 bearer, cookie session) renews it once and retries.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Response> {
        let body = match &body {
            Some(b) => RequestBody::Bytes(b),
            None => RequestBody::Empty,
        };
        let streamed = self
            .send_with(
                method,
                url,
                headers,
                body,
                Answer::Read,
                SendPolicy::Backoff,
            )
            .await?;
        Ok(read_whole(streamed))
    }

    /// A header a script may reuse (`cfl auth token`); an error for the methods that sign or
    /// use a cookie per request.
    pub async fn reusable_header(&self) -> Result<String> {
        self.auth.reusable_header(self.ctx()).await
    }

    /// Renews the credential now (`cfl auth refresh`).
    pub async fn refresh(&self) -> Result<()> {
        self.auth.renew(self.ctx()).await
    }

    /// Unix seconds when the current access token expires, when known.
    pub async fn expires_at(&self) -> Option<i64> {
        self.stored_secret().await.and_then(|s| s.expires_at)
    }

    /// The stored secret as it is now (after renewals), for `cfl auth login` to save.
    pub async fn stored_secret(&self) -> Option<crate::oauth::StoredSecret> {
        self.auth.stored_secret().await.ok().flatten()
    }

    /// A one-paragraph explanation of a failed response, with the fix for 401s.
    pub fn explain(&self, r: &Response) -> String {
        if r.status == 410 {
            return explain_gone(r, self.cred.deployment);
        }
        let message = error_message(&r.body);
        let mut s = format!("HTTP {} {}", r.status, r.reason);
        if let Some(m) = &message {
            s.push_str(&format!(": {m}"));
        }
        if r.status == 401 {
            let body = String::from_utf8_lossy(&r.body);
            let www = r.header("www-authenticate");
            if let Some(p) = self.auth.problem(&self.cred, www, &body) {
                s.push('\n');
                s.push_str(&p);
                return s;
            }
        }
        if r.status == 401 || r.status == 403 && r.header("x-seraph-loginreason").is_some() {
            s.push('\n');
            s.push_str(&self.explain_401(r.header("x-seraph-loginreason"), message.as_deref()));
        }
        s
    }

    /// The typed error for a failed answer; `doing` (e.g. "listing space DEV") prefixes the
    /// explanation when given.
    pub fn refusal(&self, r: &Response, doing: &str) -> crate::Error {
        let explanation = self.explain(r);
        crate::Error::Http {
            status: r.status,
            explanation: if doing.is_empty() {
                explanation
            } else {
                format!("{doing}: {explanation}")
            },
        }
    }

    /// The transport (for the sign-in flows that talk to token endpoints).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in self.cred.sensitive() {
            if !s.is_empty() {
                out = out.replace(&s, "<redacted>");
            }
        }
        out
    }

    fn log_request(&self, req: &reqwest::Request) {
        eprintln!(
            "> {} {}",
            req.method(),
            self.redact(&redact_query(req.url()))
        );
        for (k, v) in req.headers() {
            eprintln!("> {}: {}", k, self.header_for_log(k.as_str(), v));
        }
        if let Some(len) = req.body().and_then(|b| b.as_bytes()).map(|b| b.len()) {
            eprintln!("> ({len} bytes of body)");
        }
    }

    fn log_response(&self, r: &Response) {
        eprintln!("< {} {}", r.status, r.reason);
        for (k, v) in &r.headers {
            eprintln!("< {}: {}", k, self.header_for_log(k.as_str(), v));
        }
        eprintln!("< ({} bytes of body)", r.body.len());
    }

    fn header_for_log(&self, name: &str, v: &HeaderValue) -> String {
        let n = name.to_ascii_lowercase();
        if matches!(
            n.as_str(),
            "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
        ) {
            let scheme = v
                .to_str()
                .ok()
                .and_then(|s| s.split_whitespace().next())
                .unwrap_or("");
            return if n.contains("authorization") {
                format!("{scheme} <redacted>")
            } else {
                "<redacted>".into()
            };
        }
        let text = v.to_str().unwrap_or("<binary>");
        // A redirect to a media host carries its own token in the query.
        if n == "location" {
            if let Ok(u) = Url::parse(text) {
                return self.redact(&redact_query(&u));
            }
        }
        self.redact(text)
    }
}

/// What to do about a transport error the user can fix (an unreachable server, an untrusted TLS
/// certificate, a refused upload).
fn transport_hint(e: &reqwest::Error, url: &str) -> String {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(&s.to_string());
        src = s.source();
    }
    if text.contains("certificate") || text.contains("UnknownIssuer") {
        " (the server's TLS certificate is not trusted: if a private CA signed it, log in again \
         with --ca-bundle FILE (PEM); if it asks for a client certificate, --client-cert)"
            .into()
    } else if text.contains("error writing a body") {
        // Servers stop reading a body they refuse (Tomcat swallows only 2 MiB of it), so the
        // answer that would say why is lost behind a broken pipe.
        " (the server closed the connection before it had received the whole request body: \
         the upload is probably larger than the site's attachment size limit, or a proxy in \
         between limits request sizes)"
            .into()
    } else if e.is_connect() || e.is_timeout() {
        let origin = Url::parse(url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| url.to_string());
        format!(
            " (cannot reach {origin}: check the site URL (`cfl auth status` shows the profile's), \
             that the server is up and reachable from this machine (VPN, firewall), and the proxy \
             settings HTTPS_PROXY / NO_PROXY)"
        )
    } else {
        String::new()
    }
}

/// A `410 Gone`: Atlassian removed the endpoint (Cloud's REST v1 removals). Names the method and
/// the path, never the raw body.
fn explain_gone(r: &Response, deployment: Deployment) -> String {
    let path = Url::parse(&r.url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| r.url.clone());
    let method = if r.method.is_empty() {
        "GET"
    } else {
        r.method.as_str()
    };
    if !deployment.is_cloud() {
        return format!(
            "HTTP 410 Gone: {method} {path} no longer exists on this Confluence: Atlassian has \
             removed this endpoint. If a cfl command sent it, upgrade cfl; with `cfl api`, see the \
             REST API documentation of your Confluence version."
        );
    }
    format!(
        "HTTP 410 Gone: {method} {path} no longer exists: Atlassian has removed this endpoint \
         (Confluence Cloud's REST v1 is being retired in favour of v2). If a cfl command sent it, \
         upgrade cfl; with `cfl api`, use the v2 API instead, e.g. `cfl api /api/v2/spaces` or \
         `cfl api /api/v2/pages/ID` (https://developer.atlassian.com/cloud/confluence/rest/v2/)."
    )
}

/// A request body that is streamed rather than held in memory. It is made afresh for every
/// attempt (a stream is used up by the first one), hence the factory in [`Client::send_body_stream`].
pub enum StreamBody {
    /// A multipart form (attachment uploads); parts built with a known length give the request a
    /// `Content-Length`.
    Multipart(reqwest::multipart::Form),
    /// Any other body, e.g. `reqwest::Body::wrap_stream(..)`.
    Raw(reqwest::Body),
}

/// The answer to a streamed request: a success with its body still unread (the caller streams
/// it), or an answer read whole — a failure (error bodies are small, so [`Client::explain`] works
/// on it), or any answer when the caller did not ask for the body unread.
pub enum Streamed {
    Ok(reqwest::Response),
    Read(Response),
}

/// Who handles 429 and 503 answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendPolicy {
    /// This layer: backoff honouring `Retry-After` & co., and the `X-RateLimit-NearLimit` pause.
    Backoff,
    /// The caller, which must see every answer (`cfl export`'s AIMD limiter): sent once.
    CallerPaced,
}

/// Whether a successful answer's body is read here or left to the caller to stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Read,
    SuccessUnread,
}

/// The form-encoded body parameters OAuth 1.0a signs too (streamed bodies are never forms).
fn form_body(headers: &[(String, String)], body: RequestBody<'_>) -> Option<String> {
    let is_form = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type") && cfl_auth::oauth1::is_form_content_type(v)
    });
    match body {
        RequestBody::Bytes(b) if is_form => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A request's body: none, bytes in memory, or a stream made afresh for each attempt.
#[derive(Clone, Copy)]
enum RequestBody<'a> {
    Empty,
    Bytes(&'a [u8]),
    Stream(&'a (dyn Fn() -> crate::error::Result<StreamBody> + Send + Sync)),
}

// Streaming variants of `send`, on the same request loop (headers, credentials, retries,
// logging): the request body comes from a factory, or the successful response body is left to
// the caller.
impl Client {
    /// Sends a streamed body (made by `make_body` for each attempt) and reads the answer whole.
    pub async fn send_body_stream(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        make_body: &(dyn Fn() -> crate::error::Result<StreamBody> + Send + Sync),
    ) -> Result<Response> {
        let streamed = self
            .send_with(
                method,
                url,
                headers,
                RequestBody::Stream(make_body),
                Answer::Read,
                SendPolicy::Backoff,
            )
            .await?;
        Ok(read_whole(streamed))
    }

    /// A request whose successful response body is returned unread, for streaming to disk.
    pub async fn send_for_stream(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<Streamed> {
        self.send_with(
            method,
            url,
            headers,
            RequestBody::Empty,
            Answer::SuccessUnread,
            SendPolicy::Backoff,
        )
        .await
    }

    /// A GET for a download, its successful body returned unread. Redirects are followed (at
    /// most five): on the API base's origin with the credential, to any other host (Cloud sends
    /// attachment bytes from its media store) without it, so a credential never leaves its site.
    pub async fn send_for_download(&self, url: &str, policy: SendPolicy) -> Result<Streamed> {
        let mut current = url.to_string();
        let mut on_site = true;
        for _ in 0..=MAX_REDIRECTS {
            let answer = if on_site {
                self.send_with(
                    "GET",
                    &current,
                    &[],
                    RequestBody::Empty,
                    Answer::SuccessUnread,
                    policy,
                )
                .await?
            } else {
                self.get_off_site(&current).await?
            };
            let r = match answer {
                Streamed::Read(r) if (300..400).contains(&r.status) && r.status != 304 => r,
                other => return Ok(other),
            };
            let location = r.header("location").ok_or_else(|| {
                Error::Request(format!(
                    "GET {} answered {} without a Location to follow",
                    self.redact(&current),
                    r.status
                ))
            })?;
            let next = Url::parse(&current)
                .and_then(|u| u.join(location))
                .map_err(|e| {
                    Error::Request(format!("the redirect to {location:?} is not a URL: {e}"))
                })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(Error::Request(format!(
                    "refusing to follow a redirect to {}",
                    next.scheme()
                )));
            }
            // Once off the site, stay anonymous even if a later hop comes back.
            on_site = on_site && next.origin() == self.cred.api_base.origin();
            current = next.to_string();
        }
        Err(Error::Request(format!(
            "GET {}: more than {MAX_REDIRECTS} redirects; giving up",
            self.redact(url)
        )))
    }

    /// A GET to another host than the site's: no credential, no cookie, only cfl's User-Agent.
    async fn get_off_site(&self, url: &str) -> Result<Streamed> {
        let parsed =
            Url::parse(url).map_err(|e| Error::Request(format!("bad URL {url:?}: {e}")))?;
        if self.verbose {
            eprintln!(
                "> GET {} (another host: sent without the Confluence credential)",
                redact_query(&parsed)
            );
        }
        let resp = self
            .http
            .get(parsed.clone())
            .header("User-Agent", USER_AGENT)
            .send()
            .await
            .map_err(|e| {
                let hint = transport_hint(&e, url);
                Error::transport(format!("GET {} failed{hint}", redact_query(&parsed)), e)
            })?;
        let status = resp.status();
        if self.verbose {
            eprintln!(
                "< {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
        }
        if status.is_success() {
            return Ok(Streamed::Ok(resp));
        }
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::transport("cannot read the response body", e))?
            .to_vec();
        Ok(Streamed::Read(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body,
            url: redact_query(&parsed),
            method: "GET".into(),
        }))
    }

    /// One GET that the HTTP layer never retries on 429/503 (the caller decides: `cfl export`'s
    /// limiter must see every 429). With `dest`, a 2xx body is streamed into that file (created or
    /// truncated) instead of memory, for attachment downloads; any other answer is returned with
    /// its body read and `dest` untouched. Credentials work as for `send` (signed or impersonating
    /// URLs, cookie sessions, one renewal on a 401).
    pub async fn get_once(&self, url: &str, dest: Option<&std::path::Path>) -> Result<Response> {
        use std::io::Write;
        let streamed = self
            .send_with(
                "GET",
                url,
                &[],
                RequestBody::Empty,
                if dest.is_some() {
                    Answer::SuccessUnread
                } else {
                    Answer::Read
                },
                SendPolicy::CallerPaced,
            )
            .await?;
        let (mut resp, dest) = match (streamed, dest) {
            (Streamed::Ok(resp), Some(dest)) => (resp, dest),
            (other, _) => return Ok(read_whole(other)),
        };
        let status = resp.status();
        let r = Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers: resp.headers().clone(),
            body: Vec::new(),
            url: url.to_string(),
            method: "GET".into(),
        };
        let mut f = std::fs::File::create(dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            Error::transport(
                format!("GET {}: the download broke off", self.redact(url)),
                e,
            )
        })? {
            f.write_all(&chunk)
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        }
        f.sync_data()
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        Ok(r)
    }

    /// The one request loop under every send: the method's URL rewrite, its credential (renewed
    /// once on a 401), cfl's headers, `--verbose` logging, and the 429/503 handling `policy` says.
    async fn send_with(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: RequestBody<'_>,
        answer: Answer,
        policy: SendPolicy,
    ) -> Result<Streamed> {
        let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::Invalid(format!("bad HTTP method {method:?}")))?;
        let target = self.target(url)?;
        let idempotent = m != reqwest::Method::POST && m != reqwest::Method::PATCH;
        let form_body = form_body(headers, body);
        let mut attempt = 0;
        let mut renewed = false;
        let mut failed: Option<String> = None;
        loop {
            let auth_req = authorize::Request {
                method: &m,
                target: &target,
                form_body: form_body.as_deref(),
            };
            let credential = self
                .auth
                .authorize(self.ctx(), auth_req, failed.as_deref())
                .await?;
            let req = self.build_request(&m, &target, headers, body, &credential)?;
            if policy == SendPolicy::Backoff {
                self.pause_if_near_limit().await;
            }
            let resp = self.http.execute(req).await.map_err(|e| {
                let hint = transport_hint(&e, target.url());
                Error::transport(
                    format!("{method} {} failed{hint}", self.redact(target.url())),
                    e,
                )
            })?;
            if policy == SendPolicy::Backoff {
                self.note_near_limit(resp.headers());
            }
            if resp.status().is_success() && answer == Answer::SuccessUnread {
                self.log_unread(&resp);
                return Ok(Streamed::Ok(resp));
            }
            let r = self.read_answer(resp, &m, &target).await?;
            if r.status == 401 && self.auth.renewable() && !renewed {
                if self.verbose {
                    eprintln!("* 401 — renewing the credential and retrying once");
                }
                renewed = true;
                failed = Some(credential.renewable.unwrap_or_default());
                continue;
            }
            let retryable = policy == SendPolicy::Backoff
                && (r.status == 429 || (r.status == 503 && idempotent));
            if !retryable {
                return Ok(Streamed::Read(r));
            }
            let delay = self.retry_wait(method, target.url(), &r, attempt)?;
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One attempt's request: cfl's headers, the credential, the caller's headers and the body.
    fn build_request(
        &self,
        m: &reqwest::Method,
        target: &Target,
        headers: &[(String, String)],
        body: RequestBody<'_>,
        credential: &Authorized,
    ) -> Result<reqwest::Request> {
        let mut req = self
            .http
            .request(m.clone(), target.url())
            .header("Accept", "application/json")
            .header("User-Agent", USER_AGENT)
            .header(credential.header, &credential.value);
        let write = !matches!(
            *m,
            reqwest::Method::GET | reqwest::Method::HEAD | reqwest::Method::OPTIONS
        );
        if write {
            req = req.header("X-Atlassian-Token", "no-check");
        }
        for (k, v) in headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::Invalid(format!("bad header name {k:?}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| Error::Invalid(format!("bad value for header {k}")))?;
            req = req.header(name, value);
        }
        req = match body {
            RequestBody::Empty => req,
            RequestBody::Bytes(b) => req.body(b.to_vec()),
            RequestBody::Stream(make) => {
                match make().map_err(|e| Error::Request(e.with_sources()))? {
                    StreamBody::Multipart(form) => req.multipart(form),
                    StreamBody::Raw(body) => req.body(body),
                }
            }
        };
        let req = req
            .build()
            .map_err(|e| Error::transport("cannot build the request", e))?;
        if self.verbose {
            self.log_request(&req);
        }
        Ok(req)
    }

    /// A success whose body the caller streams: only the head is logged.
    fn log_unread(&self, resp: &reqwest::Response) {
        if !self.verbose {
            return;
        }
        let status = resp.status();
        eprintln!(
            "< {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        for (k, v) in resp.headers() {
            eprintln!("< {}: {}", k, self.header_for_log(k.as_str(), v));
        }
    }

    async fn read_answer(
        &self,
        resp: reqwest::Response,
        m: &reqwest::Method,
        target: &Target,
    ) -> Result<Response> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::transport("cannot read the response body", e))?
            .to_vec();
        let r = Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            body,
            url: target.url().to_string(),
            method: m.as_str().to_string(),
        };
        if self.verbose {
            self.log_response(&r);
        }
        Ok(r)
    }

    /// How long to wait before retrying `r`, or the error that ends the retries.
    fn retry_wait(&self, method: &str, url: &str, r: &Response, attempt: u32) -> Result<Duration> {
        let reason = r
            .header("ratelimit-reason")
            .map(|v| format!(" (RateLimit-Reason: {v})"))
            .unwrap_or_default();
        if attempt >= self.retry.max_retries {
            return Err(Error::RateLimited(format!(
                "{method} {} answered {} {}{reason} {} time(s); giving up after {} retries. {}",
                self.redact(url),
                r.status,
                r.reason,
                attempt + 1,
                attempt,
                "Wait a while and try again, or lower the request rate (CFL_MAX_RETRIES sets the retries)."
            )));
        }
        let delay = retry_delay(
            &r.headers,
            attempt,
            SystemTime::now(),
            rand::random::<f64>(),
        );
        if delay > self.retry.max_wait {
            return Err(Error::RateLimited(format!(
                "{method} {} answered {}{reason}: the server asks to wait {}s, more than the {}s cfl waits \
                 (CFL_RETRY_MAX_WAIT); giving up — try again later",
                self.redact(url),
                r.status,
                delay.as_secs(),
                self.retry.max_wait.as_secs()
            )));
        }
        if self.verbose {
            eprintln!(
                "* {} — retrying in {} ms (attempt {})",
                r.status,
                delay.as_millis(),
                attempt + 1
            );
        }
        Ok(delay)
    }
}

// Cloud's early warning: `X-RateLimit-NearLimit: true` on any answer means the budget is almost
// spent, so requests slow down before they meet 429s. Only for callers that leave rate limits to
// this layer (`SendPolicy::Backoff`); `cfl export` paces itself.
impl Client {
    fn note_near_limit(&self, headers: &HeaderMap) {
        if !near_limit(headers) {
            return;
        }
        if self.verbose {
            eprintln!(
                "* X-RateLimit-NearLimit: pausing {} ms before the next request",
                NEAR_LIMIT_PAUSE.as_millis()
            );
        }
        let mut until = self
            .near_limit_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *until = Some(tokio::time::Instant::now() + NEAR_LIMIT_PAUSE);
    }

    async fn pause_if_near_limit(&self) {
        let until = *self
            .near_limit_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
    }
}

/// Whether an answer carries Cloud's `X-RateLimit-NearLimit: true`.
pub fn near_limit(headers: &HeaderMap) -> bool {
    headers
        .get("x-ratelimit-nearlimit")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A URL for logs: values of query parameters that look secret are replaced.
fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    if u.query().is_none() {
        return u.to_string();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let lk = k.to_ascii_lowercase();
            let secret = ["token", "secret", "password", "code", "key", "signature"]
                .iter()
                .any(|s| lk.contains(s));
            (
                k.into_owned(),
                if secret {
                    "<redacted>".into()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// Confluence's error text from a JSON body (v1 `message`, `errorMessages`; v2 `errors[].title`
/// and `detail`), if any.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
        // The cfl gateway's refusals carry a code (`restricted`, `expired`…) beside the text.
        return Some(match v.get("error").and_then(|c| c.as_str()) {
            Some(code) => format!("{m} (gateway refusal: {code})"),
            None => m.to_string(),
        });
    }
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        let text: Vec<&str> = errors
            .iter()
            .flat_map(|e| [e["title"].as_str(), e["detail"].as_str()])
            .flatten()
            .filter(|t| !t.is_empty())
            .collect();
        if !text.is_empty() {
            return Some(text.join("; "));
        }
    }
    v.get("errorMessages")
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty())
}

impl Client {
    /// Why the credential was refused and the command that fixes it: the method's own advice,
    /// unless the server named a cause that is not the method's (a scoped token on the site, a
    /// CAPTCHA).
    pub fn explain_401(&self, seraph: Option<&str>, message: Option<&str>) -> String {
        let cred = &self.cred;
        let login_cmd = match &cred.profile {
            Some(p) => format!("cfl auth login --profile {p}"),
            None => "cfl auth login".to_string(),
        };
        let msg = message.unwrap_or("");
        if msg.contains("Scoped API tokens are only accepted") {
            return authorize::scoped_on_the_site(&login_cmd);
        }
        if seraph == Some("AUTHENTICATION_DENIED") {
            return "Confluence requires a CAPTCHA after too many failed logins: log in once in the browser, \
                    or use a personal access token (`cfl auth login --method pat`)."
                .to_string();
        }
        self.auth.refused(cred.deployment, &login_cmd, msg)
    }
}

/// How long to wait before retry number `attempt` (0-based): the server's `Retry-After`
/// (seconds or HTTP date), else Cloud's `Beta-Retry-After`, else `X-RateLimit-Reset` (ISO 8601
/// or epoch seconds) when given, else
/// exponential backoff (1s, 2s, 4s… capped at 30s). `jitter` in [0,1) spreads clients apart:
/// up to +20% on a server-given time, 50–100% of the exponential one.
pub fn retry_delay(headers: &HeaderMap, attempt: u32, now: SystemTime, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    let hinted = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| {
            headers
                .get("beta-retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now))
        })
        .or_else(|| {
            headers
                .get("x-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_reset(v, now))
        });
    match hinted {
        Some(d) => d + d.mul_f64(0.2 * jitter),
        None => {
            let base = Duration::from_secs(1u64 << attempt.min(5)).min(Duration::from_secs(30));
            base.mul_f64(0.5 + 0.5 * jitter)
        }
    }
}

fn parse_retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn parse_reset(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    let when = if let Ok(epoch) = v.parse::<u64>() {
        SystemTime::UNIX_EPOCH + Duration::from_secs(epoch)
    } else {
        let t =
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok()?;
        let nanos = u64::try_from(t.unix_timestamp_nanos()).ok()?;
        SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)
    };
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A streamed answer whose body the caller did not ask to keep unread.
fn read_whole(streamed: Streamed) -> Response {
    match streamed {
        Streamed::Read(r) => r,
        Streamed::Ok(_) => unreachable!("send_with reads the body unless asked not to"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn backoff_honours_server_hints() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_delay(&h(&[("retry-after", "7")]), 0, now, 0.0),
            Duration::from_secs(7)
        );
        assert_eq!(
            retry_delay(&h(&[("retry-after", "10")]), 3, now, 1.0),
            Duration::from_secs(12)
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(
            retry_delay(&h(&[("retry-after", &date)]), 0, now, 0.0),
            Duration::from_secs(5)
        );
        // 2023-11-14T22:13:20Z is epoch 1_700_000_000.
        let reset = h(&[("x-ratelimit-reset", "2023-11-14T22:13:23Z")]);
        assert_eq!(retry_delay(&reset, 0, now, 0.0), Duration::from_secs(3));
        let past = h(&[("x-ratelimit-reset", "2023-11-14T22:00:00Z")]);
        assert_eq!(retry_delay(&past, 0, now, 0.0), Duration::ZERO);
        let epoch = h(&[("x-ratelimit-reset", "1700000004")]);
        assert_eq!(retry_delay(&epoch, 0, now, 0.0), Duration::from_secs(4));
        // Cloud's Beta-Retry-After when Retry-After is missing; Retry-After wins over both.
        let beta = h(&[
            ("beta-retry-after", "6"),
            ("x-ratelimit-reset", "1700000009"),
        ]);
        assert_eq!(retry_delay(&beta, 0, now, 0.0), Duration::from_secs(6));
        let both = h(&[("retry-after", "2"), ("beta-retry-after", "6")]);
        assert_eq!(retry_delay(&both, 0, now, 0.0), Duration::from_secs(2));
        // Retry-After wins over X-RateLimit-Reset.
        let both = h(&[("retry-after", "1"), ("x-ratelimit-reset", "1700000009")]);
        assert_eq!(retry_delay(&both, 0, now, 0.0), Duration::from_secs(1));
    }

    #[test]
    fn backoff_is_exponential_and_capped_without_hints() {
        let now = SystemTime::now();
        let none = HeaderMap::new();
        assert_eq!(retry_delay(&none, 0, now, 1.0), Duration::from_secs(1));
        assert_eq!(retry_delay(&none, 2, now, 1.0), Duration::from_secs(4));
        assert_eq!(retry_delay(&none, 2, now, 0.0), Duration::from_secs(2));
        assert_eq!(retry_delay(&none, 30, now, 1.0), Duration::from_secs(30));
        // Garbage hints fall back to backoff.
        assert_eq!(
            retry_delay(&h(&[("retry-after", "soon")]), 1, now, 1.0),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn error_text_comes_from_v1_and_v2_bodies() {
        assert_eq!(
            error_message(br#"{"message":"Current version is: 2"}"#).as_deref(),
            Some("Current version is: 2")
        );
        let v2 = br#"{"errors":[{"status":409,"code":"CONFLICT","title":"Version conflict","detail":null}]}"#;
        assert_eq!(error_message(v2).as_deref(), Some("Version conflict"));
        assert_eq!(error_message(b"<html>"), None);
        assert_eq!(
            error_message(br#"{"error":"restricted","message":"no rule allows GET /x"}"#)
                .as_deref(),
            Some("no rule allows GET /x (gateway refusal: restricted)")
        );
        assert!(near_limit(&h(&[("x-ratelimit-nearlimit", "TRUE")])));
        assert!(!near_limit(&h(&[("x-ratelimit-nearlimit", "false")])));
    }

    #[test]
    fn query_secrets_are_redacted() {
        let u = Url::parse("https://h/x?access_token=abc&limit=5").unwrap();
        let s = redact_query(&u);
        assert!(!s.contains("abc") && s.contains("limit=5"), "{s}");
    }
}
