//! The admin API's extractors: axum's `Json` and `Query`, whose rejections (plain text such as
//! `Failed to deserialize query string…`, or a bare 422) become the gateway's JSON
//! `{"error", "message"}` with a 4xx the OpenAPI description lists: 400 `invalid_json`,
//! 400 `invalid_query`, 400 `invalid_path`, 413 `body_too_large`, 415 `unsupported_media_type`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::proxy::refusal::Refusal;

/// A JSON body; see the module's documentation.
pub struct JsonBody<T>(pub T);

/// A query string; see the module's documentation.
pub struct QueryOf<T>(pub T);

/// Path parameters; see the module's documentation.
pub struct PathOf<T>(pub T);

pub fn json_refusal(rejection: JsonRejection) -> Refusal {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON, with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the request body is too large: {}", e.body_text()),
            )
        }
        other => Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "the request body is not what this endpoint takes: {}",
                other.body_text()
            ),
        ),
    }
}

pub fn query_refusal(rejection: QueryRejection) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!(
            "the query string is not what this endpoint takes: {}",
            rejection.body_text()
        ),
    )
}

pub fn path_refusal(rejection: PathRejection) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        format!(
            "the path is not what this endpoint takes: {}",
            rejection.body_text()
        ),
    )
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathOf<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(PathOf(v)),
            Err(rejection) => Err(path_refusal(rejection)),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_refusal(rejection)),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryOf<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryOf(v)),
            Err(rejection) => Err(query_refusal(rejection)),
        }
    }
}

/// A known path with a method it doesn't take.
pub async fn method_not_allowed() -> Refusal {
    Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this admin endpoint does not take that method (see /admin/v1/openapi.json)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::response::IntoResponse;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wanted {
        label: String,
    }

    async fn json_of(req: Request) -> (StatusCode, serde_json::Value) {
        let refusal = JsonBody::<Wanted>::from_request(req, &())
            .await
            .err()
            .unwrap();
        let resp = refusal.into_response();
        let status = resp.status();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn framework_rejections_are_the_gateways_json() {
        let wrong_type = Request::builder()
            .header("content-type", "text/plain")
            .body(Body::from("{}"))
            .unwrap();
        let (status, v) = json_of(wrong_type).await;
        assert_eq!(
            (status.as_u16(), v["error"].as_str()),
            (415, Some("unsupported_media_type"))
        );

        let missing_field = Request::builder()
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let (status, v) = json_of(missing_field).await;
        assert_eq!(
            (status.as_u16(), v["error"].as_str()),
            (400, Some("invalid_json")),
            "{v}"
        );
        assert!(v["message"].as_str().unwrap().contains("label"), "{v}");

        let mut parts = Request::builder()
            .uri("/x?limit=many")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Limit {
            limit: Option<u32>,
        }
        let refusal = QueryOf::<Limit>::from_request_parts(&mut parts, &())
            .await
            .err()
            .unwrap();
        assert_eq!(
            (refusal.status.as_u16(), refusal.code),
            (400, "invalid_query")
        );
    }
}
