//! OAuth 2.0 token endpoint calls: authorization code (+ PKCE), refresh (rotating refresh
//! tokens), client credentials; and Cloud's accessible-resources. Atlassian's Cloud endpoint takes
//! JSON bodies, the DC provider the RFC 6749 form; errors are turned into sentences that say which
//! part was refused, never echoing a secret.

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use crate::error::Refusal;
use crate::error::{Error, Result};

/// Where and how to ask for tokens.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub token_url: String,
    pub client_id: String,
    /// Cloud (`auth.atlassian.com`) takes JSON; the DC provider a form body.
    pub json: bool,
}

/// A token endpoint answer.
#[derive(Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

/// A PKCE pair (RFC 7636, S256): (verifier, challenge).
pub fn pkce() -> (String, String) {
    let verifier = super::random_urlsafe(48);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// POSTs one grant; `params` are the grant's own fields (grant_type, code, …).
pub async fn request(
    http: &reqwest::Client,
    ep: &Endpoint,
    client_secret: Option<&str>,
    params: &[(&str, &str)],
) -> Result<Tokens> {
    let mut fields: Vec<(&str, &str)> = params.to_vec();
    fields.push(("client_id", &ep.client_id));
    if let Some(s) = client_secret {
        fields.push(("client_secret", s));
    }
    let req = http
        .post(&ep.token_url)
        .header("Accept", "application/json");
    let req = if ep.json {
        let obj: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        req.json(&obj)
    } else {
        req.form(&fields)
    };
    let resp = req.send().await.map_err(|e| {
        Error::transport(
            format!("cannot reach the token endpoint {}", ep.token_url),
            e,
        )
    })?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = body["error"].as_str().unwrap_or("");
        let desc = body["error_description"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap_or("");
        let (refusal, why) = match code {
            "invalid_client" | "unauthorized_client" => (
                Refusal::Client,
                "the client id or client secret was refused — check them in the app's settings",
            ),
            "invalid_grant" => (
                Refusal::Grant,
                "the authorization code or refresh token was refused (expired, revoked, or already \
                 used: refresh tokens rotate on every use)",
            ),
            _ => (Refusal::Other, "the token request was refused"),
        };
        let mut message = format!("{} answered {status}: {why}", ep.token_url);
        if !code.is_empty() {
            message.push_str(&format!(" [{code}]"));
        }
        if !desc.is_empty() {
            message.push_str(&format!(": {desc}"));
        }
        return Err(Error::Grant { refusal, message });
    }
    let s = |k: &str| body[k].as_str().map(str::to_string);
    Ok(Tokens {
        access_token: s("access_token").filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::Request(format!("{} answered without an access_token", ep.token_url))
        })?,
        refresh_token: s("refresh_token").filter(|t| !t.is_empty()),
        expires_in: body["expires_in"]
            .as_i64()
            .or_else(|| body["expires_in"].as_str().and_then(|v| v.parse().ok())),
        scope: s("scope"),
    })
}

/// A site an OAuth 2.0 (3LO) token may reach.
#[derive(Clone, Debug)]
pub struct Resource {
    pub id: String,
    pub url: String,
    pub name: String,
}

/// `GET {gateway}/oauth/token/accessible-resources`.
pub async fn accessible_resources(
    http: &reqwest::Client,
    gateway: &str,
    access_token: &str,
) -> Result<Vec<Resource>> {
    let url = format!(
        "{}/oauth/token/accessible-resources",
        gateway.trim_end_matches('/')
    );
    let resp = http
        .get(&url)
        .bearer_auth(access_token)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| Error::transport(format!("cannot reach {url}"), e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::Request(format!(
            "GET {url} answered {status}: cannot list the sites this app may reach"
        )));
    }
    let v: Value = resp
        .json()
        .await
        .map_err(|e| Error::transport("accessible-resources is not JSON", e))?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some(Resource {
                        id: r["id"].as_str()?.to_string(),
                        url: r["url"].as_str().unwrap_or("").to_string(),
                        name: r["name"].as_str().unwrap_or("").to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_challenge_is_s256_of_verifier() {
        use base64::Engine;
        use sha2::Digest;
        let (v, c) = super::pkce();
        assert!(v.len() >= 43 && v.len() <= 128, "RFC 7636 length");
        let expect = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(v.as_bytes()));
        assert_eq!(c, expect);
        assert_ne!(super::pkce().0, v);
    }
}
