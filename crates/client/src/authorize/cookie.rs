//! `cookie`: a Data Center session cookie (`JSESSIONID`). cfl logs in with Basic once, sends the
//! session cookie, and logs in again when the session is old or refused (a 401).

use super::spec::Spec;
use super::{basic, Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::live::Live;
use crate::oauth::StoredSecret;

/// A session is replaced by a fresh login after this long, used or not: Confluence's idle
/// timeout is not visible to clients, and a dead session on a site with anonymous access is not
/// refused but answered as anonymous — so cfl never relies on a session old enough to have died
/// (Confluence's default timeout is 30 minutes or more; a 401 also triggers a new login).
const SESSION_SECS: i64 = 25 * 60;

pub(super) const SPEC: Spec = Spec {
    name: "cookie",
    deployment: Deployment::DataCenter,
    stores_json: true,
    authorizer: |cred| Ok(Box::new(Cookie::new(cred)?)),
};

pub struct Cookie {
    live: Live,
}

impl Cookie {
    pub fn new(cred: &Credential) -> Result<Cookie> {
        Ok(Cookie {
            live: Live::new(cred)?,
        })
    }

    /// The session to send; a new login when there is none, it is old, or `failed` is it.
    async fn session(&self, ctx: Ctx<'_>, failed: Option<&str>) -> Result<String> {
        let mut guard = self.live.lock().await;
        let s = guard
            .as_mut()
            .ok_or_else(|| Error::Request("this profile has no stored session".into()))?;
        let fresh = s.expires_at.is_none_or(|e| e > crate::oauth::now());
        match (&s.session, failed) {
            (Some(c), Some(f)) if c != f => return Ok(c.clone()),
            (Some(c), None) if fresh => return Ok(c.clone()),
            _ => {}
        }
        let password = s.password.clone().ok_or_else(|| {
            Error::Request("the cookie profile has no password stored; log in again".into())
        })?;
        s.session = Some(login(ctx.cred, ctx.http, &password).await?);
        s.expires_at = Some(crate::oauth::now() + SESSION_SECS);
        self.live.save(s)?;
        Ok(s.session.clone().unwrap_or_default())
    }
}

impl Authorizer for Cookie {
    fn method(&self) -> Method {
        Method::Cookie
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _req: Request<'a>,
        failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        Box::pin(async move {
            let session = self.session(ctx, failed).await?;
            Ok(Authorized {
                header: "Cookie",
                value: format!("JSESSIONID={session}"),
                renewable: Some(session),
            })
        })
    }

    fn renewable(&self) -> bool {
        true
    }

    fn renew<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, ()> {
        Box::pin(async move {
            let current = self
                .live
                .lock()
                .await
                .as_ref()
                .and_then(|s| s.session.clone());
            self.session(ctx, Some(current.as_deref().unwrap_or("")))
                .await
                .map(|_| ())
        })
    }

    fn reusable_header<'a>(&'a self, _ctx: Ctx<'a>) -> Pending<'a, String> {
        Box::pin(async {
            Err(Error::Invalid(
                "a cookie profile sends a session cookie, not an Authorization header; use `cfl api PATH`"
                    .into(),
            ))
        })
    }

    fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        Box::pin(async move { Ok(self.live.snapshot().await) })
    }

    fn refused(&self, _deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        format!(
            "The session cookie and a fresh login were refused (password changed?). Fix: \
             `{login_cmd} --method cookie`."
        )
    }
}

/// One Basic request to the current-user resource; Confluence opens a session and answers
/// `Set-Cookie: JSESSIONID=…`. Also the cookie login flow's first step.
pub async fn login(cred: &Credential, http: &reqwest::Client, password: &str) -> Result<String> {
    let login = cred.login.as_deref().unwrap_or_default();
    let url = crate::deployment::join(&cred.api_base, "rest/api/user/current");
    let resp = http
        .get(&url)
        .header("Authorization", basic(login, password))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| Error::Request(format!("cannot reach {url}: {e}")))?;
    let status = resp.status();
    let reason = resp
        .headers()
        .get("x-seraph-loginreason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let first = c.split(';').next()?.trim();
            let (k, v) = first.split_once('=')?;
            (k == "JSESSIONID" && !v.is_empty()).then(|| v.to_string())
        });
    if !status.is_success() {
        let why = match reason.as_deref() {
            Some("AUTHENTICATION_DENIED") => {
                "Confluence requires a CAPTCHA after too many failed logins: log in once in the browser"
            }
            _ => "the username or password was refused",
        };
        return Err(Error::Request(format!(
            "cookie login as {login} failed ({status}): {why}"
        )));
    }
    session.ok_or_else(|| {
        Error::Request(format!("{url} did not open a session (no JSESSIONID cookie); this server may not support cookie logins — use --method pat"))
    })
}
