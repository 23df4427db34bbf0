//! Inline Confluence elements with a documented Markdown form, both directions:
//! - status lozenge ↔ `[TITLE](status:colour)` (`status:` alone when no colour is set,
//!   `status:colour;subtle` for the subtle style);
//! - user mention (`ac:link` + `ri:user`) ↔ `@[text](user:KIND:VALUE)`, KIND being `account-id`
//!   (Cloud), `userkey` or `username` (Data Center); `user:VALUE` alone is read as an account id
//!   when it looks like one, else as a username;
//! - emoticon ↔ `:name:` for Confluence's emoticon names (`:smile:`, `:tick:`, `:warning:` …).

use crate::dom::{text_of, Element, Node};
use crate::{escape_attr, escape_text};

pub(crate) const STATUS_SCHEME: &str = "status:";
pub(crate) const USER_SCHEME: &str = "user:";
const USER_KINDS: [&str; 3] = ["account-id", "userkey", "username"];

/// Confluence's emoticon names (`ac:emoticon ac:name`).
pub(crate) const EMOTICONS: [&str; 22] = [
    "smile",
    "sad",
    "cheeky",
    "laugh",
    "wink",
    "thumbs-up",
    "thumbs-down",
    "information",
    "tick",
    "cross",
    "warning",
    "plus",
    "minus",
    "question",
    "light-on",
    "light-off",
    "yellow-star",
    "red-star",
    "green-star",
    "blue-star",
    "heart",
    "broken-heart",
];

/// The emoticon name written as `:name:` at the start of `s`, if any.
pub(crate) fn emoticon_at(s: &str) -> Option<&'static str> {
    let rest = s.strip_prefix(':')?;
    EMOTICONS
        .iter()
        .find(|n| rest.starts_with(*n) && rest[n.len()..].starts_with(':'))
        .copied()
}

/// Text for storage, with `:name:` emoticons as `ac:emoticon`. `escaped`: the text's first
/// character was backslash-escaped in the Markdown (`\:smile:` stays text).
pub(crate) fn text_to_storage(t: &str, escaped: bool, out: &mut String) {
    let mut rest = t;
    let mut first = escaped;
    while let Some(i) = rest.find(':') {
        let literal = std::mem::take(&mut first) && i == 0;
        match emoticon_at(&rest[i..]).filter(|_| !literal) {
            Some(name) => {
                escape_text(&rest[..i], out);
                out.push_str(&format!("<ac:emoticon ac:name=\"{name}\" />"));
                rest = &rest[i + name.len() + 2..];
            }
            None => {
                escape_text(&rest[..=i], out);
                rest = &rest[i + 1..];
            }
        }
    }
    escape_text(rest, out);
}

/// The `:name:` form of an emoticon: Confluence's own (Cloud marks them with an `atlassian-`
/// emoji id); other Cloud emoji have none.
pub(crate) fn emoticon_markdown(e: &Element) -> Option<&str> {
    let name = e.attr("ac:name").filter(|n| EMOTICONS.contains(n))?;
    match e.attr("ac:emoji-id") {
        Some(id) if !id.starts_with("atlassian-") => None,
        _ => Some(name),
    }
}

/// A status macro that fits `[TITLE](status:…)`: (title, link target).
pub(crate) fn status_markdown(e: &Element) -> Option<(String, String)> {
    if e.attr("ac:name") != Some("status") {
        return None;
    }
    let (mut title, mut colour, mut subtle) = (String::new(), String::new(), false);
    for c in &e.children {
        match c {
            Node::Element(p) if p.name == "ac:parameter" => {
                let v = text_of(&p.children);
                match p.attr("ac:name") {
                    Some("title") => title = v,
                    Some("colour") => colour = v.to_ascii_lowercase(),
                    Some("subtle") if v == "true" => subtle = true,
                    _ => return None,
                }
            }
            Node::Text(t) if t.trim().is_empty() => {}
            _ => return None,
        }
    }
    if colour.contains([';', ' ', ')', '(']) {
        return None;
    }
    let target = format!(
        "{STATUS_SCHEME}{colour}{}",
        if subtle { ";subtle" } else { "" }
    );
    Some((title, target))
}

/// `[TITLE](status:…)` as the status macro.
pub(crate) fn status_storage(title: &str, dest: &str, out: &mut String) {
    let spec = dest.strip_prefix(STATUS_SCHEME).unwrap_or("");
    let (colour, subtle) = match spec.strip_suffix(";subtle") {
        Some(c) => (c, true),
        None => (spec, false),
    };
    out.push_str("<ac:structured-macro ac:name=\"status\">");
    if !colour.is_empty() {
        let mut chars = colour.chars();
        let c: String = chars
            .next()
            .map(|f| f.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        out.push_str("<ac:parameter ac:name=\"colour\">");
        escape_text(&c, out);
        out.push_str("</ac:parameter>");
    }
    out.push_str("<ac:parameter ac:name=\"title\">");
    escape_text(title, out);
    out.push_str("</ac:parameter>");
    if subtle {
        out.push_str("<ac:parameter ac:name=\"subtle\">true</ac:parameter>");
    }
    out.push_str("</ac:structured-macro>");
}

/// A user mention: (link text, target), the text being the link body or the user's value.
pub(crate) fn mention_markdown(e: &Element) -> Option<(String, String)> {
    let user = e.child("ri:user")?;
    let (kind, value) = USER_KINDS
        .iter()
        .find_map(|k| user.attr(&format!("ri:{k}")).map(|v| (*k, v)))?;
    let text = e
        .child("ac:plain-text-link-body")
        .or_else(|| e.child("ac:link-body"))
        .map(|b| text_of(&b.children))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| value.to_string());
    Some((text, format!("{USER_SCHEME}{kind}:{value}")))
}

fn looks_like_account_id(v: &str) -> bool {
    v.len() >= 20
        && v.chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '-')
}

/// `@[text](user:…)` as a mention; the text is kept as the link body when it is not the value.
pub(crate) fn mention_storage(text: &str, dest: &str, out: &mut String) {
    let spec = dest.strip_prefix(USER_SCHEME).unwrap_or("");
    let (kind, value) = match spec.split_once(':') {
        Some((k, v)) if USER_KINDS.contains(&k) => (k, v),
        _ if looks_like_account_id(spec) => ("account-id", spec),
        _ => ("username", spec),
    };
    out.push_str(&format!(
        "<ac:link><ri:user ri:{kind}=\"{}\" />",
        escape_attr(value)
    ));
    if !text.is_empty() && text != value {
        out.push_str("<ac:plain-text-link-body><![CDATA[");
        out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]></ac:plain-text-link-body>");
    }
    out.push_str("</ac:link>");
}
