//! Storage format → Markdown. Blocks are rendered to strings and joined by blank lines; inline
//! content is collapsed like HTML collapses whitespace, and Markdown's special characters in text
//! are escaped so the Markdown parses back to the same text. Panels become GitHub alerts, task
//! lists `- [ ]` items, the expand macro `<details>`. What Markdown cannot express (macros
//! other than `code`, unknown `ac:` elements) is kept verbatim inside a `<!-- confluence … -->`
//! comment, which [`crate::to_storage`] turns back into the original storage.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::anchor::Headings;
use crate::dom::{self, text_of, Element, Node};
use crate::{encode_target, inline, Links, PageRef};

/// The marker of a comment that carries storage format through Markdown.
pub(crate) const KEEP_OPEN: &str = "<!-- confluence ";
pub(crate) const KEEP_CLOSE: &str = " -->";
/// The marker of a comment that carries a panel macro's opening tag and parameters.
pub(crate) const PANEL_OPEN: &str = "<!-- confluence-panel ";

/// Converts storage format to Markdown (ends with one newline, or is empty).
pub fn to_markdown(storage: &str, links: &Links) -> String {
    to_markdown_reported(storage, links).0
}

/// Like [`to_markdown`], plus what the Markdown only approximates: one line per kind of loss,
/// with a count (e.g. `macro "toc" (2): kept for the round trip, shown as a placeholder line`),
/// sorted. Empty when the Markdown says everything the page does.
pub fn to_markdown_reported(storage: &str, links: &Links) -> (String, Vec<String>) {
    let nodes = dom::parse(storage);
    let mut texts = Vec::new();
    heading_texts(&nodes, &mut texts);
    let r = Renderer {
        links,
        losses: RefCell::default(),
        headings: Headings::new(texts.iter().map(String::as_str)),
    };
    let out = r.blocks(&nodes).join("\n\n");
    let out = out.trim_matches('\n');
    let md = if out.is_empty() {
        String::new()
    } else {
        format!("{out}\n")
    };
    let losses = r
        .losses
        .into_inner()
        .into_iter()
        .map(|(what, n)| match what.split_once(": ") {
            Some((head, tail)) if n > 1 => format!("{head} ({n}): {tail}"),
            _ => what,
        })
        .collect();
    (md, losses)
}

struct Renderer<'a, 'b> {
    links: &'a Links<'b>,
    /// What was approximated, by description, with a count.
    losses: RefCell<BTreeMap<String, usize>>,
    /// The page's headings, for links to them.
    headings: Headings,
}

/// The text of every heading below these nodes, in document order, as Markdown will show it.
fn heading_texts(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        if let Node::Element(e) = n {
            if matches!(e.name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
                out.push(collapse(&text_of(&e.children)).trim().to_string());
            } else {
                heading_texts(&e.children, out);
            }
        }
    }
}

fn is_block(e: &Element) -> bool {
    // A status lozenge sits inside text (`[A](status:)` in a list item is not a block).
    if e.name == "ac:structured-macro" && e.attr("ac:name") == Some("status") {
        return false;
    }
    matches!(
        e.name.as_str(),
        "p" | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "ul"
            | "ol"
            | "pre"
            | "blockquote"
            | "table"
            | "hr"
            | "div"
            | "section"
            | "ac:layout"
            | "ac:layout-section"
            | "ac:layout-cell"
            | "ac:structured-macro"
            | "ac:macro"
            | "ac:task-list"
    )
}

/// Storage kept verbatim in a Markdown comment.
fn keep(e: &Element) -> String {
    let mut s = String::new();
    dom::serialize(std::slice::from_ref(&Node::Element(e.clone())), &mut s);
    format!("{KEEP_OPEN}{}{KEEP_CLOSE}", s.replace("-->", "--&gt;"))
}

fn fence_for(body: &str, ch: char) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == ch {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    std::iter::repeat_n(ch, (longest + 1).max(3)).collect()
}

fn code_block(lang: &str, body: &str) -> String {
    // A backtick fence's info string cannot hold a backtick; a tilde fence's can.
    let fence = fence_for(body, if lang.contains('`') { '~' } else { '`' });
    let body = body.strip_suffix('\n').unwrap_or(body);
    format!("{fence}{}\n{body}\n{fence}", lang.trim())
}

/// Prefixes every line but the first with `indent` (list item continuation).
fn indent_rest(s: &str, indent: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(indent);
            }
        }
        out.push_str(line);
    }
    out
}

impl Renderer<'_, '_> {
    /// Block-level rendering: runs of inline nodes become paragraphs.
    fn blocks(&self, nodes: &[Node]) -> Vec<String> {
        let mut out = Vec::new();
        let mut run: Vec<Node> = Vec::new();
        let flush = |run: &mut Vec<Node>, out: &mut Vec<String>| {
            if !run.is_empty() {
                let p = self.paragraph(run);
                if !p.is_empty() {
                    out.push(p);
                }
                run.clear();
            }
        };
        for n in nodes {
            match n {
                Node::Element(e) if is_block(e) => {
                    flush(&mut run, &mut out);
                    out.extend(self.block(e));
                }
                other => run.push(other.clone()),
            }
        }
        flush(&mut run, &mut out);
        out
    }

    fn paragraph(&self, nodes: &[Node]) -> String {
        let text = self.inline(nodes, false);
        escape_line_starts(text.trim_matches([' ', '\n', '\t']))
    }

    fn block(&self, e: &Element) -> Vec<String> {
        let one = |s: String| if s.is_empty() { vec![] } else { vec![s] };
        match e.name.as_str() {
            "p" => match crate::footnote::definition(&e.children) {
                Some((label, rest)) => {
                    let text = self.inline(rest, false);
                    let text = text.trim_matches([' ', '\n', '\t']);
                    vec![if text.is_empty() {
                        format!("[^{label}]:")
                    } else {
                        format!("[^{label}]: {text}")
                    }]
                }
                None => one(self.paragraph(&e.children)),
            },
            h @ ("h1" | "h2" | "h3" | "h4" | "h5" | "h6") => {
                let level: usize = h[1..].parse().unwrap_or(1);
                let text = self.inline(&e.children, true);
                let text = text.trim();
                if text.is_empty() {
                    return vec![];
                }
                vec![format!("{} {}", "#".repeat(level), text)]
            }
            "ul" | "ol" => one(self.list(e)),
            "pre" => vec![code_block("", &text_of(&e.children))],
            "blockquote" => one(quote(&self.blocks(&e.children).join("\n\n"))),
            "table" => match table_as_html(e) {
                Some(html) => {
                    self.lost("table with lists or several blocks in a cell: kept as HTML".into());
                    vec![html]
                }
                None => one(self.table(e)),
            },
            // `***`, not `---`: directly under a paragraph line (a tight list item) `---` would
            // turn that line into a setext heading.
            "hr" => vec!["***".into()],
            "ac:structured-macro" if e.attr("ac:name") == Some("code") => {
                let lang = e.parameter("language").unwrap_or_default();
                let params: Vec<(String, String)> = crate::code::PARAMETERS
                    .iter()
                    .filter_map(|p| e.parameter(p).map(|v| (p.to_string(), v)))
                    .collect();
                let body = e
                    .child("ac:plain-text-body")
                    .map(|b| text_of(&b.children))
                    .unwrap_or_default();
                vec![code_block(&crate::code::info_string(&lang, &params), &body)]
            }
            "ac:structured-macro" if panel_alert(e).is_some() => one(self.panel(e)),
            "ac:structured-macro" if inline::status_markdown(e).is_some() => {
                one(self.paragraph(std::slice::from_ref(&Node::Element(e.clone()))))
            }
            "ac:structured-macro"
                if e.attr("ac:name") == Some("expand") && expand_title(e).is_some() =>
            {
                one(self.expand(e))
            }
            "ac:task-list" => one(self.task_list(e)),
            "ac:structured-macro" if rich_body_only(e) => self.kept_with_body(e),
            "ac:structured-macro" | "ac:macro" => {
                self.lost(format!(
                    "{}: kept for the round trip, shown as a placeholder line",
                    describe(e)
                ));
                match placeholder(e) {
                    Some(p) => vec![format!("{}\n*{}*", keep(e), escape_md(&p))],
                    None => vec![keep(e)],
                }
            }
            // Layout containers: their content, without the layout.
            _ => {
                if e.name == "ac:layout" {
                    self.lost("page layout: columns flattened, content kept in order".into());
                } else if e.name.starts_with("ac:") && !e.name.starts_with("ac:layout-") {
                    self.lost(format!("element <{}>: only its content kept", e.name));
                }
                self.blocks(&e.children)
            }
        }
    }

    fn lost(&self, what: String) {
        *self.losses.borrow_mut().entry(what).or_default() += 1;
    }

    /// Storage kept in a hidden comment, with nothing visible in its place.
    fn kept_hidden(&self, e: &Element) -> String {
        self.lost(format!(
            "{}: kept for the round trip in a hidden comment, not visible",
            describe(e)
        ));
        keep(e)
    }

    /// A macro with no Markdown form but a rich-text body: its body stays visible Markdown
    /// between two comments that keep the macro's opening and closing storage.
    fn kept_with_body(&self, e: &Element) -> Vec<String> {
        self.lost(format!(
            "{}: kept for the round trip around its visible body",
            describe(e)
        ));
        let mut opening = String::new();
        let mut shell = e.clone();
        shell
            .children
            .retain(|c| matches!(c, Node::Element(p) if p.name == "ac:parameter"));
        dom::serialize(std::slice::from_ref(&Node::Element(shell)), &mut opening);
        // The shell serialises as `<…>params</ac:structured-macro>` (or `<… />`): reopen it.
        let opening = match opening.strip_suffix(" />") {
            Some(o) => format!("{o}>"),
            None => opening[..opening.len() - "</ac:structured-macro>".len()].to_string(),
        };
        let mut out = vec![format!(
            "{KEEP_OPEN}{}<ac:rich-text-body>{KEEP_CLOSE}",
            opening.replace("-->", "--&gt;")
        )];
        if let Some(b) = e.child("ac:rich-text-body") {
            out.extend(self.blocks(&b.children));
        }
        out.push(format!(
            "{KEEP_OPEN}</ac:rich-text-body></ac:structured-macro>{KEEP_CLOSE}"
        ));
        out
    }

    /// A panel macro as a GitHub alert; see [`panel_alert`] for the mapping.
    fn panel(&self, e: &Element) -> String {
        let (kind, opening) = panel_alert(e).unwrap_or(("NOTE", None));
        let mut blocks = vec![format!("[!{kind}]")];
        if let Some(opening) = opening {
            blocks[0].push('\n');
            blocks[0].push_str(&opening);
            // The title stays visible as a bold first line; publish drops it again.
            if let Some(t) = e.parameter("title").filter(|t| !t.trim().is_empty()) {
                let mut s = String::new();
                escape_text(&collapse(t.trim()), &mut s);
                blocks.push(format!("**{s}**"));
            }
        }
        if let Some(b) = e.child("ac:rich-text-body") {
            blocks.extend(self.blocks(&b.children));
        }
        // The marker line sits right above the first block, as GitHub's examples write it.
        let first = blocks.remove(0);
        let rest = blocks.join("\n\n");
        quote(&if rest.is_empty() {
            first
        } else {
            format!("{first}\n{rest}")
        })
    }

    /// The expand macro as `<details>`; its body stays Markdown.
    fn expand(&self, e: &Element) -> String {
        let mut out = String::from("<details>\n<summary>");
        crate::escape_text(&collapse(&expand_title(e).unwrap_or_default()), &mut out);
        out.push_str("</summary>\n\n");
        if let Some(b) = e.child("ac:rich-text-body") {
            let body = self.blocks(&b.children).join("\n\n");
            if !body.is_empty() {
                out.push_str(&body);
                out.push_str("\n\n");
            }
        }
        out.push_str("</details>");
        out
    }

    /// `ac:task-list` as `- [ ]` / `- [x]` items; a nested task list (inside a task body, or
    /// right after a task) is indented under its task.
    fn task_list(&self, e: &Element) -> String {
        // Loose, like a list, when a task body holds paragraphs.
        let loose = e.children.iter().any(|c| {
            matches!(c, Node::Element(t) if t.name == "ac:task"
                && t.child("ac:task-body").is_some_and(|b| b.child("p").is_some()))
        });
        let sep = if loose { "\n\n" } else { "\n" };
        let mut items: Vec<String> = Vec::new();
        for c in &e.children {
            let Node::Element(el) = c else { continue };
            match el.name.as_str() {
                "ac:task" => {
                    let done = el
                        .child("ac:task-status")
                        .is_some_and(|s| text_of(&s.children).trim() == "complete");
                    let body = el
                        .child("ac:task-body")
                        .map(|b| self.blocks(&b.children).join(sep))
                        .unwrap_or_default();
                    let marker = if done { "- [x] " } else { "- [ ] " };
                    items.push(format!("{marker}{}", indent_rest(&body, "  ")));
                }
                "ac:task-list" => {
                    let nested = self.task_list(el);
                    match items.last_mut() {
                        Some(last) if !nested.is_empty() => {
                            last.push_str(sep);
                            last.push_str("  ");
                            last.push_str(&indent_rest(&nested, "  "));
                        }
                        _ if !nested.is_empty() => items.push(nested),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        items.join(sep)
    }

    fn list(&self, e: &Element) -> String {
        let ordered = e.name == "ol";
        let mut n: u64 = e.attr("start").and_then(|s| s.parse().ok()).unwrap_or(1);
        let items: Vec<&Element> = e
            .children
            .iter()
            .filter_map(|c| match c {
                Node::Element(li) if li.name == "li" => Some(li),
                _ => None,
            })
            .collect();
        // Loose (blank lines between items) when any item holds paragraphs, as CommonMark reads it.
        let loose = items.iter().any(|li| {
            li.children
                .iter()
                .any(|c| matches!(c, Node::Element(p) if p.name == "p"))
        });
        let mut out = Vec::new();
        for li in items {
            let marker = if ordered {
                let m = format!("{n}. ");
                n += 1;
                m
            } else {
                "- ".to_string()
            };
            let body = self
                .blocks(&li.children)
                .join(if loose { "\n\n" } else { "\n" });
            let indent = " ".repeat(marker.len());
            out.push(
                format!("{marker}{}", indent_rest(&body, &indent))
                    .trim_end()
                    .to_string(),
            );
        }
        out.join(if loose { "\n\n" } else { "\n" })
    }

    fn table(&self, e: &Element) -> String {
        let mut rows: Vec<Vec<String>> = Vec::new();
        fn collect<'x>(e: &'x Element, rows: &mut Vec<&'x Element>) {
            for c in &e.children {
                if let Node::Element(el) = c {
                    match el.name.as_str() {
                        "tr" => rows.push(el),
                        "thead" | "tbody" | "tfoot" => collect(el, rows),
                        _ => {}
                    }
                }
            }
        }
        let mut trs = Vec::new();
        collect(e, &mut trs);
        // Column alignment, as the first row's cells (or their first paragraph) set it.
        let aligns: Vec<&'static str> = trs
            .first()
            .map(|tr| {
                tr.children
                    .iter()
                    .filter_map(|c| match c {
                        Node::Element(td) if td.name == "td" || td.name == "th" => {
                            Some(cell_align(td))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for tr in trs {
            let cells = tr
                .children
                .iter()
                .filter_map(|c| match c {
                    Node::Element(td) if td.name == "td" || td.name == "th" => Some(td),
                    _ => None,
                })
                .map(|td| {
                    let blocks = self.blocks(&td.children);
                    blocks
                        .iter()
                        // A hard break (`\` + newline) and a line end are both `<br />` in a cell.
                        .map(|b| b.replace("\\\n", "<br />").replace('\n', "<br />"))
                        .collect::<Vec<_>>()
                        .join("<br />")
                        .replace('|', "\\|")
                })
                .collect::<Vec<_>>();
            rows.push(cells);
        }
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        if cols == 0 {
            return String::new();
        }
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for i in 0..cols {
                s.push(' ');
                s.push_str(cells.get(i).map(String::as_str).unwrap_or(""));
                s.push_str(" |");
            }
            s
        };
        let mut out = vec![line(&rows[0])];
        let mut rule = String::from("|");
        for i in 0..cols {
            rule.push_str(match aligns.get(i).copied().unwrap_or("") {
                "left" => " :--- |",
                "center" => " :---: |",
                "right" => " ---: |",
                _ => " --- |",
            });
        }
        out.push(rule);
        for r in &rows[1..] {
            out.push(line(r));
        }
        out.join("\n")
    }

    /// Inline rendering. `flat` (headings, table cells) turns hard breaks into spaces.
    fn inline(&self, nodes: &[Node], flat: bool) -> String {
        let mut out = String::new();
        for n in nodes {
            match n {
                Node::Text(t) => escape_text(&collapse(t), &mut out),
                Node::CData(t) => escape_text(&collapse(t), &mut out),
                Node::Element(e) => self.inline_element(e, flat, &mut out),
            }
        }
        out
    }

    fn inline_element(&self, e: &Element, flat: bool, out: &mut String) {
        match e.name.as_str() {
            "strong" | "b" => wrap(out, "**", &self.inline(&e.children, flat)),
            "em" | "i" => wrap(out, "*", &self.inline(&e.children, flat)),
            "code" | "tt" => out.push_str(&code_span(&text_of(&e.children))),
            "br" => out.push_str(if flat { " " } else { "\\\n" }),
            "a" => {
                let text = self.inline(&e.children, flat);
                match e.attr("href").filter(|h| !h.is_empty()) {
                    Some(href) => link(out, &text, &encode_target(href), e.attr("title")),
                    None => out.push_str(&text),
                }
            }
            "ac:link" => self.page_link(e, flat, out),
            "ac:image" => self.image(e, out),
            "sup" if crate::footnote::reference_label(e).is_some() => {
                let label = crate::footnote::reference_label(e).unwrap_or_default();
                out.push_str(&format!("[^{label}]"));
            }
            "u" | "sup" | "sub" | "s" | "del" | "ins" => {
                out.push_str(&format!("<{}>", e.name));
                out.push_str(&self.inline(&e.children, flat));
                out.push_str(&format!("</{}>", e.name));
            }
            // Markers and spans carry no text of their own.
            "span" | "ac:inline-comment-marker" | "font" | "small" | "big" => {
                if e.attr("style").is_some() || e.name == "font" {
                    self.lost("text styling (colour, size): dropped".into());
                }
                out.push_str(&self.inline(&e.children, flat))
            }
            // A Confluence emoticon as `:name:`; others (Cloud emoji) as their character.
            "ac:emoticon" => match inline::emoticon_markdown(e) {
                Some(name) => out.push_str(&format!(":{name}:")),
                None => {
                    let fallback = e
                        .attr("ac:emoji-fallback")
                        .map(str::to_string)
                        .unwrap_or_else(|| format!(":{}:", e.attr("ac:name").unwrap_or("")));
                    self.lost("emoji: written as its character".into());
                    escape_text(&fallback, out);
                }
            },
            "ac:structured-macro" if inline::status_markdown(e).is_some() => {
                if let Some((title, target)) = inline::status_markdown(e) {
                    let mut text = String::new();
                    escape_text(&collapse(&title), &mut text);
                    link(out, &text, &target, None);
                }
            }
            // Block elements inside inline context (e.g. a <p> in a table cell via blocks).
            name if is_block(e) && !name.starts_with("ac:") => out.push_str(
                &self
                    .blocks(std::slice::from_ref(&Node::Element(e.clone())))
                    .join(" "),
            ),
            // A macro inline: kept, plus a visible placeholder publish drops again.
            "ac:structured-macro" | "ac:macro" if placeholder(e).is_some() => {
                self.lost(format!(
                    "{}: kept for the round trip, shown as a placeholder",
                    describe(e)
                ));
                out.push_str(&keep(e));
                out.push_str(&format!(
                    "*{}*",
                    escape_md(&placeholder(e).unwrap_or_default())
                ));
            }
            _ => out.push_str(&self.kept_hidden(e)),
        }
    }

    fn page_link(&self, e: &Element, flat: bool, out: &mut String) {
        if let Some((text, target)) = inline::mention_markdown(e) {
            let mut t = String::new();
            escape_text(&collapse(&text), &mut t);
            out.push('@');
            link(out, &t, &encode_target(&target), None);
            return;
        }
        let body_text = e
            .child("ac:plain-text-link-body")
            .map(|b| {
                let mut s = String::new();
                escape_text(&collapse(&text_of(&b.children)), &mut s);
                s
            })
            .or_else(|| {
                e.child("ac:link-body")
                    .map(|b| self.inline(&b.children, flat))
            })
            .filter(|s| !s.trim().is_empty());
        let anchor = e.attr("ac:anchor");
        let (target, default_text) = if let Some(p) = e.child("ri:page") {
            let r = PageRef {
                space: p.attr("ri:space-key").map(str::to_string),
                title: p.attr("ri:content-title").unwrap_or("").to_string(),
            };
            (self.links.page_target(&r), r.title)
        } else if let Some(a) = e.child("ri:attachment") {
            let f = a.attr("ri:filename").unwrap_or("").to_string();
            (encode_target(&f), f)
        } else if let Some(u) = e.child("ri:url") {
            let v = u.attr("ri:value").unwrap_or("").to_string();
            (encode_target(&v), v)
        } else if let Some(a) = anchor {
            // A heading on this page: its GitHub slug, which Markdown viewers link.
            if let Some(slug) = self.headings.slug(a) {
                let text = body_text.unwrap_or_else(|| escape_md(a));
                link(out, &text, &format!("#{slug}"), None);
                return;
            }
            (String::new(), a.to_string())
        } else {
            out.push_str(&self.kept_hidden(e));
            return;
        };
        let target = match anchor {
            Some(a) => format!("{target}#{}", encode_target(a)),
            None => target,
        };
        let text = body_text.unwrap_or_else(|| {
            let mut s = String::new();
            escape_text(&default_text, &mut s);
            s
        });
        link(out, &text, &target, None);
    }

    fn image(&self, e: &Element, out: &mut String) {
        let src = if let Some(a) = e.child("ri:attachment") {
            encode_target(a.attr("ri:filename").unwrap_or(""))
        } else if let Some(u) = e.child("ri:url") {
            encode_target(u.attr("ri:value").unwrap_or(""))
        } else {
            out.push_str(&self.kept_hidden(e));
            return;
        };
        let mut alt = String::new();
        escape_text(e.attr("ac:alt").unwrap_or(""), &mut alt);
        out.push_str(&format!("![{alt}]({src}"));
        if let Some(t) = e.attr("ac:title").filter(|t| !t.is_empty()) {
            out.push_str(&format!(" \"{}\"", t.replace('"', "\\\"")));
        }
        out.push(')');
    }
}

/// Every line quoted with `> `.
fn quote(inner: &str) -> String {
    if inner.is_empty() {
        return String::new();
    }
    inner
        .split('\n')
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A table a pipe table cannot hold (a cell with a list, a code block, a macro or several
/// paragraphs), as its own storage: HTML viewers show it and publish passes it back unchanged.
/// `None` when it fits a pipe table, or when its text holds a blank line (which would end the
/// Markdown HTML block).
fn table_as_html(e: &Element) -> Option<String> {
    fn cells<'x>(e: &'x Element, out: &mut Vec<&'x Element>) {
        for c in &e.children {
            if let Node::Element(el) = c {
                match el.name.as_str() {
                    "td" | "th" => out.push(el),
                    "tr" | "thead" | "tbody" | "tfoot" => cells(el, out),
                    _ => {}
                }
            }
        }
    }
    let mut all = Vec::new();
    cells(e, &mut all);
    let complex = all.iter().any(|td| {
        let blocks: Vec<&Element> = td
            .children
            .iter()
            .filter_map(|c| match c {
                Node::Element(b) if is_block(b) => Some(b),
                _ => None,
            })
            .collect();
        blocks.len() > 1 || blocks.iter().any(|b| b.name != "p")
    });
    if !complex {
        return None;
    }
    let mut s = String::new();
    dom::serialize(std::slice::from_ref(&Node::Element(e.clone())), &mut s);
    let blank_line = s.split('\n').skip(1).any(|l| l.trim().is_empty());
    (!blank_line && !s.contains(KEEP_OPEN)).then_some(s)
}

/// A table cell's `text-align` (on the cell, or on its first paragraph as Cloud writes it).
fn cell_align(td: &Element) -> &'static str {
    let style = td
        .attr("style")
        .or_else(|| td.child("p").and_then(|p| p.attr("style")))
        .unwrap_or("");
    for decl in style.split(';') {
        if let Some((k, v)) = decl.split_once(':') {
            if k.trim().eq_ignore_ascii_case("text-align") {
                return match v.trim().to_ascii_lowercase().as_str() {
                    "left" => "left",
                    "center" => "center",
                    "right" => "right",
                    _ => "",
                };
            }
        }
    }
    ""
}

/// How a loss names an element: `macro "toc"` or `element <ac:foo>`.
fn describe(e: &Element) -> String {
    match e.attr("ac:name") {
        Some(n) if e.name.ends_with("macro") => format!("macro \"{n}\""),
        _ => format!("element <{}>", e.name),
    }
}

/// A macro whose children are parameters and one rich-text body.
fn rich_body_only(e: &Element) -> bool {
    e.child("ac:rich-text-body").is_some()
        && e.children.iter().all(|c| match c {
            Node::Element(p) => p.name == "ac:parameter" || p.name == "ac:rich-text-body",
            Node::Text(t) => t.trim().is_empty(),
            Node::CData(_) => false,
        })
}

/// The visible line shown under a macro kept for the round trip (publish drops it again).
/// `None` for macros Confluence shows nothing for either (an anchor).
pub(crate) fn placeholder(e: &Element) -> Option<String> {
    let name = e.attr("ac:name").unwrap_or("macro");
    if name == "anchor" {
        return None;
    }
    let mut s = format!("Confluence macro: {name}");
    for p in ["key", "jqlQuery", "title"] {
        if let Some(v) = e.parameter(p).filter(|v| !v.trim().is_empty()) {
            s.push(' ');
            s.push_str(&collapse(v.trim()));
            break;
        }
    }
    Some(s)
}

/// Text escaped for Markdown, as one string.
fn escape_md(s: &str) -> String {
    let mut out = String::new();
    escape_text(s, &mut out);
    out
}

/// Macro attributes Confluence regenerates on save: not worth keeping through Markdown.
fn regenerated(attr: &str) -> bool {
    matches!(attr, "ac:name" | "ac:schema-version" | "ac:macro-id")
}

/// The GitHub alert a panel macro becomes, and (when the alert alone would not restore it) the
/// macro's opening tag and parameters, kept in a `<!-- confluence-panel … -->` comment.
///
/// info ↔ `[!NOTE]`, tip ↔ `[!TIP]`, note ↔ `[!WARNING]`, warning ↔ `[!CAUTION]`, and
/// `[!IMPORTANT]` ↔ note titled "Important". Titled panels and `panel` carry the comment.
pub(crate) fn panel_alert(e: &Element) -> Option<(&'static str, Option<String>)> {
    let name = e.attr("ac:name")?;
    let kind = match name {
        "info" | "panel" => "NOTE",
        "tip" => "TIP",
        "note" => "WARNING",
        "warning" => "CAUTION",
        _ => return None,
    };
    // Only parameters and a rich-text body (or nothing) fit an alert.
    let mut params = Vec::new();
    for c in &e.children {
        match c {
            Node::Element(p) if p.name == "ac:parameter" => {
                params.push((p.attr("ac:name").unwrap_or(""), text_of(&p.children)))
            }
            Node::Element(b) if b.name == "ac:rich-text-body" => {}
            Node::Text(t) if t.trim().is_empty() => {}
            _ => return None,
        }
    }
    if name == "note" && params.len() == 1 && params[0].0 == "title" && params[0].1 == "Important" {
        return Some(("IMPORTANT", None));
    }
    if name != "panel" && params.is_empty() {
        return Some((kind, None));
    }
    let mut opening = String::from(PANEL_OPEN);
    opening.push_str("<ac:structured-macro");
    for (k, v) in e
        .attrs
        .iter()
        .filter(|(k, _)| !regenerated(k) || k == "ac:name")
    {
        opening.push_str(&format!(" {k}=\"{}\"", crate::escape_attr(v)));
    }
    opening.push('>');
    for c in &e.children {
        if let Node::Element(p) = c {
            if p.name == "ac:parameter" {
                dom::serialize(std::slice::from_ref(c), &mut opening);
            }
        }
    }
    let body = &opening[PANEL_OPEN.len()..];
    let body = body.replace("-->", "--&gt;");
    Some((kind, Some(format!("{PANEL_OPEN}{body}{KEEP_CLOSE}"))))
}

/// The expand macro's title, when the macro fits `<details>` (a title, a rich-text body).
fn expand_title(e: &Element) -> Option<String> {
    let mut title = String::new();
    for c in &e.children {
        match c {
            Node::Element(p) if p.name == "ac:parameter" && p.attr("ac:name") == Some("title") => {
                title = text_of(&p.children)
            }
            Node::Element(b) if b.name == "ac:rich-text-body" => {}
            Node::Text(t) if t.trim().is_empty() => {}
            _ => return None,
        }
    }
    Some(title)
}

fn link(out: &mut String, text: &str, target: &str, title: Option<&str>) {
    out.push_str(&format!("[{text}]({target}"));
    if let Some(t) = title.filter(|t| !t.is_empty()) {
        out.push_str(&format!(" \"{}\"", t.replace('"', "\\\"")));
    }
    out.push(')');
}

/// Emphasis markers hug the text: surrounding whitespace moves outside them.
fn wrap(out: &mut String, marker: &str, inner: &str) {
    let trimmed = inner.trim_matches([' ', '\n']);
    if trimmed.is_empty() {
        out.push_str(inner);
        return;
    }
    let lead = &inner[..inner.len() - inner.trim_start_matches([' ', '\n']).len()];
    let trail = &inner[inner.trim_end_matches([' ', '\n']).len()..];
    out.push_str(lead);
    out.push_str(marker);
    out.push_str(trimmed);
    out.push_str(marker);
    out.push_str(trail);
}

fn code_span(text: &str) -> String {
    let text = collapse(text);
    if text.is_empty() {
        return String::new();
    }
    // One backtick more than the longest run inside.
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let ticks = "`".repeat(longest + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    if pad {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

/// HTML whitespace collapsing: runs of ASCII whitespace become one space (nbsp is kept).
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_ascii_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// Escapes characters that Markdown would read as markup, and only those: `snake_case`,
/// `a < b` and `1.2.0` stay as written. Neighbours outside `s` are unknown, so a character at
/// either end is escaped whenever it could matter.
fn escape_text(s: &str, out: &mut String) {
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p));
        let next = chars.get(i + 1);
        match c {
            // Between letters or digits `_` can neither open nor close emphasis.
            '_' if prev.is_some_and(|p| p.is_alphanumeric())
                && next.is_some_and(|n| n.is_alphanumeric()) =>
            {
                out.push(c)
            }
            // A backslash escapes only ASCII punctuation (or makes a hard break at a line end).
            '\\' if next.is_some_and(|n| !n.is_ascii_punctuation() && *n != '\n') => out.push(c),
            // `<` starts a tag or an autolink only before a letter, `/`, `!` or `?`.
            '<' if next
                .is_some_and(|n| !(n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))) =>
            {
                out.push(c)
            }
            // `:smile:` in text would become an emoticon.
            ':' if inline::emoticon_at(&chars[i..].iter().take(16).collect::<String>())
                .is_some() =>
            {
                out.push_str("\\:")
            }
            // `]` too: inside a link's text it would end the text.
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' => {
                out.push('\\');
                out.push(c);
            }
            '&' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') =>
            {
                out.push_str("\\&");
            }
            c => out.push(c),
        }
    }
}

/// A line that would start a heading, list item, quote, fence or rule gets a backslash; other
/// lines (`-flag`, `#tag`, `1.2.0`) stay as written.
fn escape_line_starts(p: &str) -> String {
    p.split('\n')
        .map(|line| {
            let body = line.trim_start_matches(' ');
            let lead = &line[..line.len() - body.len()];
            // What follows a marker must be a space, a tab or the line's end.
            let ends_marker = |rest: &str| rest.is_empty() || rest.starts_with([' ', '\t']);
            let escape = match body.chars().next() {
                Some('>') => true,
                Some('#') => {
                    let hashes = body.chars().take_while(|&c| c == '#').count();
                    hashes <= 6 && ends_marker(&body[hashes..])
                }
                Some(c @ ('-' | '+' | '*')) => {
                    ends_marker(&body[1..])
                        || (c != '+' && body.chars().all(|x| x == c || x == ' ' || x == '\t'))
                }
                Some('=') => body.trim_end().chars().all(|c| c == '='),
                Some(c @ ('~' | '`')) => body.starts_with(&String::from(c).repeat(3)),
                Some(d) if d.is_ascii_digit() => {
                    let digits = body.chars().take_while(char::is_ascii_digit).count();
                    digits <= 9
                        && body[digits..].starts_with(['.', ')'])
                        && ends_marker(&body[digits + 1..])
                }
                _ => false,
            };
            if !escape {
                return line.to_string();
            }
            match body.chars().next() {
                Some(d) if d.is_ascii_digit() => {
                    let digits = body.chars().take_while(char::is_ascii_digit).count();
                    format!("{lead}{}\\{}", &body[..digits], &body[digits..])
                }
                _ => format!("{lead}\\{body}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
