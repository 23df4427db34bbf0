//! A small tree of storage-format XML, read leniently with quick-xml: namespaces (`ac:`, `ri:`)
//! are kept as plain prefixed names, HTML entities (`&nbsp;`, `&mdash;` …) are decoded, a
//! mismatched end tag closes up to its opener, and anything unreadable is kept as text rather than
//! failing an export.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Debug, Clone)]
pub enum Node {
    Element(Element),
    Text(String),
    /// A CDATA section (code macro bodies).
    CData(String),
}

#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|n| match n {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// The macro parameter `ac:parameter ac:name=NAME`, as text.
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.children.iter().find_map(|n| match n {
            Node::Element(e) if e.name == "ac:parameter" && e.attr("ac:name") == Some(name) => {
                Some(text_of(&e.children))
            }
            _ => None,
        })
    }
}

/// All text below these nodes, CDATA included, as is.
pub fn text_of(nodes: &[Node]) -> String {
    let mut s = String::new();
    fn walk(nodes: &[Node], s: &mut String) {
        for n in nodes {
            match n {
                Node::Text(t) | Node::CData(t) => s.push_str(t),
                Node::Element(e) => walk(&e.children, s),
            }
        }
    }
    walk(nodes, &mut s);
    s
}

fn entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "ndash" => "\u{2013}",
        "mdash" => "\u{2014}",
        "hellip" => "\u{2026}",
        "lsquo" => "\u{2018}",
        "rsquo" => "\u{2019}",
        "ldquo" => "\u{201c}",
        "rdquo" => "\u{201d}",
        "laquo" => "\u{ab}",
        "raquo" => "\u{bb}",
        "copy" => "\u{a9}",
        "reg" => "\u{ae}",
        "trade" => "\u{2122}",
        "euro" => "\u{20ac}",
        "times" => "\u{d7}",
        "middot" => "\u{b7}",
        "bull" => "\u{2022}",
        "deg" => "\u{b0}",
        "rarr" => "\u{2192}",
        "larr" => "\u{2190}",
        _ => return None,
    })
}

/// Decodes character and entity references; an unknown one stays as written.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let decoded = after.find(';').filter(|&j| j <= 10).and_then(|j| {
            let name = &after[..j];
            let ch = if let Some(num) = name.strip_prefix('#') {
                let n = match num.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => num.parse().ok(),
                };
                n.and_then(char::from_u32).map(String::from)
            } else {
                entity(name).map(String::from)
            };
            ch.map(|c| (c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push_str(&c);
                rest = &after[j + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn element(start: &BytesStart) -> Element {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let attrs = start
        .html_attributes()
        .filter_map(|a| a.ok())
        .map(|a| {
            (
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                unescape(&String::from_utf8_lossy(&a.value)),
            )
        })
        .collect();
    Element {
        name,
        attrs,
        children: vec![],
    }
}

/// Parses a storage-format fragment (several top-level elements and text are fine).
pub fn parse(storage: &str) -> Vec<Node> {
    let mut reader = Reader::from_str(storage);
    let cfg = reader.config_mut();
    cfg.check_end_names = false;
    cfg.trim_text(false);
    // The stack's bottom is a synthetic root.
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(_) => {
                // Keep what could not be read as text, so nothing is silently lost.
                let pos = (reader.buffer_position() as usize).min(storage.len());
                let rest = storage.get(pos..).unwrap_or("");
                if !rest.is_empty() {
                    push(&mut stack, Node::Text(rest.to_string()));
                }
                break;
            }
        };
        match ev {
            Event::Start(s) => stack.push(element(&s)),
            Event::Empty(s) => push(&mut stack, Node::Element(element(&s))),
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                // Close up to the matching opener; a stray end tag is ignored.
                if stack.iter().skip(1).any(|el| el.name == name) {
                    while stack.len() > 1 {
                        let el = stack.pop().expect("len > 1");
                        let done = el.name == name;
                        push(&mut stack, Node::Element(el));
                        if done {
                            break;
                        }
                    }
                }
            }
            Event::Text(t) => {
                let raw = String::from_utf8_lossy(&t).into_owned();
                push(&mut stack, Node::Text(unescape(&raw)));
            }
            Event::CData(c) => {
                push(
                    &mut stack,
                    Node::CData(String::from_utf8_lossy(&c).into_owned()),
                );
            }
            Event::Eof => break,
            // Comments, processing instructions and doctypes carry no page content.
            _ => {}
        }
    }
    while stack.len() > 1 {
        let el = stack.pop().expect("len > 1");
        push(&mut stack, Node::Element(el));
    }
    stack.pop().map(|r| r.children).unwrap_or_default()
}

fn push(stack: &mut [Element], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.children.push(node);
    }
}

/// Serialises nodes back to storage format (for elements kept as raw HTML).
pub fn serialize(nodes: &[Node], out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => crate::escape_text(t, out),
            Node::CData(c) => {
                out.push_str("<![CDATA[");
                out.push_str(&c.replace("]]>", "]]]]><![CDATA[>"));
                out.push_str("]]>");
            }
            Node::Element(e) => {
                out.push('<');
                out.push_str(&e.name);
                for (k, v) in &e.attrs {
                    out.push_str(&format!(" {k}=\"{}\"", crate::escape_attr(v)));
                }
                if e.children.is_empty() {
                    out.push_str(" />");
                } else {
                    out.push('>');
                    serialize(&e.children, out);
                    out.push_str(&format!("</{}>", e.name));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_macros_entities_and_bad_nesting() {
        let nodes = parse(
            "<p>a&nbsp;b &amp; &#x41;&unknown;</p><ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[x < y]]></ac:plain-text-body></ac:structured-macro><p><b>x</p>",
        );
        assert_eq!(nodes.len(), 3);
        assert_eq!(text_of(&nodes[..1]), "a\u{a0}b & A&unknown;");
        let Node::Element(m) = &nodes[1] else {
            panic!()
        };
        assert_eq!(m.attr("ac:name"), Some("code"));
        assert_eq!(text_of(&m.children), "x < y");
        assert_eq!(text_of(&nodes[2..]), "x");
    }

    #[test]
    fn garbage_is_kept_as_text() {
        let nodes = parse("<p>ok</p><<<");
        assert!(text_of(&nodes).contains("ok"));
    }
}
