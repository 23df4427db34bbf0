//! The guided login's words: which methods fit the deployment (a numbered choice) and where
//! the pieces a method needs come from.

use crate::error::Context;
use url::Url;

use super::{say, Options};
use crate::config::Method;
use crate::deployment::Deployment;

/// Where the pieces a non-token method needs come from (said in the guided login).
pub(super) fn setup_hint(method: Method, site: &Url) -> String {
    let base = site.as_str().trim_end_matches('/');
    match method {
        Method::Oauth2 => "You need an OAuth 2.0 (3LO) app from https://developer.atlassian.com/console/myapps/ \
             with the Confluence scopes and the callback URL http://127.0.0.1:8976/callback."
            .into(),
        Method::ClientCredentials => "You need a service account's OAuth 2.0 client id and secret (Cloud: \
             admin.atlassian.com → Directory → Service accounts; DC: an administrator's service account)."
            .into(),
        Method::Oauth1 | Method::Oauth1Impersonation => format!(
            "You need an application link's consumer key and its RSA private key: an administrator \
             creates it at {base}/plugins/servlet/applinks/listApplicationLinks{}.",
            if method == Method::Oauth1Impersonation {
                " and allows user impersonation for it"
            } else {
                ""
            }
        ),
        Method::DcOauth2 => format!(
            "You need an incoming OAuth 2.0 link (client id and secret) with the redirect URL \
             http://127.0.0.1:8976/callback: an administrator creates it at {base}/plugins/servlet/oauth2/consumers/list."
        ),
        _ => "Enter your Confluence username and password; cfl keeps the session it opens.".into(),
    }
}

pub(super) fn choose_method(a: &Options, dep: Deployment) -> crate::error::Result<Method> {
    let options: &[(Method, &str)] = if dep.is_cloud() {
        &[
            (Method::ApiToken, "API token (email + token; classic)"),
            (
                Method::ScopedToken,
                "Scoped API token (through api.atlassian.com)",
            ),
            (
                Method::Oauth2,
                "OAuth 2.0 app (browser consent; needs the app's client id and secret)",
            ),
            (
                Method::ClientCredentials,
                "Service account (OAuth 2.0 client credentials)",
            ),
        ]
    } else {
        &[
            (Method::Pat, "Personal access token (recommended)"),
            (
                Method::Oauth1,
                "OAuth 1.0a application link (browser approval; consumer key + private key)",
            ),
            (
                Method::Oauth1Impersonation,
                "OAuth 1.0a application link acting as a user (admins, service accounts)",
            ),
            (
                Method::DcOauth2,
                "OAuth 2.0 incoming link (browser consent, PKCE)",
            ),
            (
                Method::Cookie,
                "Session cookie (username and password, one login)",
            ),
            (Method::Basic, "Username and password (legacy)"),
        ]
    };
    say!(
        a,
        "This is Confluence {}. How do you want to log in?",
        if dep.is_cloud() {
            "Cloud"
        } else {
            "Data Center"
        }
    );
    for (i, (_, label)) in options.iter().enumerate() {
        say!(a, "  {}. {label}", i + 1);
    }
    let answer = a.ui.ask("Choice [1]: ")?;
    let idx = if answer.is_empty() {
        1
    } else {
        answer.parse::<usize>().unwrap_or(0)
    };
    options
        .get(idx.wrapping_sub(1))
        .map(|(m, _)| *m)
        .with_context(|| format!("{answer:?} is not one of the choices"))
}
