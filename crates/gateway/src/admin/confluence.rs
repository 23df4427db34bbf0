//! Admins who sign in with their own Confluence credentials (what Extender's scripts send): the
//! gateway asks Confluence who they are (`/rest/api/user/current`, which must not be anonymous)
//! and whether they are in an admin group (`/rest/api/user/memberof`). A yes is remembered for a
//! minute, keyed by a hash of the credentials, so scripts don't cost two upstream calls each.

use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use serde_json::Value;

use crate::secret::SecretHash;
use crate::state::Shared;

const REMEMBER: Duration = Duration::from_secs(60);

/// The Confluence username behind `authorization` if Confluence says it is an admin.
pub async fn confluence_admin(
    gw: &Shared,
    authorization: &HeaderValue,
) -> anyhow::Result<Option<String>> {
    let key = SecretHash::of(authorization.to_str().unwrap_or_default()).0;
    {
        let mut known = gw
            .admin_cache
            .known
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        known.retain(|_, (_, at)| at.elapsed() < REMEMBER);
        if let Some((user, _)) = known.get(&key) {
            return Ok(Some(user.clone()));
        }
    }
    let base = &gw.upstream.base;
    let client = &gw.upstream.client;
    let me = client
        .get(format!("{base}/rest/api/user/current"))
        .header("authorization", authorization.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    if !me.status().is_success() {
        return Ok(None);
    }
    let me: Value = me.json().await.unwrap_or_default();
    // An anonymous answer (Cloud, or DC with anonymous access) proves nothing.
    if me["type"] != "known" {
        return Ok(None);
    }
    let (param, id) = match (me["username"].as_str(), me["accountId"].as_str()) {
        (Some(u), _) => ("username", u.to_string()),
        (None, Some(a)) => ("accountId", a.to_string()),
        _ => return Ok(None),
    };
    let groups: Value = client
        .get(format!("{base}/rest/api/user/memberof"))
        .query(&[(param, id.as_str()), ("limit", "200")])
        .header("authorization", authorization.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await?
        .json()
        .await
        .unwrap_or_default();
    let wanted = &gw.config.admin.confluence_admin_groups;
    let is_admin = groups["results"].as_array().is_some_and(|gs| {
        gs.iter().any(|g| {
            g["name"]
                .as_str()
                .is_some_and(|n| wanted.iter().any(|w| w == n))
        })
    });
    if !is_admin {
        return Ok(None);
    }
    let name = me["username"]
        .as_str()
        .or(me["displayName"].as_str())
        .unwrap_or(&id)
        .to_string();
    gw.admin_cache
        .known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (name.clone(), Instant::now()));
    Ok(Some(name))
}
