//! Confluence's error bodies, one shape per API family, so clients are tested against the real ones.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// Which body an error is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// REST v1 (Cloud `/wiki/rest/api`, DC `/rest/api`):
    /// `{"statusCode", "data": {...}, "message", "reason"}`.
    V1,
    /// Cloud REST v2: `{"errors": [{"status", "code", "title", "detail"}]}`.
    V2,
    /// DC PAT API: `{"exception": ..., "error": ...}`.
    Pat,
    /// OAuth 2.0 token endpoints: `{"error", "error_description"}` (RFC 6749 §5.2).
    OAuth2,
    /// OAuth 1.0a: form-encoded `oauth_problem=...` with a `WWW-Authenticate: OAuth` header.
    OAuth1,
    /// Plain `{"message"}` JSON (rate limiting, gateway-level errors).
    Message,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub style: ErrorStyle,
    pub message: String,
    /// Machine-readable code: v2 `code`, OAuth2 `error`, OAuth1 `oauth_problem`, PAT `exception`.
    pub code: Option<String>,
    /// Extra response headers (a Vec, not a HeaderMap, to keep `Result<_, ApiError>` small).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            style,
            message: message.into(),
            code: None,
            headers: Vec::new(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> ApiError {
        self.code = Some(code.into());
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl AsRef<str>) -> ApiError {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.push((HeaderName::from_static(name), v));
        }
        self
    }

    pub fn not_found(style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, style, message)
    }

    pub fn bad_request(style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, style, message)
    }

    pub fn forbidden(style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, style, message)
    }

    pub fn unauthorized(style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, style, message)
    }

    pub fn conflict(style: ErrorStyle, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, style, message)
    }

    fn body(&self) -> (Value, &'static str) {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        match self.style {
            ErrorStyle::V1 => (
                json!({
                    "statusCode": self.status.as_u16(),
                    "data": {
                        "authorized": self.status != StatusCode::UNAUTHORIZED && self.status != StatusCode::FORBIDDEN,
                        "valid": self.status != StatusCode::BAD_REQUEST,
                        "allowedInReadOnlyMode": true,
                        "errors": [],
                        "successful": false
                    },
                    "message": self.message,
                    "reason": reason,
                }),
                "application/json",
            ),
            ErrorStyle::V2 => {
                let code = self
                    .code
                    .clone()
                    .unwrap_or_else(|| reason.to_ascii_uppercase().replace(' ', "_"));
                (
                    json!({"errors": [{
                        "status": self.status.as_u16(),
                        "code": code,
                        "title": self.message,
                        "detail": Value::Null,
                    }]}),
                    "application/json",
                )
            }
            ErrorStyle::Pat => (
                json!({
                    "exception": self.code.clone().unwrap_or_else(|| "com.atlassian.pats.rest.exception".into()),
                    "error": self.message,
                }),
                "application/json",
            ),
            ErrorStyle::OAuth2 => (
                json!({
                    "error": self.code.clone().unwrap_or_else(|| "invalid_request".into()),
                    "error_description": self.message,
                }),
                "application/json",
            ),
            ErrorStyle::OAuth1 => (Value::Null, "application/x-www-form-urlencoded"),
            ErrorStyle::Message => (json!({"message": self.message}), "application/json"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (body, content_type) = self.body();
        let text = if self.style == ErrorStyle::OAuth1 {
            format!(
                "oauth_problem={}&oauth_problem_advice={}",
                self.code.as_deref().unwrap_or("signature_invalid"),
                percent_encoding::utf8_percent_encode(
                    &self.message,
                    percent_encoding::NON_ALPHANUMERIC
                )
            )
        } else {
            body.to_string()
        };
        let mut resp = (self.status, text).into_response();
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static(content_type));
        for (k, v) in self.headers {
            resp.headers_mut().insert(k, v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
