//! OAuth 1.0a provider (DC application links, RSA-SHA1): checks signed requests for the auth
//! layer, and serves the three-legged flow (see [`flow`]).
//!
//! Checks run in the order Atlassian's filter reports them: header syntax and required
//! parameters, consumer, timestamp window, signature, nonce, then the token (three-legged access
//! token, or two-legged with optional `xoauth_requestor_id` impersonation). Every failure is a
//! 401 (400 for malformed requests) with `WWW-Authenticate: OAuth realm="<base url>",
//! oauth_problem="..."` and a form-encoded `oauth_problem=...` body.

mod check;
mod flow;
mod store;

use check::{check_signed, problem, Checked, MAX_FORM_BODY};
pub use store::Store;
use store::{hash, random_token, AccessToken, RequestToken};

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::{header, HeaderMap, StatusCode};
use cfl_auth::oauth1::{self, Problem};

use crate::auth::caller::{AuthMethod, Caller};
use crate::error::ApiResult;
use crate::Shared;

pub use flow::routes;

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
    use crate::config::OAuth1ConsumerConfig;
    use crate::{SimConfig, SimState};
    use cfl_auth::oauth1::{Consumer, RequestParts, TokenParams};

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
