//! Following result pages: v2's `Link: <…>; rel="next"` header and `_links.next` in v1 and v2
//! bodies. Next links are relative to the site (v2: `/wiki/api/v2/…`) or to the API base (v1:
//! `/rest/api/…`); both are mapped onto the profile's API base, so the scoped gateway works too.

use url::Url;

/// The `rel="next"` target of a `Link` header.
pub fn link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            p.trim()
                .replace(' ', "")
                .eq_ignore_ascii_case("rel=\"next\"")
                || p.trim().eq_ignore_ascii_case("rel=next")
        });
        is_next.then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// The next page's link from a response, if any: the `Link` header first, then `_links.next`.
pub fn next_link(link_header: Option<&str>, body: &serde_json::Value) -> Option<String> {
    link_header
        .and_then(link_next)
        .or_else(|| body["_links"]["next"].as_str().map(str::to_string))
        .filter(|s| !s.is_empty())
}

/// Maps a next link onto the API base: absolute URLs stay; `/wiki/…` site paths and paths that
/// already carry the base's path go on the base's origin; other paths are relative to the base.
pub fn resolve(api_base: &Url, next: &str) -> String {
    if next.starts_with("http://") || next.starts_with("https://") {
        return next.to_string();
    }
    let origin = api_base.origin().ascii_serialization();
    let bp = api_base.path().trim_end_matches('/');
    let next_path = if next.starts_with('/') {
        next.to_string()
    } else {
        format!("/{next}")
    };
    if !bp.is_empty() && (next_path.starts_with(&format!("{bp}/")) || next_path == bp) {
        return format!("{origin}{next_path}");
    }
    if let Some(prefix) = bp.strip_suffix("/wiki") {
        if next_path.starts_with("/wiki/") {
            return format!("{origin}{prefix}{next_path}");
        }
    }
    format!("{origin}{bp}{next_path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_resolves_next_links() {
        let h = r#"</wiki/api/v2/pages?cursor=abc>; rel="next", </wiki/api/v2/pages>; rel="base""#;
        assert_eq!(
            link_next(h).as_deref(),
            Some("/wiki/api/v2/pages?cursor=abc")
        );
        assert_eq!(link_next(r#"</x>; rel="prev""#), None);
        let body = serde_json::json!({"_links": {"next": "/rest/api/space?start=25"}});
        assert_eq!(
            next_link(None, &body).as_deref(),
            Some("/rest/api/space?start=25")
        );
        assert_eq!(next_link(None, &serde_json::json!({"results": []})), None);

        let site = Url::parse("https://a.atlassian.net/wiki").unwrap();
        assert_eq!(
            resolve(&site, "/rest/api/space?start=25"),
            "https://a.atlassian.net/wiki/rest/api/space?start=25"
        );
        assert_eq!(
            resolve(&site, "/wiki/api/v2/pages?cursor=c"),
            "https://a.atlassian.net/wiki/api/v2/pages?cursor=c"
        );
        let gw = Url::parse("https://api.atlassian.com/ex/confluence/ID/wiki").unwrap();
        assert_eq!(
            resolve(&gw, "/wiki/api/v2/pages?cursor=c"),
            "https://api.atlassian.com/ex/confluence/ID/wiki/api/v2/pages?cursor=c"
        );
        assert_eq!(
            resolve(&gw, "/rest/api/space?start=2"),
            "https://api.atlassian.com/ex/confluence/ID/wiki/rest/api/space?start=2"
        );
        let dc = Url::parse("http://h:8090/confluence").unwrap();
        assert_eq!(
            resolve(&dc, "/rest/api/space?start=2"),
            "http://h:8090/confluence/rest/api/space?start=2"
        );
        assert_eq!(
            resolve(&dc, "/confluence/rest/api/space?start=2"),
            "http://h:8090/confluence/rest/api/space?start=2"
        );
        let root = Url::parse("http://h:8090/").unwrap();
        assert_eq!(
            resolve(&root, "/rest/api/space?start=2"),
            "http://h:8090/rest/api/space?start=2"
        );
    }
}
