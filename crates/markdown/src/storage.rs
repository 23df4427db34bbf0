//! Markdown → Confluence storage format, one pass over pulldown-cmark's events.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::{decode_target, escape_attr, escape_text};

/// The storage-format body plus the local images it references (paths as written in the
/// Markdown, decoded), which the caller uploads as attachments of the page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Storage {
    pub body: String,
    pub images: Vec<String>,
}

/// True for a link or image target on the local file system (no scheme, not an anchor).
pub fn is_local(dest: &str) -> bool {
    !(dest.is_empty()
        || dest.starts_with('#')
        || dest.starts_with("//")
        || dest.starts_with('/')
        || dest.contains("://")
        || dest.starts_with("mailto:")
        || dest.starts_with("data:"))
}

/// The file name part of a local path (what the attachment is called).
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

enum Pending {
    /// Inside an image: alt text is collected until its end.
    Image {
        dest: String,
        title: String,
        alt: String,
    },
    Code {
        lang: String,
        text: String,
    },
}

/// Converts Markdown to storage format.
pub fn to_storage(markdown: &str) -> Storage {
    let mut out = String::with_capacity(markdown.len() * 2);
    let mut images: Vec<String> = Vec::new();
    let mut pending: Option<Pending> = None;
    let mut in_table_head = false;
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES);
    for ev in parser {
        // Images and code blocks collect their text first.
        match (&mut pending, &ev) {
            (Some(Pending::Image { alt, .. }), Event::Text(t) | Event::Code(t)) => {
                alt.push_str(t);
                continue;
            }
            (Some(Pending::Image { .. }), Event::End(TagEnd::Image)) => {
                if let Some(Pending::Image { dest, title, alt }) = pending.take() {
                    image(&mut out, &mut images, &dest, &title, &alt);
                }
                continue;
            }
            (Some(Pending::Image { .. }), _) => continue,
            (Some(Pending::Code { text, .. }), Event::Text(t)) => {
                text.push_str(t);
                continue;
            }
            (Some(Pending::Code { .. }), Event::End(TagEnd::CodeBlock)) => {
                if let Some(Pending::Code { lang, text }) = pending.take() {
                    code_macro(&mut out, &lang, &text);
                }
                continue;
            }
            (Some(Pending::Code { .. }), _) => continue,
            (None, _) => {}
        }
        match ev {
            Event::Start(tag) => match tag {
                Tag::Paragraph => out.push_str("<p>"),
                Tag::Heading { level, .. } => out.push_str(&format!("<h{}>", level_num(level))),
                Tag::BlockQuote(_) => out.push_str("<blockquote>"),
                Tag::CodeBlock(kind) => {
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => {
                            info.split_whitespace().next().unwrap_or("").to_string()
                        }
                        CodeBlockKind::Indented => String::new(),
                    };
                    pending = Some(Pending::Code {
                        lang,
                        text: String::new(),
                    });
                }
                Tag::List(Some(1)) => out.push_str("<ol>"),
                Tag::List(Some(n)) => out.push_str(&format!("<ol start=\"{n}\">")),
                Tag::List(None) => out.push_str("<ul>"),
                Tag::Item => out.push_str("<li>"),
                Tag::Table(_) => out.push_str("<table><tbody>"),
                Tag::TableHead => {
                    in_table_head = true;
                    out.push_str("<tr>");
                }
                Tag::TableRow => out.push_str("<tr>"),
                Tag::TableCell => out.push_str(if in_table_head { "<th>" } else { "<td>" }),
                Tag::Emphasis => out.push_str("<em>"),
                Tag::Strong => out.push_str("<strong>"),
                Tag::Strikethrough => out.push_str("<s>"),
                Tag::Link {
                    dest_url, title, ..
                } => {
                    out.push_str(&format!("<a href=\"{}\"", escape_attr(&dest_url)));
                    if !title.is_empty() {
                        out.push_str(&format!(" title=\"{}\"", escape_attr(&title)));
                    }
                    out.push('>');
                }
                Tag::Image {
                    dest_url, title, ..
                } => {
                    pending = Some(Pending::Image {
                        dest: dest_url.to_string(),
                        title: title.to_string(),
                        alt: String::new(),
                    });
                }
                Tag::HtmlBlock => {}
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => out.push_str("</p>"),
                TagEnd::Heading(level) => out.push_str(&format!("</h{}>", level_num(level))),
                TagEnd::BlockQuote(_) => out.push_str("</blockquote>"),
                TagEnd::List(true) => out.push_str("</ol>"),
                TagEnd::List(false) => out.push_str("</ul>"),
                TagEnd::Item => out.push_str("</li>"),
                TagEnd::Table => out.push_str("</tbody></table>"),
                TagEnd::TableHead => {
                    in_table_head = false;
                    out.push_str("</tr>");
                }
                TagEnd::TableRow => out.push_str("</tr>"),
                TagEnd::TableCell => out.push_str(if in_table_head { "</th>" } else { "</td>" }),
                TagEnd::Emphasis => out.push_str("</em>"),
                TagEnd::Strong => out.push_str("</strong>"),
                TagEnd::Strikethrough => out.push_str("</s>"),
                TagEnd::Link => out.push_str("</a>"),
                _ => {}
            },
            Event::Text(t) => escape_text(&t, &mut out),
            Event::Code(t) => {
                out.push_str("<code>");
                escape_text(&t, &mut out);
                out.push_str("</code>");
            }
            // Raw HTML passes through as written; storage an export kept in a comment comes back.
            Event::Html(h) | Event::InlineHtml(h) => raw_html(&h, &mut out),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push_str("<br />"),
            Event::Rule => out.push_str("<hr />"),
            _ => {}
        }
    }
    Storage { body: out, images }
}

/// Raw HTML: `<!-- confluence X -->` becomes X, other comments are dropped, the rest is kept.
fn raw_html(h: &str, out: &mut String) {
    let mut rest = h.trim_end_matches('\n');
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let Some(end) = after.find("-->") else {
            // An unterminated comment: nothing of it reaches the page.
            return;
        };
        let inner = &after[..end];
        if let Some(kept) = crate::md::KEEP_OPEN
            .strip_prefix("<!--")
            .and_then(|open| inner.strip_prefix(open))
        {
            out.push_str(kept.strip_suffix(' ').unwrap_or(kept));
        }
        rest = &after[end + 3..];
    }
    out.push_str(rest);
}

fn level_num(l: HeadingLevel) -> u8 {
    l as u8
}

fn image(out: &mut String, images: &mut Vec<String>, dest: &str, title: &str, alt: &str) {
    out.push_str("<ac:image");
    if !alt.is_empty() {
        out.push_str(&format!(" ac:alt=\"{}\"", escape_attr(alt)));
    }
    if !title.is_empty() {
        out.push_str(&format!(" ac:title=\"{}\"", escape_attr(title)));
    }
    out.push('>');
    if is_local(dest) {
        let path = decode_target(dest);
        out.push_str(&format!(
            "<ri:attachment ri:filename=\"{}\" />",
            escape_attr(file_name(&path))
        ));
        if !images.contains(&path) {
            images.push(path);
        }
    } else {
        out.push_str(&format!("<ri:url ri:value=\"{}\" />", escape_attr(dest)));
    }
    out.push_str("</ac:image>");
}

fn code_macro(out: &mut String, lang: &str, text: &str) {
    out.push_str("<ac:structured-macro ac:name=\"code\">");
    if !lang.is_empty() {
        out.push_str("<ac:parameter ac:name=\"language\">");
        escape_text(lang, out);
        out.push_str("</ac:parameter>");
    }
    // A CDATA section cannot hold "]]>": split it across two sections.
    let body = text.strip_suffix('\n').unwrap_or(text);
    out.push_str("<ac:plain-text-body><![CDATA[");
    out.push_str(&body.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]></ac:plain-text-body></ac:structured-macro>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_remote_images() {
        let s = to_storage("![a chart](img/chart%201.png) ![logo](https://x/y.png)");
        assert_eq!(s.images, vec!["img/chart 1.png".to_string()]);
        assert!(s.body.contains(
            "<ac:image ac:alt=\"a chart\"><ri:attachment ri:filename=\"chart 1.png\" /></ac:image>"
        ));
        assert!(s.body.contains("<ri:url ri:value=\"https://x/y.png\" />"));
    }

    #[test]
    fn cdata_end_in_code_is_split() {
        let s = to_storage("```\na ]]> b\n```\n");
        assert!(s.body.contains("a ]]]]><![CDATA[> b"), "{}", s.body);
        let back = crate::to_markdown(&s.body, &Default::default());
        assert!(back.contains("a ]]> b"), "{back}");
    }
}
