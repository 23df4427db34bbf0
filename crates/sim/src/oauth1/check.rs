//! Checking a signed request: the signature, the consumer's key, the timestamp and nonce, and
//! the `oauth_problem` answer when something is wrong.

use axum::http::{header, HeaderMap, StatusCode};
use cfl_auth::oauth1::{
    self, AuthorizationHeader, Problem, ProtocolParams, PublicKey, RequestParts,
};

use crate::config::OAuth1ConsumerConfig;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

/// Largest form body buffered to check its signature (bigger form posts are refused).
pub(super) const MAX_FORM_BODY: usize = 1024 * 1024;

/// Where the simulator is, as the client addressed it: `http://HOST[:PORT]` from the Host header.
pub(super) fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

/// The realm in `WWW-Authenticate`: the base URL (context path included).
pub(super) fn realm(state: &Shared, headers: &HeaderMap) -> String {
    let origin = origin(headers).unwrap_or_else(|| "http://localhost".into());
    format!("{origin}{}", state.config.context_path)
}

/// An OAuth 1.0a failure with the header and body Atlassian sends.
pub(super) fn problem(
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
pub(super) struct Checked {
    pub(super) params: ProtocolParams,
    /// Query and form parameters (where `xoauth_requestor_id` lives).
    pub(super) request_params: Vec<(String, String)>,
    pub(super) consumer: OAuth1ConsumerConfig,
}

/// Verifies a signed request: everything but the token. `path_and_query` is the path the
/// client used (context path included).
pub(super) fn check_signed(
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

pub(super) fn public_key(
    state: &Shared,
    consumer: &OAuth1ConsumerConfig,
) -> Result<PublicKey, oauth1::Error> {
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
pub(super) fn remember_nonce(
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
