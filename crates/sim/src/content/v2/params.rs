//! Reading v2 requests: ids, paging, `body-format` and the v2 error for a bad parameter.

use crate::content::pagination::V2Page;
use crate::content::query::q;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::ContentId;
use serde_json::Value;

pub(super) const S: ErrorStyle = ErrorStyle::V2;

pub(crate) fn bad_param(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(S, m).with_code("INVALID_REQUEST_PARAMETER")
}

pub(crate) fn numeric_id(raw: &str) -> ApiResult<u64> {
    raw.trim_start_matches("att")
        .parse()
        .map_err(|_| bad_param(format!("Invalid id: {raw:?}")))
}

/// `body-format`: only `storage` is served; absent means no body.
pub(super) fn body_format(pairs: &[(String, String)]) -> ApiResult<bool> {
    match q(pairs, "body-format") {
        None | Some("") => Ok(false),
        Some("storage") => Ok(true),
        Some(other) => Err(bad_param(format!(
            "body-format {other:?} is not supported by cfl sim; use storage"
        ))),
    }
}

pub(crate) fn paging(pairs: &[(String, String)], default: usize) -> ApiResult<V2Page> {
    V2Page::parse(q(pairs, "cursor"), q(pairs, "limit"), default)
}

pub(crate) fn page_id(raw: &str) -> ApiResult<ContentId> {
    raw.parse()
        .map_err(|_| bad_param(format!("Invalid page id: {raw:?}")))
}

pub(crate) fn opt_id(v: &Value, field: &str) -> ApiResult<Option<ContentId>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| bad_param(format!("Invalid {field}: {s:?}"))),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad_param(format!("Invalid {field}"))),
        Some(_) => Err(bad_param(format!("Invalid {field}"))),
    }
}
