//! The JSON body every refusal carries: `{"error": CODE, "message": TEXT}`. The code is stable
//! for scripts; the message says what was wrong and how to fix it. Nothing is forwarded upstream.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` challenge of a 401 (Basic for the proxy, so curl users are asked
    /// for USER:TOKEN; Bearer for the admin API, which browsers don't turn into a login prompt).
    pub challenge: &'static str,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
            retry_after: None,
            challenge: "Basic realm=\"cfl gateway\"",
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::FORBIDDEN, code, message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert("www-authenticate", HeaderValue::from_static(self.challenge));
        }
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(s));
        }
        resp
    }
}
