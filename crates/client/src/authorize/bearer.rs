//! The one authorizer of the OAuth 2.0 bearer methods (`oauth2`, `dc-oauth2`,
//! `client-credentials`): the stored bearer, renewed a minute before it expires or after a 401,
//! through the grant the method uses. Each method's file only says which grant and where.

use super::{Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::live::{self, Live};
use crate::oauth::token::{self, Refusal};
use crate::oauth::StoredSecret;

/// Renew a bearer this long before it expires, so a request never leaves with a dying token.
const EARLY_SECS: i64 = 60;

/// How a method gets a new access token.
#[derive(Clone, Copy)]
pub(super) enum Grant {
    /// The saved refresh token (rotated by the server on every use).
    RefreshToken,
    /// The client id and secret again (no refresh token exists).
    ClientCredentials,
}

pub(super) struct Bearer {
    method: Method,
    live: Live,
    grant: Grant,
}

impl Bearer {
    /// The authorizer of a bearer method that renews through `grant`.
    pub fn boxed(cred: &crate::Credential, grant: Grant) -> Result<Box<dyn Authorizer>> {
        Ok(Box::new(Bearer {
            method: cred.method,
            live: Live::new(cred)?,
            grant,
        }))
    }

    /// The bearer to send; renewed when due or when `failed` is still the current one.
    fn bearer<'a>(&'a self, ctx: Ctx<'a>, failed: Option<&'a str>) -> Pending<'a, Authorized> {
        Box::pin(async move {
            let mut guard = self.live.lock().await;
            let s = guard
                .as_mut()
                .ok_or_else(|| Error::Request("this profile has no stored token".into()))?;
            let current = s.access_token.clone();
            let fresh = s
                .expires_at
                .is_none_or(|e| e - EARLY_SECS > crate::oauth::now());
            let usable = match (&current, failed) {
                (Some(c), Some(f)) => c != f,
                (Some(_), None) => fresh,
                _ => false,
            };
            if !usable {
                renew(ctx, s, self.grant).await?;
                self.live.save(s)?;
            }
            let token = s.access_token.clone().unwrap_or_default();
            Ok(Authorized {
                header: "Authorization",
                value: format!("Bearer {token}"),
                renewable: Some(token),
            })
        })
    }

    /// Renews now (`cfl auth refresh`).
    fn force<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, ()> {
        Box::pin(async move {
            let mut guard = self.live.lock().await;
            let s = guard
                .as_mut()
                .ok_or_else(|| Error::Request("this profile has no stored token".into()))?;
            renew(ctx, s, self.grant).await?;
            self.live.save(s)
        })
    }
}

impl Authorizer for Bearer {
    fn method(&self) -> Method {
        self.method
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _req: Request<'a>,
        failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        self.bearer(ctx, failed)
    }

    fn renewable(&self) -> bool {
        true
    }

    fn renew<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, ()> {
        self.force(ctx)
    }

    fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        Box::pin(async move { Ok(self.live.snapshot().await) })
    }

    /// A refused bearer (after one renewal): the app's access or scopes.
    fn refused(&self, _deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        let method = self.method;
        format!(
            "The OAuth access token was refused even after renewing it: the app's access may have \
             been revoked or lack a scope for this call. Fix: `{login_cmd} --method {method}`."
        )
    }
}

async fn renew(ctx: Ctx<'_>, s: &mut StoredSecret, grant: Grant) -> Result<()> {
    let cred = ctx.cred;
    let ep = live::endpoint(cred)?;
    let login_cmd = match &cred.profile {
        Some(p) => format!("cfl auth login --profile {p} --method {}", cred.method),
        None => format!("cfl auth login --method {}", cred.method),
    };
    let result = match grant {
        Grant::ClientCredentials => {
            let mut params = vec![("grant_type", "client_credentials")];
            if let Some(scope) = cred.oauth.get("scope") {
                params.push(("scope", scope));
            }
            token::request(ctx.http, &ep, s.client_secret.as_deref(), &params).await
        }
        Grant::RefreshToken => {
            let Some(rt) = s.refresh_token.clone() else {
                return Err(Error::Request(format!(
                    "the access token expired and there is no refresh token (the login did not get \
                     offline access); run `{login_cmd}`"
                )));
            };
            token::request(
                ctx.http,
                &ep,
                s.client_secret.as_deref(),
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await
        }
    };
    let t = result.map_err(|e| {
        let refusal = match &e {
            Error::Grant { refusal, .. } => Some(refusal),
            _ => None,
        };
        let advice = match refusal {
            Some(Refusal::Grant) => {
                format!("\nThe saved sign-in is no longer valid; run `{login_cmd}`.")
            }
            Some(Refusal::Client) => format!("\nFix the client secret with `{login_cmd}`."),
            _ => String::new(),
        };
        Error::Request(format!(
            "cannot renew the access token: {}{advice}",
            e.with_sources()
        ))
    })?;
    s.access_token = Some(t.access_token);
    if t.refresh_token.is_some() {
        s.refresh_token = t.refresh_token;
    }
    s.expires_at = t.expires_in.map(|e| crate::oauth::now() + e);
    Ok(())
}
