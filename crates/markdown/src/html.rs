//! Storage format → a standalone HTML page (`cfl export --format html`): the code macro becomes
//! `<pre><code>`, attachment images `<img>` beside the page, page links go through the resolver,
//! rich-text macros (info, note, panel …) become a `<div>` holding their body, expand a
//! `<details>`, task lists checkboxes, status a `<span class="status …">`, mentions `@name`; other
//! Confluence-only elements are left out.

use crate::dom::{self, text_of, Element, Node};
use crate::{encode_target, escape_attr, escape_text, Links, PageRef};

/// Renders a full HTML document titled `title`.
pub fn to_html(storage: &str, title: &str, links: &Links) -> String {
    let mut body = String::new();
    render(&dom::parse(storage), links, &mut body);
    let mut t = String::new();
    escape_text(title, &mut t);
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n</head>\n<body>\n<h1>{t}</h1>\n{body}\n</body>\n</html>\n"
    )
}

fn render(nodes: &[Node], links: &Links, out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) | Node::CData(t) => escape_text(t, out),
            Node::Element(e) => element(e, links, out),
        }
    }
}

fn element(e: &Element, links: &Links, out: &mut String) {
    match e.name.as_str() {
        "ac:structured-macro" => structured_macro(e, links, out),
        "ac:task-list" => {
            out.push_str("<ul class=\"tasks\">");
            render(&e.children, links, out);
            out.push_str("</ul>");
        }
        "ac:task" => task(e, links, out),
        "ac:link" if e.child("ri:user").is_some() => mention(e, out),
        "ac:link" => link(e, links, out),
        "ac:image" => image(e, out),
        "ac:emoticon" => match e.attr("ac:emoji-fallback") {
            Some(f) => escape_text(f, out),
            None => escape_text(&format!(":{}:", e.attr("ac:name").unwrap_or("")), out),
        },
        name if name.starts_with("ri:") || name == "ac:parameter" => {}
        // Layouts, markers and other containers: their content only.
        name if name.starts_with("ac:") => render(&e.children, links, out),
        name => html_element(name, e, links, out),
    }
}

fn structured_macro(e: &Element, links: &Links, out: &mut String) {
    match e.attr("ac:name") {
        Some("code") => code_macro(e, out),
        Some("status") => {
            let colour = e
                .parameter("colour")
                .unwrap_or_default()
                .to_ascii_lowercase();
            out.push_str(&format!(
                "<span class=\"status status-{}\">",
                escape_attr(&colour)
            ));
            escape_text(&e.parameter("title").unwrap_or_default(), out);
            out.push_str("</span>");
        }
        Some("expand") => {
            out.push_str("<details><summary>");
            escape_text(&e.parameter("title").unwrap_or_default(), out);
            out.push_str("</summary>");
            if let Some(b) = e.child("ac:rich-text-body") {
                render(&b.children, links, out);
            }
            out.push_str("</details>");
        }
        // A rich-text macro (info, note, panel …) holds its body; one without a body is left out.
        name => {
            if let Some(b) = e.child("ac:rich-text-body") {
                let name = name.unwrap_or("macro");
                out.push_str(&format!("<div class=\"confluence-{}\">", escape_attr(name)));
                render(&b.children, links, out);
                out.push_str("</div>");
            }
        }
    }
}

fn code_macro(e: &Element, out: &mut String) {
    let lang = e.parameter("language").unwrap_or_default();
    let body = e
        .child("ac:plain-text-body")
        .map(|b| text_of(&b.children))
        .unwrap_or_default();
    if lang.is_empty() {
        out.push_str("<pre><code>");
    } else {
        out.push_str(&format!(
            "<pre><code class=\"language-{}\">",
            escape_attr(&lang)
        ));
    }
    escape_text(&body, out);
    out.push_str("</code></pre>");
}

fn task(e: &Element, links: &Links, out: &mut String) {
    let done = e
        .child("ac:task-status")
        .is_some_and(|s| text_of(&s.children).trim() == "complete");
    out.push_str(if done {
        "<li><input type=\"checkbox\" disabled checked /> "
    } else {
        "<li><input type=\"checkbox\" disabled /> "
    });
    if let Some(b) = e.child("ac:task-body") {
        render(&b.children, links, out);
    }
    out.push_str("</li>");
}

/// A user link: `@` and the link's text, else whatever names the user.
fn mention(e: &Element, out: &mut String) {
    let user = e.child("ri:user");
    let name = e
        .child("ac:plain-text-link-body")
        .map(|b| text_of(&b.children))
        .or_else(|| {
            user.and_then(|u| {
                ["ri:username", "ri:userkey", "ri:account-id"]
                    .iter()
                    .find_map(|k| u.attr(k).map(str::to_string))
            })
        })
        .unwrap_or_default();
    out.push_str("<span class=\"mention\">@");
    escape_text(&name, out);
    out.push_str("</span>");
}

fn image(e: &Element, out: &mut String) {
    let src = e
        .child("ri:attachment")
        .and_then(|a| a.attr("ri:filename"))
        .or_else(|| e.child("ri:url").and_then(|u| u.attr("ri:value")));
    if let Some(src) = src {
        out.push_str(&format!(
            "<img src=\"{}\" alt=\"{}\" />",
            escape_attr(&encode_target(src)),
            escape_attr(e.attr("ac:alt").unwrap_or(""))
        ));
    }
}

/// A page link (through the resolver) or an attachment link; any other target is left out.
fn link(e: &Element, links: &Links, out: &mut String) {
    let target = if let Some(p) = e.child("ri:page") {
        let r = PageRef {
            space: p.attr("ri:space-key").map(str::to_string),
            title: p.attr("ri:content-title").unwrap_or("").to_string(),
        };
        let text = r.title.clone();
        Some((links.page_target(&r), text))
    } else {
        e.child("ri:attachment")
            .and_then(|a| a.attr("ri:filename"))
            .map(|f| (encode_target(f), f.to_string()))
    };
    let Some((href, fallback)) = target else {
        return;
    };
    out.push_str(&format!("<a href=\"{}\">", escape_attr(&href)));
    if let Some(b) = e.child("ac:plain-text-link-body") {
        escape_text(&text_of(&b.children), out);
    } else if let Some(b) = e.child("ac:link-body") {
        render(&b.children, links, out);
    } else {
        escape_text(&fallback, out);
    }
    out.push_str("</a>");
}

/// An ordinary XHTML element, written back as it is.
fn html_element(name: &str, e: &Element, links: &Links, out: &mut String) {
    out.push('<');
    out.push_str(name);
    for (k, v) in &e.attrs {
        out.push_str(&format!(" {k}=\"{}\"", escape_attr(v)));
    }
    if e.children.is_empty() && matches!(name, "br" | "hr" | "img" | "col") {
        out.push_str(" />");
        return;
    }
    out.push('>');
    render(&e.children, links, out);
    out.push_str(&format!("</{name}>"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_images_and_links() {
        let resolve = |r: &PageRef| Some(format!("../{}/index.html", r.title));
        let links = Links {
            page: Some(&resolve),
        };
        let h = to_html(
            "<p>See <ac:link><ri:page ri:content-title=\"Other\" /></ac:link></p><ac:structured-macro ac:name=\"code\"><ac:parameter ac:name=\"language\">rust</ac:parameter><ac:plain-text-body><![CDATA[a<b]]></ac:plain-text-body></ac:structured-macro><ac:image><ri:attachment ri:filename=\"x y.png\" /></ac:image><ac:structured-macro ac:name=\"toc\" />",
            "T & U",
            &links,
        );
        assert!(h.contains("<title>T &amp; U</title>"));
        assert!(h.contains("<a href=\"../Other/index.html\">Other</a>"));
        assert!(h.contains("<pre><code class=\"language-rust\">a&lt;b</code></pre>"));
        assert!(h.contains("<img src=\"x%20y.png\""));
        assert!(!h.contains("toc"));
    }

    #[test]
    fn tasks_status_expand_and_mentions() {
        let h = to_html(
            "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>ship</ac:task-body></ac:task></ac:task-list><p><ac:structured-macro ac:name=\"status\"><ac:parameter ac:name=\"colour\">Green</ac:parameter><ac:parameter ac:name=\"title\">OK</ac:parameter></ac:structured-macro> <ac:link><ri:user ri:username=\"jsmith\" /></ac:link> <ac:emoticon ac:name=\"tick\" /></p><ac:structured-macro ac:name=\"expand\"><ac:parameter ac:name=\"title\">More</ac:parameter><ac:rich-text-body><p>hidden</p></ac:rich-text-body></ac:structured-macro>",
            "T",
            &Links::default(),
        );
        assert!(
            h.contains("<li><input type=\"checkbox\" disabled checked /> ship</li>"),
            "{h}"
        );
        assert!(h.contains("<span class=\"status status-green\">OK</span>"));
        assert!(h.contains("<span class=\"mention\">@jsmith</span>"));
        assert!(h.contains(":tick:"));
        assert!(h.contains("<details><summary>More</summary><p>hidden</p></details>"));
    }
}
