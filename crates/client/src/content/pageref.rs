//! How a user names a page: an id (`123456`), a URL (Cloud `/wiki/spaces/KEY/pages/ID/Title`,
//! DC `/pages/viewpage.action?pageId=ID` or `/display/KEY/Title`), or `SPACE:Title`.
//! Parsing is pure; [`Content::resolve`] turns a title into an id with one lookup.

use url::Url;

use super::{query, segment, Api, Content, ContentError, V2};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRef {
    Id(String),
    Title { space: String, title: String },
}

const FORMS: &str = "a page id (123456), a page URL (…/wiki/spaces/KEY/pages/123456/…, \
                     …/pages/viewpage.action?pageId=123456, …/display/KEY/Title) or SPACE:Title";

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

fn valid_space_key(s: &str) -> bool {
    // Personal spaces are `~user`; global keys are letters and digits.
    !s.is_empty()
        && s.trim_start_matches('~')
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '@')
}

impl PageRef {
    pub fn parse(raw: &str) -> Result<PageRef, ContentError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(ContentError::Invalid(format!(
                "empty page reference; give {FORMS}"
            )));
        }
        if is_id(s) {
            return Ok(PageRef::Id(s.to_string()));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return from_url(s);
        }
        if let Some((space, title)) = s.split_once(':') {
            let (space, title) = (space.trim(), title.trim());
            if !valid_space_key(space) {
                return Err(ContentError::Invalid(format!(
                    "{raw:?}: {space:?} is not a space key; give {FORMS}"
                )));
            }
            if title.is_empty() {
                return Err(ContentError::Invalid(format!(
                    "{raw:?} names no title after the colon; give SPACE:Title"
                )));
            }
            return Ok(PageRef::Title {
                space: space.to_string(),
                title: title.to_string(),
            });
        }
        Err(ContentError::Invalid(format!(
            "cannot tell which page {raw:?} is; give {FORMS}"
        )))
    }
}

fn from_url(s: &str) -> Result<PageRef, ContentError> {
    let u = Url::parse(s)
        .map_err(|e| ContentError::Invalid(format!("{s:?} is not a valid URL ({e})")))?;
    if let Some((_, id)) = u.query_pairs().find(|(k, _)| k == "pageId") {
        return if is_id(&id) {
            Ok(PageRef::Id(id.into_owned()))
        } else {
            Err(ContentError::Invalid(format!(
                "{s:?}: pageId {id:?} is not a page id"
            )))
        };
    }
    let segs: Vec<String> = u
        .path_segments()
        .map(|p| {
            p.map(|seg| {
                percent_encoding::percent_decode_str(seg)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
        })
        .unwrap_or_default();
    // Cloud: …/spaces/KEY/pages/ID[/Title] (also …/pages/edit-v2/ID).
    if let Some(i) = segs.iter().position(|x| x == "pages") {
        if let Some(id) = segs[i + 1..].iter().take(2).find(|x| is_id(x)) {
            return Ok(PageRef::Id(id.clone()));
        }
    }
    // DC: …/display/KEY/Title, `+` for spaces in the title.
    if let Some(i) = segs.iter().position(|x| x == "display") {
        if let (Some(space), Some(title)) = (segs.get(i + 1), segs.get(i + 2)) {
            let title = title.replace('+', " ");
            if !title.trim().is_empty() && valid_space_key(space) {
                return Ok(PageRef::Title {
                    space: space.clone(),
                    title,
                });
            }
        }
    }
    if segs.iter().any(|x| x == "x") {
        return Err(ContentError::Invalid(format!(
            "{s:?} is a short link; open it in a browser and use the address it leads to, or the page id"
        )));
    }
    Err(ContentError::Invalid(format!(
        "cannot find a page in the URL {s:?}; give {FORMS}"
    )))
}

impl Content<'_> {
    /// The page id a reference names; a title costs one lookup in its space.
    pub async fn resolve(&self, r: &PageRef) -> crate::error::Result<String> {
        match r {
            PageRef::Id(id) => Ok(id.clone()),
            PageRef::Title { space, title } => {
                let path = match self.api {
                    Api::V1 => format!(
                        "/rest/api/content?{}",
                        query(&[("spaceKey", space), ("title", title), ("type", "page")])
                    ),
                    Api::CloudV2 => format!(
                        "{V2}/spaces/{}/pages?{}",
                        segment(&self.space_id(space).await?),
                        query(&[("title", title), ("status", "current")])
                    ),
                };
                let v = self.get_json(&path).await?;
                match v["results"].as_array().and_then(|a| a.first()) {
                    Some(p) => Ok(super::id_string(&p["id"])),
                    None => Err(ContentError::NotFound(format!(
                        "no page titled {title:?} in space {space} (titles are matched exactly; \
                         try `cfl search 'space = {space} and title ~ \"…\"'`)"
                    ))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PageRef {
        PageRef::Id(s.into())
    }
    fn title(k: &str, t: &str) -> PageRef {
        PageRef::Title {
            space: k.into(),
            title: t.into(),
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(PageRef::parse(" 123456 ").unwrap(), id("123456"));
        assert_eq!(
            PageRef::parse("DEV:Release notes").unwrap(),
            title("DEV", "Release notes")
        );
        assert_eq!(PageRef::parse("DEV:a:b").unwrap(), title("DEV", "a:b"));
        assert_eq!(
            PageRef::parse("~alice:Notes").unwrap(),
            title("~alice", "Notes")
        );
        assert_eq!(
            PageRef::parse("https://x.atlassian.net/wiki/spaces/DEV/pages/98765/Release+notes")
                .unwrap(),
            id("98765")
        );
        assert_eq!(
            PageRef::parse("https://x.atlassian.net/wiki/spaces/DEV/pages/edit-v2/98765").unwrap(),
            id("98765")
        );
        assert_eq!(
            PageRef::parse("https://wiki.example.com/confluence/pages/viewpage.action?pageId=42")
                .unwrap(),
            id("42")
        );
        assert_eq!(
            PageRef::parse("https://wiki.example.com/display/OPS/On+call%3A+how").unwrap(),
            title("OPS", "On call: how")
        );
    }

    #[test]
    fn refuses_what_it_cannot_place_and_says_the_forms() {
        for bad in ["", "Release notes", ":Title", "DEV:", "DEV X:Title"] {
            let e = PageRef::parse(bad).unwrap_err().to_string();
            assert!(!e.is_empty(), "{bad}");
        }
        let e = PageRef::parse("https://x.atlassian.net/wiki/x/AbCd")
            .unwrap_err()
            .to_string();
        assert!(e.contains("short link"), "{e}");
        let e = PageRef::parse("https://x/pages/viewpage.action?pageId=abc")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pageId"), "{e}");
        let e = PageRef::parse("https://x/somewhere")
            .unwrap_err()
            .to_string();
        assert!(e.contains("SPACE:Title"), "{e}");
        assert!(PageRef::parse("http://[bad").is_err());
    }
}
