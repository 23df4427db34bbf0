//! Footnotes. Confluence has none, so they are written with what it has and read back from it:
//! a reference `[^1]` is `<sup>` holding a link to the anchor `fn-1`; a definition `[^1]: text`
//! is a paragraph starting with the anchor macro `fn-1` and `<sup>1</sup>`.

use crate::dom::{text_of, Element, Node};
use crate::{escape_attr, escape_text};

const PREFIX: &str = "fn-";

/// A label Markdown and an anchor name both hold as is.
fn plain(label: &str) -> bool {
    !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn reference(label: &str) -> String {
    format!(
        "<sup><ac:link ac:anchor=\"{PREFIX}{}\"><ac:plain-text-link-body><![CDATA[{}]]></ac:plain-text-link-body></ac:link></sup>",
        escape_attr(label),
        label.replace("]]>", "]]]]><![CDATA[>")
    )
}

pub(crate) fn definition_start(label: &str) -> String {
    let mut text = String::new();
    escape_text(label, &mut text);
    format!(
        "<ac:structured-macro ac:name=\"anchor\"><ac:parameter ac:name=\"\">{PREFIX}{}</ac:parameter></ac:structured-macro><sup>{text}</sup> ",
        escape_attr(label)
    )
}

/// The label of a `<sup>` that is a footnote reference.
pub(crate) fn reference_label(sup: &Element) -> Option<String> {
    let [Node::Element(link)] = sup.children.as_slice() else {
        return None;
    };
    if link.name != "ac:link" || link.child("ri:page").is_some() {
        return None;
    }
    let label = link.attr("ac:anchor")?.strip_prefix(PREFIX)?;
    let text = link
        .child("ac:plain-text-link-body")
        .map(|b| text_of(&b.children));
    (plain(label) && text.as_deref() == Some(label)).then(|| label.to_string())
}

/// A paragraph that is a footnote definition: its label and the nodes after the label.
pub(crate) fn definition(children: &[Node]) -> Option<(String, &[Node])> {
    let mut i = 0;
    let mut next = || {
        while let Some(Node::Text(t)) = children.get(i) {
            if !t.trim().is_empty() {
                return None;
            }
            i += 1;
        }
        i += 1;
        match children.get(i - 1) {
            Some(Node::Element(e)) => Some(e),
            _ => None,
        }
    };
    let anchor = next()?;
    let sup = next()?;
    if anchor.name != "ac:structured-macro" || anchor.attr("ac:name") != Some("anchor") {
        return None;
    }
    let label = anchor.parameter("")?.strip_prefix(PREFIX)?.to_string();
    if sup.name != "sup" || text_of(&sup.children) != label || !plain(&label) {
        return None;
    }
    Some((label, &children[i..]))
}
