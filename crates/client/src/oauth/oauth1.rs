//! OAuth 1.0a (RSA-SHA1, Data Center application links) for the client: the three legs of the
//! interactive flow (request token → user approval → access token), the two-legged
//! impersonation URL (`xoauth_requestor_id`), and what an `oauth_problem` means for the user.
//! Signing itself is `cfl_auth::oauth1` — the same code the gateway and the simulator use.

use cfl_auth::oauth1::{Consumer, RequestParts, TokenParams, REQUESTOR_ID};
use cfl_auth::percent;
use url::Url;

use crate::error::{Error, Result};

/// The consumer from its key and the PEM contents of its private key.
pub fn consumer(key: &str, pem: &str) -> Result<Consumer> {
    Consumer::from_pem(key, pem).map_err(|e| {
        Error::Invalid(format!(
            "the private key is not a PKCS#8 or PKCS#1 RSA key in PEM form ({e})"
        ))
    })
}

fn join(site: &str, path: &str) -> String {
    format!(
        "{}/{}",
        site.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `oauth_problem` from a refusal: the `WWW-Authenticate` header or the form body.
pub fn problem(www_authenticate: Option<&str>, body: &str) -> Option<String> {
    if let Some(h) = www_authenticate {
        if let Some(i) = h.find("oauth_problem=\"") {
            let rest = &h[i + 15..];
            return rest.split('"').next().map(str::to_string);
        }
    }
    percent::parse_form(body)
        .into_iter()
        .find(|(k, _)| k == "oauth_problem")
        .map(|(_, v)| v)
}

/// A sentence for an `oauth_problem`, with what to change on the application link or locally.
pub fn explain_problem(problem: &str, consumer_key: &str) -> String {
    match problem {
        "consumer_key_unknown" => format!(
            "Confluence has no application link with consumer key {consumer_key:?}; check --consumer-key \
             (Administration → Application links → the link → Incoming authentication)"
        ),
        "signature_invalid" => "the signature does not verify: the private key does not match the public key \
             stored in the application link (or a proxy changed the URL)"
            .to_string(),
        "permission_denied" => {
            "the application link does not allow this: for acting as a user, enable \"Allow user \
             impersonation through 2-legged OAuth\" on the link (and 2-legged OAuth itself)"
                .to_string()
        }
        "user_refused" => {
            "Confluence will not act as that user: the account does not exist or may not log in (check --as / --for)"
                .to_string()
        }
        "timestamp_refused" => {
            "the request's timestamp was refused: this machine's clock is off; sync it (NTP)".into()
        }
        "token_rejected" | "token_expired" => {
            "the OAuth token was refused (revoked, expired or unknown); log in again".into()
        }
        other => format!("Confluence refused the OAuth request ({other})"),
    }
}

async fn signed_post(
    http: &reqwest::Client,
    url: &str,
    consumer: &Consumer,
    token: TokenParams<'_>,
) -> Result<Vec<(String, String)>> {
    let auth = consumer
        .authorization_now(&RequestParts::new("POST", url), token)
        .map_err(|e| Error::Request(format!("cannot sign the request: {e}")))?;
    let resp = http
        .post(url)
        .header("Authorization", auth)
        .header("X-Atlassian-Token", "no-check")
        .send()
        .await
        .map_err(|e| Error::transport(format!("cannot reach {url}"), e))?;
    let status = resp.status();
    let www = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let why = problem(www.as_deref(), &body)
            .map(|p| explain_problem(&p, consumer.key()))
            .unwrap_or_else(|| "no oauth_problem given".into());
        return Err(Error::Request(format!(
            "POST {url} answered {status}: {why}"
        )));
    }
    Ok(percent::parse_form(&body))
}

fn field(pairs: &[(String, String)], name: &str, url: &str) -> Result<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::Request(format!("{url} answered without {name}")))
}

/// Leg 1: a request token for `callback` (a loopback URL, or `oob` to paste the verifier).
pub async fn request_token(
    http: &reqwest::Client,
    site: &str,
    consumer: &Consumer,
    callback: &str,
) -> Result<String> {
    let url = join(site, "plugins/servlet/oauth/request-token");
    let pairs = signed_post(http, &url, consumer, TokenParams::RequestToken { callback }).await?;
    field(&pairs, "oauth_token", &url)
}

/// Leg 2: where the user approves the request token.
pub fn authorize_url(site: &str, request_token: &str) -> String {
    format!(
        "{}?oauth_token={}",
        join(site, "plugins/servlet/oauth/authorize"),
        percent::encode(request_token)
    )
}

/// Leg 3: the access token for an approved request token.
pub async fn access_token(
    http: &reqwest::Client,
    site: &str,
    consumer: &Consumer,
    request_token: &str,
    verifier: &str,
) -> Result<String> {
    let url = join(site, "plugins/servlet/oauth/access-token");
    let pairs = signed_post(
        http,
        &url,
        consumer,
        TokenParams::AccessToken {
            request_token,
            verifier,
        },
    )
    .await?;
    field(&pairs, "oauth_token", &url)
}

/// The URL with `xoauth_requestor_id=user` (added when absent). A URL that already names
/// another user is refused: a request must never run as someone the profile does not say.
pub fn requestor_url(url: &str, user: &str) -> Result<String> {
    let parsed = Url::parse(url).map_err(|e| Error::Invalid(format!("bad URL {url:?}: {e}")))?;
    let present: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k == REQUESTOR_ID || k == "user_id")
        .map(|(_, v)| v.into_owned())
        .collect();
    if present.is_empty() {
        return cfl_auth::oauth1::with_requestor_id(url, user)
            .map_err(|e| Error::Invalid(format!("cannot add {REQUESTOR_ID} to {url:?}: {e}")));
    }
    if present.iter().all(|p| p == user) {
        return Ok(url.to_string());
    }
    Err(Error::Invalid(format!(
        "the URL names another user in {REQUESTOR_ID} than the profile's ({user})"
    )))
}

/// The user a two-legged URL acts as, if it names one.
pub fn requestor_of(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find_map(|(k, v)| (k == REQUESTOR_ID || k == "user_id").then(|| v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requestor_is_added_once_and_never_replaced() {
        let u = requestor_url("http://h/rest/api/space?limit=5", "svc").unwrap();
        assert_eq!(u, "http://h/rest/api/space?limit=5&xoauth_requestor_id=svc");
        assert_eq!(requestor_url(&u, "svc").unwrap(), u);
        assert!(requestor_url(&u, "other").is_err());
        assert_eq!(requestor_of(&u).as_deref(), Some("svc"));
    }

    #[test]
    fn problems_are_read_from_header_or_body() {
        assert_eq!(
            problem(
                Some("OAuth realm=\"x\", oauth_problem=\"signature_invalid\""),
                ""
            )
            .as_deref(),
            Some("signature_invalid")
        );
        assert_eq!(
            problem(None, "oauth_problem=permission_denied&x=1").as_deref(),
            Some("permission_denied")
        );
        assert!(explain_problem("permission_denied", "k").contains("impersonation"));
    }
}
