//! The gateway's own origin as a browser sees it: its TLS, the configured `redirect_url`, or what
//! a trusted TLS-terminating proxy says (`peer::forwarded_origin`).

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

use crate::peer::forwarded_origin;
use crate::state::Shared;

/// Whether the gateway is served over HTTPS (its own TLS, a public https redirect URL, or a
/// trusted TLS-terminating proxy's `X-Forwarded-Proto: https`): cookies are then `Secure`.
pub fn served_over_https(gw: &Shared, peer: IpAddr, headers: &HeaderMap) -> bool {
    gw.config.tls.is_some()
        || configured_origin(gw).is_some_and(|u| u.starts_with("https://"))
        || forwarded_origin(gw, peer, headers).https == Some(true)
}

/// The gateway's own origin (`scheme://host[:port]`): from `redirect_url` when configured, else
/// from the request's `Host` (and a trusted proxy's `X-Forwarded-Proto`/`-Host`).
pub fn own_origin(gw: &Shared, peer: IpAddr, headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = configured_origin(gw) {
        return Some(origin);
    }
    let forwarded = forwarded_origin(gw, peer, headers);
    let host = match forwarded.host {
        Some(h) => h,
        None => headers.get(header::HOST)?.to_str().ok()?.to_string(),
    };
    let https = forwarded.https.unwrap_or(gw.config.tls.is_some());
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// The origin of the configured `redirect_url`.
fn configured_origin(gw: &Shared) -> Option<String> {
    let url = gw.config.admin.oidc.as_ref()?.redirect_url.as_deref()?;
    Some(url::Url::parse(url).ok()?.origin().ascii_serialization())
}
