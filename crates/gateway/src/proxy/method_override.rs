//! The method-override conventions (`_method` in a query or form, `X-HTTP-Method-Override`-style
//! headers) a gateway must refuse: they would make Confluence act on another method than the one
//! the token's rules checked. Shared by the header/query/form checks in `forward` and the
//! multipart scan in `checks`.

use axum::http::StatusCode;

use super::refusal::Refusal;

/// The `_method` parameter of the Rails/Laravel/Symfony convention, in a query or a form body.
pub(crate) fn is_method_parameter(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("_method")
}

pub(crate) fn override_refusal(what: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "override_refused",
        format!(
            "{what} asks the server to use another method or URL than the request's, which the \
             token's rules did not check; send the real method and path instead"
        ),
    )
}
