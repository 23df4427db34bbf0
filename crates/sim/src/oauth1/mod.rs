//! OAuth 1.0a provider (DC application links, RSA-SHA1): checks signed requests for the auth
//! layer, and serves the three-legged flow (see [`flow`]).
//!
//! Checks run in the order Atlassian's filter reports them: header syntax and required
//! parameters, consumer, timestamp window, signature, nonce, then the token (three-legged access
//! token, or two-legged with optional `xoauth_requestor_id` impersonation). Every failure is a
//! 401 (400 for malformed requests) with `WWW-Authenticate: OAuth realm="<base url>",
//! oauth_problem="..."` and a form-encoded `oauth_problem=...` body.

mod flow;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderMap, StatusCode};
use cfl_auth::oauth1::{
    self, AuthorizationHeader, Problem, ProtocolParams, PublicKey, RequestParts,
};
use sha2::{Digest, Sha256};

use crate::auth::caller::{AuthMethod, Caller};
use crate::config::OAuth1ConsumerConfig;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

pub use flow::routes;

/// Largest form body buffered to check its signature (bigger form posts are refused).
const MAX_FORM_BODY: usize = 1024 * 1024;

/// Issued OAuth 1.0a credentials and seen nonces. Tokens are keyed by their SHA-256, so the
/// store never holds a usable token; token secrets are not kept at all (RSA-SHA1 ignores them).
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    request_tokens: HashMap<String, RequestToken>,
    access_tokens: HashMap<String, AccessToken>,
    /// consumer key → nonce → its timestamp.
    nonces: HashMap<String, HashMap<String, i64>>,
    /// Parsed consumer public keys (parsed once, on first use).
    keys: HashMap<String, PublicKey>,
}

struct RequestToken {
    consumer: String,
    callback: String,
    issued_ms: i64,
    /// Set when a user approves: (username, hashed verifier).
    approval: Option<(String, String)>,
}

struct AccessToken {
    consumer: String,
    user: String,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn hash(secret: &str) -> String {
    crate::model::hex(&Sha256::digest(secret.as_bytes()))
}

/// A random credential: 32 alphanumeric characters.
fn random_token() -> String {
    oauth1::generate_nonce()
}

/// Where the simulator is, as the client addressed it: `http://HOST[:PORT]` from the Host header.
fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// The realm in `WWW-Authenticate`: the base URL (context path included).
fn realm(state: &Shared, headers: &HeaderMap) -> String {
    let origin = origin(headers).unwrap_or_else(|| "http://localhost".into());
    format!("{origin}{}", state.config.context_path)
}

/// An OAuth 1.0a failure with the header and body Atlassian sends.
fn problem(
    state: &Shared,
    headers: &HeaderMap,
    problem: Problem,
    message: impl Into<String>,
) -> ApiError {
    let status = StatusCode::from_u16(problem.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
    ApiError::new(status, ErrorStyle::OAuth1, message)
        .with_code(problem.as_str())
        .with_header(
            "www-authenticate",
            format!(
                "OAuth realm=\"{}\", oauth_problem=\"{}\"",
                realm(state, headers),
                problem.as_str()
            ),
        )
}

/// A request whose signature, timestamp and nonce have been checked.
struct Checked {
    params: ProtocolParams,
    /// Query and form parameters (where `xoauth_requestor_id` lives).
    request_params: Vec<(String, String)>,
    consumer: OAuth1ConsumerConfig,
}

/// Verifies a signed request: everything but the token. `path_and_query` is the path the
/// client used (context path included).
fn check_signed(
    state: &Shared,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    form_body: Option<&str>,
) -> ApiResult<Checked> {
    let fail = |p: Problem, m: String| problem(state, headers, p, m);
    let from_auth = |e: oauth1::Error| problem(state, headers, e.problem(), e.to_string());
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            fail(
                Problem::ParameterAbsent,
                "an OAuth Authorization header is required".into(),
            )
        })?;
    let header = AuthorizationHeader::parse(authz).map_err(from_auth)?;
    let params = ProtocolParams::from_header(&header).map_err(from_auth)?;
    let consumer = state
        .config
        .oauth1_consumers
        .iter()
        .find(|c| c.key == params.consumer_key)
        .cloned()
        .ok_or_else(|| {
            fail(
                Problem::ConsumerKeyUnknown,
                format!("unknown consumer key {:?}", params.consumer_key),
            )
        })?;
    let now = state.clock.now_secs();
    let skew = state.config.tokens.oauth1_timestamp_skew_seconds as i64;
    if (params.timestamp - now).abs() > skew {
        return Err(fail(
            Problem::TimestampRefused,
            format!("timestamp is more than {skew} seconds away from the server time {now}"),
        ));
    }
    let key = public_key(state, &consumer).map_err(from_auth)?;
    let Some(origin) = origin(headers) else {
        return Err(fail(
            Problem::ParameterRejected,
            "a Host header is needed to check the signature".into(),
        ));
    };
    let url = format!("{origin}{path_and_query}");
    let req = RequestParts {
        method,
        url: &url,
        form_body,
    };
    oauth1::verify(&key, &req, &header).map_err(from_auth)?;
    remember_nonce(state, &consumer.key, &params, now, skew)
        .map_err(|m| fail(Problem::NonceUsed, m))?;
    let request_params = oauth1::request_parameters(&req).map_err(from_auth)?;
    Ok(Checked {
        params,
        request_params,
        consumer,
    })
}

fn public_key(state: &Shared, consumer: &OAuth1ConsumerConfig) -> Result<PublicKey, oauth1::Error> {
    let mut inner = state.auth.oauth1.lock();
    if let Some(k) = inner.keys.get(&consumer.key) {
        return Ok(k.clone());
    }
    let pem = consumer.public_key_pem.as_deref().unwrap_or_default();
    let key = PublicKey::from_pem(pem)?;
    inner.keys.insert(consumer.key.clone(), key.clone());
    Ok(key)
}

/// Records the nonce; a nonce already seen for this consumer inside the window is a replay.
/// Entries outside the window are dropped: their timestamps would be refused anyway.
fn remember_nonce(
    state: &Shared,
    consumer: &str,
    params: &ProtocolParams,
    now: i64,
    skew: i64,
) -> Result<(), String> {
    let mut inner = state.auth.oauth1.lock();
    let seen = inner.nonces.entry(consumer.to_string()).or_default();
    seen.retain(|_, ts| (*ts - now).abs() <= skew);
    if seen.contains_key(&params.nonce) {
        return Err("this nonce was already used".into());
    }
    seen.insert(params.nonce.clone(), params.timestamp);
    Ok(())
}

/// The hook the auth layer calls for `Authorization: OAuth ...` on REST routes.
///
/// A form-encoded body is buffered (up to 1 MiB) because its parameters are signed, then put back
/// for the handler.
pub async fn authenticate_request(state: &Shared, req: &mut Request) -> ApiResult<Caller> {
    let path_and_query = req
        .extensions()
        .get::<OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(req.uri())
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(oauth1::is_form_content_type);
    let form_body = if is_form {
        let body = std::mem::replace(req.body_mut(), Body::empty());
        let bytes = axum::body::to_bytes(body, MAX_FORM_BODY)
            .await
            .map_err(|_| {
                let mut e = problem(
                    state,
                    req.headers(),
                    Problem::ParameterRejected,
                    format!("form bodies over {MAX_FORM_BODY} bytes are not accepted"),
                );
                e.status = StatusCode::PAYLOAD_TOO_LARGE;
                e
            })?;
        *req.body_mut() = Body::from(bytes.clone());
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    };
    let method = req.method().as_str().to_string();
    let checked = check_signed(
        state,
        &method,
        &path_and_query,
        req.headers(),
        form_body.as_deref(),
    )?;
    caller_for(state, req.headers(), checked)
}

/// Decides who a verified request runs as.
fn caller_for(state: &Shared, headers: &HeaderMap, checked: Checked) -> ApiResult<Caller> {
    let fail = |p: Problem, m: String| problem(state, headers, p, m);
    let consumer = &checked.consumer;
    let rate_key = |user: &str| format!("oauth1:{}:{user}", consumer.key);
    let token = checked.params.token.as_deref().unwrap_or("");
    if !token.is_empty() {
        let inner = state.auth.oauth1.lock();
        return match inner.access_tokens.get(&hash(token)) {
            Some(t) if t.consumer == consumer.key => {
                Ok(Caller::user(&t.user, AuthMethod::OAuth1, rate_key(&t.user)))
            }
            _ => Err(fail(
                Problem::TokenRejected,
                "the access token is unknown or was issued to another consumer".into(),
            )),
        };
    }
    // Two-legged (oauth_token empty, or absent as some 2LO clients send it).
    if !consumer.allow_2lo {
        return Err(fail(
            Problem::PermissionDenied,
            format!("consumer {:?} may not make 2-legged requests", consumer.key),
        ));
    }
    let requestor = ["xoauth_requestor_id", "user_id"].iter().find_map(|name| {
        checked
            .request_params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    });
    let run_as = match requestor {
        Some(user) => {
            if !consumer.allow_impersonation {
                return Err(fail(
                    Problem::PermissionDenied,
                    format!("consumer {:?} may not impersonate users", consumer.key),
                ));
            }
            user
        }
        None => match &consumer.executing_2lo_user {
            Some(user) => user.clone(),
            None => {
                let mut c = Caller::anonymous(format!("oauth1:{}", consumer.key));
                c.method = AuthMethod::OAuth1;
                return Ok(c);
            }
        },
    };
    let db = state.db();
    match db.user_by_name(&run_as) {
        // Passwordless users can be impersonated: no password is involved in 2LO.
        Some(u) => Ok(Caller::user(&u.name, AuthMethod::OAuth1, rate_key(&u.name))),
        None => Err(fail(
            Problem::UserRefused,
            format!("user {run_as:?} does not exist"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimConfig, SimState};
    use cfl_auth::oauth1::{Consumer, TokenParams};

    const KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");
    const PUB: &str = include_str!("../../../../examples/keys/demo-consumer.pub.pem");
    const URL: &str = "/rest/api/x?xoauth_requestor_id=alice";

    fn state() -> Shared {
        let mut c = SimConfig::parse(
            "flavor = \"dc\"\n[[users]]\nname = \"alice\"\ndisplay_name = \"A\"\nemail = \"a@x\"\n",
        )
        .unwrap();
        c.oauth1_consumers.push(OAuth1ConsumerConfig {
            key: "k".into(),
            public_key_file: None,
            public_key_pem: Some(PUB.into()),
            allow_2lo: true,
            allow_impersonation: true,
            executing_2lo_user: None,
            callback: None,
        });
        SimState::new(c)
    }

    fn form_request(signed_body: &str, sent_body: Body) -> Request {
        let consumer = Consumer::from_pem("k", KEY).unwrap();
        let url = format!("http://sim.test{URL}");
        let authz = consumer
            .authorization_now(
                &RequestParts::new("POST", &url).with_form_body(signed_body),
                TokenParams::TwoLegged,
            )
            .unwrap();
        Request::builder()
            .method("POST")
            .uri(URL)
            .header("host", "sim.test")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", authz)
            .body(sent_body)
            .unwrap()
    }

    #[tokio::test]
    async fn form_body_is_verified_and_handed_back_to_the_handler() {
        let state = state();
        let body = "a=1&b=two+words";
        let mut req = form_request(body, Body::from(body));
        let caller = authenticate_request(&state, &mut req).await.unwrap();
        assert_eq!(caller.user.as_deref(), Some("alice"));
        assert_eq!(caller.method, AuthMethod::OAuth1);
        let back = axum::body::to_bytes(std::mem::take(req.body_mut()), 1024)
            .await
            .unwrap();
        assert_eq!(&back[..], body.as_bytes());
    }

    #[tokio::test]
    async fn oversized_form_body_is_refused() {
        let state = state();
        let big = "a=".to_string() + &"x".repeat(MAX_FORM_BODY);
        let mut req = form_request("a=1", Body::from(big));
        let err = authenticate_request(&state, &mut req).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
