//! The one pass over pulldown-cmark's events that writes storage format ([`Writer`]), and the
//! small pieces it writes (panels, tasks, images, links, code macros, raw HTML).

use pulldown_cmark::{
    Alignment, BlockQuoteKind, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd,
};

use crate::link::{default_target, file_name, is_local, LinkResolver, LinkTarget};
use crate::{decode_target, escape_attr, escape_text, inline};

/// The storage-format body plus the local images it references (paths as written in the
/// Markdown, decoded), which the caller uploads as attachments of the page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Storage {
    pub body: String,
    pub images: Vec<String>,
    /// Local files linked to (not shown): attachments of the page too, uploaded like images.
    pub attachments: Vec<String>,
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
        params: Vec<(String, String)>,
        text: String,
    },
    /// A `status:` or `user:` link: its text is collected until its end.
    Inline { dest: String, text: String },
    /// A link to a page or an attachment: its text is collected until its end.
    Ref {
        target: LinkTarget,
        anchor: Option<String>,
        text: String,
    },
}

/// A list being written.
struct List {
    /// Every item starts with `[ ]` / `[x]`: an `ac:task-list`.
    task: bool,
    /// Where the current item's `<li>` starts (replaced by the task's opening at its marker).
    item_at: usize,
}

/// The text of every heading, in order (for `#slug` links).
fn heading_texts(events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for ev in events {
        match ev {
            Event::Start(Tag::Heading { .. }) => current = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = &mut current {
                    c.push_str(t);
                }
            }
            Event::End(TagEnd::Heading(_)) => out.extend(current.take()),
            _ => {}
        }
    }
    out
}

/// The event indexes of bullet lists whose every item has a task marker.
fn task_lists(events: &[Event]) -> Vec<usize> {
    // (start index, items, items with a marker) per open list.
    let mut open: Vec<(usize, usize, usize, bool)> = Vec::new();
    let mut found = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Event::Start(Tag::List(start)) => open.push((i, 0, 0, start.is_none())),
            Event::Start(Tag::Item) => {
                if let Some(l) = open.last_mut() {
                    l.1 += 1;
                }
            }
            Event::TaskListMarker(_) => {
                if let Some(l) = open.last_mut() {
                    l.2 += 1;
                }
            }
            Event::End(TagEnd::List(_)) => {
                if let Some((at, items, marked, bullet)) = open.pop() {
                    if bullet && items > 0 && items == marked {
                        found.push(at);
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// A GitHub alert just opened: its default opening may still be replaced by a kept one.
struct Alert {
    open_at: usize,
    /// Events seen inside it so far (the kept opening must come first).
    seen: usize,
}

/// One conversion under way: the storage written so far, and what later events depend on.
pub(crate) struct Writer<'a> {
    markdown: &'a str,
    links: Option<LinkResolver<'a>>,
    /// Where each event starts in the source (by event index).
    starts: Vec<usize>,
    /// The event indexes of lists written as `ac:task-list`.
    task_lists: Vec<usize>,
    headings: crate::anchor::Headings,
    out: String,
    images: Vec<String>,
    attachments: Vec<String>,
    pending: Option<Pending>,
    lists: Vec<List>,
    /// Tasks written so far: each task's id.
    tasks: usize,
    alert: Option<Alert>,
    /// A kept panel title shown as a bold first paragraph: (where it starts, its storage).
    title_para: Option<(usize, String)>,
    /// Where each open `<details>` started.
    details: Vec<usize>,
    /// A raw HTML block being collected: written whole at its end.
    html_block: Option<String>,
    /// A literal task marker was written: a space follows it if anything else does.
    marker_space: bool,
    /// An inline kept macro's placeholder: (where it would start, its storage).
    inline_placeholder: Option<(usize, String)>,
    in_table_head: bool,
    /// The current table's column alignments, and the cell's column.
    columns: Vec<Alignment>,
    column: usize,
    /// A footnote definition just opened: its label goes before its first paragraph's text.
    footnote: Option<String>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        markdown: &'a str,
        links: Option<LinkResolver<'a>>,
        events: &[Event],
        starts: Vec<usize>,
    ) -> Self {
        let heading_texts = heading_texts(events);
        Writer {
            markdown,
            links,
            starts,
            task_lists: task_lists(events),
            headings: crate::anchor::Headings::new(heading_texts.iter().map(String::as_str)),
            out: String::with_capacity(markdown.len() * 2),
            images: Vec::new(),
            attachments: Vec::new(),
            pending: None,
            lists: Vec::new(),
            tasks: 0,
            alert: None,
            title_para: None,
            details: Vec::new(),
            html_block: None,
            marker_space: false,
            inline_placeholder: None,
            in_table_head: false,
            columns: Vec::new(),
            column: 0,
            footnote: None,
        }
    }

    pub(crate) fn finish(mut self) -> Storage {
        // An unclosed `<details>` still closes its macro.
        for _ in self.details.drain(..) {
            self.out.push_str(EXPAND_CLOSE);
        }
        Storage {
            body: self.out,
            images: self.images,
            attachments: self.attachments,
        }
    }

    /// Writes the event at `index` in the event list.
    pub(crate) fn event(&mut self, index: usize, ev: Event<'_>) {
        if self.collect_html_block(&ev) {
            return;
        }
        self.before_event(&ev);
        // Images, special links and code blocks collect their text first.
        if self.pending.is_some() {
            self.collect_pending(&ev);
            return;
        }
        match ev {
            Event::Start(tag) => self.start(index, tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(index, &t),
            Event::Code(t) => {
                self.out.push_str("<code>");
                escape_text(&t, &mut self.out);
                self.out.push_str("</code>");
            }
            // Raw HTML passes through as written; storage an export kept in a comment comes back.
            Event::Html(h) => html(&h, &mut self.out, &mut self.details),
            Event::InlineHtml(h) => self.inline_html(&h),
            Event::SoftBreak => self.out.push(' '),
            Event::HardBreak => self.out.push_str("<br />"),
            Event::FootnoteReference(label) => {
                self.out.push_str(&crate::footnote::reference(&label));
            }
            Event::TaskListMarker(done) => self.task_marker(done),
            Event::Rule => self.out.push_str("<hr />"),
            _ => {}
        }
    }

    /// What any event first settles: state that lasts only until the next event.
    fn before_event(&mut self, ev: &Event<'_>) {
        // The space after a literal task marker, when anything follows it in the item.
        if std::mem::take(&mut self.marker_space) && !matches!(ev, Event::End(_)) {
            self.out.push(' ');
        }
        // A footnote definition that does not start with a paragraph: its label on its own.
        if self.footnote.is_some()
            && matches!(ev, Event::Start(t) if !matches!(t, Tag::Paragraph))
                | matches!(ev, Event::End(TagEnd::FootnoteDefinition))
        {
            if let Some(label) = self.footnote.take() {
                self.out.push_str("<p>");
                self.out
                    .push_str(crate::footnote::definition_start(&label).trim_end());
                self.out.push_str("</p>");
            }
        }
        // The placeholder must follow its kept macro at once.
        if !matches!(
            ev,
            Event::Start(Tag::Emphasis)
                | Event::End(TagEnd::Emphasis)
                | Event::Text(_)
                | Event::InlineHtml(_)
        ) {
            self.inline_placeholder = None;
        }
        // A kept panel opening counts only as the alert's first block.
        if let Some(a) = &mut self.alert {
            a.seen += 1;
            if a.seen > 1 {
                self.alert = None;
            }
        }
    }

    fn start(&mut self, index: usize, tag: Tag<'_>) {
        let out = &mut self.out;
        match tag {
            Tag::Paragraph => {
                out.push_str("<p>");
                if let Some(label) = self.footnote.take() {
                    out.push_str(&crate::footnote::definition_start(&label));
                }
            }
            Tag::FootnoteDefinition(label) => self.footnote = Some(label.to_string()),
            Tag::Heading { level, .. } => out.push_str(&format!("<h{}>", level_num(level))),
            Tag::BlockQuote(None) => out.push_str("<blockquote>"),
            Tag::BlockQuote(Some(kind)) => {
                self.alert = Some(Alert {
                    open_at: out.len(),
                    seen: 0,
                });
                out.push_str(alert_opening(kind));
                out.push_str("<ac:rich-text-body>");
            }
            Tag::CodeBlock(kind) => self.code_block_start(kind),
            Tag::List(start) => self.list_start(index, start),
            Tag::Item => {
                if let Some(l) = self.lists.last_mut() {
                    l.item_at = out.len();
                }
                out.push_str("<li>");
            }
            Tag::Table(aligns) => {
                self.columns = aligns;
                out.push_str("<table><tbody>");
            }
            Tag::TableHead => {
                self.column = 0;
                self.in_table_head = true;
                out.push_str("<tr>");
            }
            Tag::TableRow => {
                self.column = 0;
                out.push_str("<tr>");
            }
            Tag::TableCell => self.table_cell_start(),
            Tag::Emphasis => out.push_str("<em>"),
            Tag::Strong => out.push_str("<strong>"),
            Tag::Strikethrough => out.push_str("<s>"),
            Tag::Link {
                dest_url, title, ..
            } => self.link_start(&dest_url, &title),
            Tag::Image {
                dest_url, title, ..
            } => {
                self.pending = Some(Pending::Image {
                    dest: dest_url.to_string(),
                    title: title.to_string(),
                    alt: String::new(),
                });
            }
            Tag::HtmlBlock => self.html_block = Some(String::new()),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        let out = &mut self.out;
        match tag {
            TagEnd::Paragraph => {
                out.push_str("</p>");
                drop_if_unchanged(out, self.title_para.take());
            }
            TagEnd::Heading(level) => out.push_str(&format!("</h{}>", level_num(level))),
            TagEnd::BlockQuote(None) => out.push_str("</blockquote>"),
            TagEnd::BlockQuote(Some(_)) => {
                self.alert = None;
                out.push_str("</ac:rich-text-body></ac:structured-macro>");
            }
            TagEnd::List(ordered) => match self.lists.pop() {
                Some(l) if l.task => out.push_str("</ac:task-list>"),
                _ if ordered => out.push_str("</ol>"),
                _ => out.push_str("</ul>"),
            },
            TagEnd::Item => match self.lists.last() {
                Some(l) if l.task => out.push_str("</ac:task-body></ac:task>"),
                _ => out.push_str("</li>"),
            },
            TagEnd::Table => out.push_str("</tbody></table>"),
            TagEnd::TableHead => {
                self.in_table_head = false;
                out.push_str("</tr>");
            }
            TagEnd::TableRow => out.push_str("</tr>"),
            TagEnd::TableCell => out.push_str(if self.in_table_head { "</th>" } else { "</td>" }),
            TagEnd::Emphasis => {
                out.push_str("</em>");
                drop_if_unchanged(out, self.inline_placeholder.take());
            }
            TagEnd::Strong => out.push_str("</strong>"),
            TagEnd::Strikethrough => out.push_str("</s>"),
            TagEnd::Link => out.push_str("</a>"),
            _ => {}
        }
    }

    fn text(&mut self, index: usize, text: &str) {
        // An odd run of backslashes right before it: the first character was escaped.
        let before = self.markdown.get(..self.starts[index]).unwrap_or("");
        let slashes = before.len() - before.trim_end_matches('\\').len();
        let escaped = slashes % 2 == 1;
        inline::text_to_storage(text, escaped, &mut self.out)
    }

    fn inline_html(&mut self, h: &str) {
        html(h, &mut self.out, &mut self.details);
        // An inline kept macro's placeholder (`*…*`) follows it: not content.
        self.inline_placeholder = kept_placeholder(h).map(|text| {
            let mut s = String::from("<em>");
            escape_text(&text, &mut s);
            s.push_str("</em>");
            (self.out.len(), s)
        });
    }

    fn code_block_start(&mut self, kind: CodeBlockKind<'_>) {
        let (lang, params) = match kind {
            CodeBlockKind::Fenced(info) => (
                crate::code::confluence_language(&info)
                    .unwrap_or("")
                    .to_string(),
                crate::code::info_parameters(&info),
            ),
            CodeBlockKind::Indented => (String::new(), Vec::new()),
        };
        self.pending = Some(Pending::Code {
            lang,
            params,
            text: String::new(),
        });
    }

    fn list_start(&mut self, index: usize, start: Option<u64>) {
        let task = self.task_lists.contains(&index);
        self.lists.push(List { task, item_at: 0 });
        match start {
            _ if task => self.out.push_str("<ac:task-list>"),
            Some(1) => self.out.push_str("<ol>"),
            Some(n) => self.out.push_str(&format!("<ol start=\"{n}\">")),
            None => self.out.push_str("<ul>"),
        }
    }

    fn task_marker(&mut self, done: bool) {
        match self.lists.last() {
            // The item's `<li>` becomes the task's opening (a loose item's `<p>` follows it).
            Some(l) if l.task && self.out[l.item_at..].starts_with("<li>") => {
                let at = l.item_at;
                self.tasks += 1;
                self.out
                    .replace_range(at..at + "<li>".len(), &task_opening(self.tasks, done));
            }
            // A marker in a list that is not all tasks stays text.
            _ => {
                self.out.push_str(if done { "[x]" } else { "[ ]" });
                self.marker_space = true;
            }
        }
    }

    fn table_cell_start(&mut self) {
        let out = &mut self.out;
        out.push_str(if self.in_table_head { "<th" } else { "<td" });
        let align = match self.columns.get(self.column) {
            Some(Alignment::Left) => "left",
            Some(Alignment::Center) => "center",
            Some(Alignment::Right) => "right",
            _ => "",
        };
        if !align.is_empty() {
            out.push_str(&format!(" style=\"text-align: {align};\""));
        }
        out.push('>');
        self.column += 1;
    }

    /// A status, mention or heading link and a page or attachment link collect their text
    /// first; any other link is a plain `<a href>`.
    fn link_start(&mut self, dest_url: &str, title: &str) {
        if dest_url.starts_with(inline::STATUS_SCHEME)
            || dest_url.starts_with(inline::USER_SCHEME)
            || (dest_url.starts_with('#') && dest_url.len() > 1)
        {
            self.pending = Some(Pending::Inline {
                dest: dest_url.to_string(),
                text: String::new(),
            });
        } else if let Some((target, anchor)) = self.resolve(dest_url) {
            self.pending = Some(Pending::Ref {
                target,
                anchor,
                text: String::new(),
            });
        } else {
            self.out
                .push_str(&format!("<a href=\"{}\"", escape_attr(dest_url)));
            if !title.is_empty() {
                self.out
                    .push_str(&format!(" title=\"{}\"", escape_attr(title)));
            }
            self.out.push('>');
        }
    }

    /// A link's target: the caller's reading of a local path first, then the default one.
    fn resolve(&self, dest: &str) -> Option<(LinkTarget, Option<String>)> {
        let (path, fragment) = match dest.split_once('#') {
            Some((p, f)) => (p, Some(decode_target(f))),
            None => (dest, None),
        };
        if path.is_empty() || dest.contains("://") {
            return None;
        }
        let path = decode_target(path);
        let target = self
            .links
            .filter(|_| is_local(&path))
            .and_then(|f| f(&path))
            .or_else(|| default_target(&path))?;
        Some((target, fragment.filter(|f| !f.is_empty())))
    }

    /// Adds the event's text to what is pending, or writes it at its end.
    fn collect_pending(&mut self, ev: &Event<'_>) {
        let ended = matches!(
            (&self.pending, ev),
            (Some(Pending::Image { .. }), Event::End(TagEnd::Image))
                | (
                    Some(Pending::Inline { .. } | Pending::Ref { .. }),
                    Event::End(TagEnd::Link)
                )
                | (Some(Pending::Code { .. }), Event::End(TagEnd::CodeBlock))
        );
        if ended {
            self.write_pending();
            return;
        }
        match (&mut self.pending, ev) {
            (Some(Pending::Image { alt: text, .. }), Event::Text(t) | Event::Code(t))
            | (
                Some(Pending::Inline { text, .. } | Pending::Ref { text, .. }),
                Event::Text(t) | Event::Code(t),
            )
            | (Some(Pending::Code { text, .. }), Event::Text(t)) => text.push_str(t),
            _ => {}
        }
    }

    fn write_pending(&mut self) {
        match self.pending.take() {
            Some(Pending::Image { dest, title, alt }) => {
                image(&mut self.out, &mut self.images, &dest, &title, &alt);
            }
            Some(Pending::Inline { dest, text }) => self.inline_link(&dest, &text),
            Some(Pending::Ref {
                target,
                anchor,
                text,
            }) => {
                ref_link(&mut self.out, &target, anchor.as_deref(), &text);
                if let LinkTarget::Attachment { path } = target {
                    if !self.attachments.contains(&path) {
                        self.attachments.push(path);
                    }
                }
            }
            Some(Pending::Code { lang, params, text }) => {
                code_macro(&mut self.out, &lang, &params, &text);
            }
            None => {}
        }
    }

    /// A heading, status or mention link, its text collected.
    fn inline_link(&mut self, dest: &str, text: &str) {
        let out = &mut self.out;
        if let Some(fragment) = dest.strip_prefix('#') {
            let fragment = decode_target(fragment);
            let anchor = self.headings.text(&fragment).unwrap_or(&fragment);
            out.push_str(&format!(
                "<ac:link ac:anchor=\"{}\"><ac:plain-text-link-body><![CDATA[{}]]></ac:plain-text-link-body></ac:link>",
                escape_attr(anchor),
                text.replace("]]>", "]]]]><![CDATA[>")
            ));
        } else if dest.starts_with(inline::STATUS_SCHEME) {
            inline::status_storage(text, dest, out);
        } else {
            // The `@` written before a mention is part of its Markdown form.
            if out.ends_with('@') {
                out.pop();
            }
            inline::mention_storage(text, dest, out);
        }
    }

    /// Inside a raw HTML block, its lines are collected and written whole at its end.
    /// True when the event was taken.
    fn collect_html_block(&mut self, ev: &Event<'_>) -> bool {
        let Some(block) = &mut self.html_block else {
            return false;
        };
        match ev {
            Event::Html(h) => {
                block.push_str(h);
                true
            }
            Event::End(TagEnd::HtmlBlock) => {
                let block = self.html_block.take().unwrap_or_default();
                self.html_block_end(&block);
                true
            }
            _ => false,
        }
    }

    fn html_block_end(&mut self, block: &str) {
        if let Some(kept) = panel_opening(block) {
            self.kept_panel_opening(kept);
        } else if let Some((kept, rest)) = kept_then_text(block) {
            // `<!-- confluence X -->text`: a paragraph that starts with a kept
            // inline element (CommonMark reads the line as an HTML block).
            self.out.push_str("<p>");
            raw_html(kept, &mut self.out);
            let rest = convert(rest, None, self.links).body;
            let inner = rest
                .strip_prefix("<p>")
                .and_then(|r| r.strip_suffix("</p>"))
                .filter(|r| !r.contains("<p>"));
            match inner {
                Some(inner) => self.out.push_str(inner),
                None => self.out.push_str(&rest),
            }
            self.out.push_str("</p>");
        } else {
            for line in block.split_inclusive('\n') {
                html(line, &mut self.out, &mut self.details);
            }
            // A kept macro's visible placeholder line follows it: not content.
            if let Some(text) = kept_placeholder(block) {
                let mut s = String::from("<p><em>");
                escape_text(&text, &mut s);
                s.push_str("</em></p>");
                self.title_para = Some((self.out.len(), s));
            }
        }
    }

    /// A kept panel opening as an alert's first block replaces the alert's default opening.
    fn kept_panel_opening(&mut self, kept: KeptPanel) {
        let Some(a) = self.alert.take() else {
            return;
        };
        self.out.truncate(a.open_at);
        self.out.push_str(&kept.xml);
        self.out.push_str("<ac:rich-text-body>");
        self.title_para = kept.title.map(|t| {
            let mut s = String::from("<p><strong>");
            escape_text(t.trim(), &mut s);
            s.push_str("</strong></p>");
            (self.out.len(), s)
        });
    }
}

/// Removes what was written from `at` on when it is exactly `expected` (a placeholder
/// nobody changed).
fn drop_if_unchanged(out: &mut String, written: Option<(usize, String)>) {
    if let Some((at, expected)) = written {
        if out.get(at..) == Some(expected.as_str()) {
            out.truncate(at);
        }
    }
}

const EXPAND_OPEN: &str = "<ac:structured-macro ac:name=\"expand\">";

const EXPAND_BODY: &str = "<ac:rich-text-body>";

const EXPAND_CLOSE: &str = "</ac:rich-text-body></ac:structured-macro>";

/// The panel macro a GitHub alert becomes by default (see `md::panel_alert` for the mapping).
fn alert_opening(kind: BlockQuoteKind) -> &'static str {
    match kind {
        BlockQuoteKind::Note => "<ac:structured-macro ac:name=\"info\">",
        BlockQuoteKind::Tip => "<ac:structured-macro ac:name=\"tip\">",
        BlockQuoteKind::Important => {
            "<ac:structured-macro ac:name=\"note\"><ac:parameter ac:name=\"title\">Important</ac:parameter>"
        }
        BlockQuoteKind::Warning => "<ac:structured-macro ac:name=\"note\">",
        BlockQuoteKind::Caution => "<ac:structured-macro ac:name=\"warning\">",
    }
}

fn task_opening(id: usize, done: bool) -> String {
    let status = if done { "complete" } else { "incomplete" };
    format!("<ac:task><ac:task-id>{id}</ac:task-id><ac:task-status>{status}</ac:task-status><ac:task-body>")
}

/// A panel's kept opening (`<!-- confluence-panel … -->`) and the title it names.
struct KeptPanel {
    xml: String,
    title: Option<String>,
}

fn panel_opening(block: &str) -> Option<KeptPanel> {
    let open = crate::md::PANEL_OPEN;
    let inner = block
        .trim()
        .strip_prefix(open)?
        .strip_suffix(crate::md::KEEP_CLOSE.trim_start())?
        .trim_end();
    if !inner.starts_with("<ac:structured-macro") {
        return None;
    }
    let nodes = crate::dom::parse(&format!("{inner}</ac:structured-macro>"));
    let title = nodes.iter().find_map(|n| match n {
        crate::dom::Node::Element(e) => e.parameter("title"),
        _ => None,
    });
    Some(KeptPanel {
        xml: inner.to_string(),
        title: title.filter(|t| !t.trim().is_empty()),
    })
}

/// A one-line HTML block made of kept comments followed by text: (the comments, the text).
fn kept_then_text(block: &str) -> Option<(&str, &str)> {
    let line = block.trim_end_matches('\n');
    if line.contains('\n') || !line.starts_with(crate::md::KEEP_OPEN) {
        return None;
    }
    let mut end = 0;
    while line[end..].starts_with(crate::md::KEEP_OPEN) {
        end += line[end..].find("-->")? + 3;
    }
    let rest = &line[end..];
    (!rest.trim().is_empty()).then_some((&line[..end], rest))
}

/// The placeholder line export writes under a kept macro (a block holding just its comment).
fn kept_placeholder(block: &str) -> Option<String> {
    let inner = block
        .trim()
        .strip_prefix(crate::md::KEEP_OPEN)?
        .strip_suffix(crate::md::KEEP_CLOSE.trim_start())?
        .trim();
    if inner.contains("<!--") {
        return None;
    }
    match crate::dom::parse(inner).as_slice() {
        [crate::dom::Node::Element(e)]
            if matches!(e.name.as_str(), "ac:structured-macro" | "ac:macro") =>
        {
            crate::md::placeholder(e)
        }
        _ => None,
    }
}

/// Raw HTML: `<details>` / `<summary>` / `</details>` become the expand macro, the rest goes
/// through [`raw_html`].
fn html(h: &str, out: &mut String, details: &mut Vec<usize>) {
    let mut rest = h;
    loop {
        let lower = rest.to_ascii_lowercase();
        let next = ["<details", "<summary", "</details>"]
            .iter()
            .filter_map(|t| lower.find(t).map(|i| (i, *t)))
            .filter(|(i, t)| {
                // `<details>` / `<details open>`, not `<detailsx>`.
                let after = lower[i + t.len()..].chars().next();
                *t == "</details>" || matches!(after, Some('>' | ' ' | '\t' | '\n'))
            })
            .min();
        let Some((i, tag)) = next else { break };
        raw_html(&rest[..i], out);
        let after = &rest[i..];
        let Some(gt) = after.find('>') else { break };
        match tag {
            "<details" => {
                details.push(out.len());
                out.push_str(EXPAND_OPEN);
                out.push_str(EXPAND_BODY);
                rest = &after[gt + 1..];
            }
            "<summary" => {
                let body = &after[gt + 1..];
                let end = body.to_ascii_lowercase().find("</summary>");
                let (title, next) = match end {
                    Some(e) => (&body[..e], &body[e + "</summary>".len()..]),
                    None => (body, ""),
                };
                // The title goes before the body as a parameter, as text.
                let plain = crate::dom::text_of(&crate::dom::parse(title));
                // Collapsed like HTML shows it (and like export writes it back).
                let plain = plain.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
                if let Some(&at) = details.last().filter(|_| !plain.trim().is_empty()) {
                    let mut param = String::from("<ac:parameter ac:name=\"title\">");
                    escape_text(&plain, &mut param);
                    param.push_str("</ac:parameter>");
                    if out[at..].starts_with(&format!("{EXPAND_OPEN}{EXPAND_BODY}")) {
                        out.insert_str(at + EXPAND_OPEN.len(), &param);
                    }
                }
                rest = next;
            }
            _ => {
                if details.pop().is_some() {
                    out.push_str(EXPAND_CLOSE);
                }
                rest = &after[gt + 1..];
            }
        }
    }
    raw_html(rest, out);
}

/// Raw HTML: `<!-- confluence X -->` becomes X, other comments are dropped, the rest is kept.
fn raw_html(h: &str, out: &mut String) {
    let mut rest = h.trim_end_matches('\n');
    while let Some(i) = rest.find("<!--") {
        push_xhtml(&rest[..i], out);
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
    push_xhtml(rest, out);
}

/// Raw HTML written by hand, with HTML's unclosed void tags closed (`<br>` → `<br />`):
/// storage format is XHTML, and Confluence refuses a page whose body does not parse.
fn push_xhtml(html: &str, out: &mut String) {
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        let Some(end) = tag.find('>') else { break };
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let void = matches!(name.as_str(), "br" | "hr" | "img" | "col" | "wbr");
        if void && !tag[..end].ends_with('/') {
            out.push_str(tag[..end].trim_end());
            out.push_str(" />");
        } else {
            out.push_str(&tag[..=end]);
        }
        rest = &tag[end + 1..];
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

/// `<ac:link>` to a page or an attachment, with its text as a plain-text link body.
fn ref_link(out: &mut String, target: &LinkTarget, anchor: Option<&str>, text: &str) {
    out.push_str("<ac:link");
    if let Some(a) = anchor {
        out.push_str(&format!(" ac:anchor=\"{}\"", escape_attr(a)));
    }
    out.push('>');
    match target {
        LinkTarget::Page { space, title } => {
            out.push_str("<ri:page");
            if let Some(s) = space {
                out.push_str(&format!(" ri:space-key=\"{}\"", escape_attr(s)));
            }
            out.push_str(&format!(" ri:content-title=\"{}\" />", escape_attr(title)));
        }
        LinkTarget::Attachment { path } => out.push_str(&format!(
            "<ri:attachment ri:filename=\"{}\" />",
            escape_attr(file_name(path))
        )),
    }
    if !text.is_empty() {
        out.push_str("<ac:plain-text-link-body><![CDATA[");
        out.push_str(&text.replace("]]>", "]]]]><![CDATA[>"));
        out.push_str("]]></ac:plain-text-link-body>");
    }
    out.push_str("</ac:link>");
}

fn code_macro(out: &mut String, lang: &str, params: &[(String, String)], text: &str) {
    out.push_str("<ac:structured-macro ac:name=\"code\">");
    if !lang.is_empty() {
        out.push_str("<ac:parameter ac:name=\"language\">");
        escape_text(lang, out);
        out.push_str("</ac:parameter>");
    }
    for (k, v) in params {
        out.push_str(&format!("<ac:parameter ac:name=\"{}\">", escape_attr(k)));
        escape_text(v, out);
        out.push_str("</ac:parameter>");
    }
    // A CDATA section cannot hold "]]>": split it across two sections.
    // Trailing blank lines carry nothing (and an unclosed fence in a list item collects them).
    let body = text.trim_end_matches('\n');
    out.push_str("<ac:plain-text-body><![CDATA[");
    out.push_str(&body.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]></ac:plain-text-body></ac:structured-macro>");
}

/// How many leading events form a level-1 heading whose text is `title`.
fn title_heading_len(events: &[Event], title: &str) -> usize {
    if !matches!(
        events.first(),
        Some(Event::Start(Tag::Heading {
            level: HeadingLevel::H1,
            ..
        }))
    ) {
        return 0;
    }
    let mut text = String::new();
    for (i, ev) in events.iter().enumerate().skip(1) {
        match ev {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::End(TagEnd::Heading(_)) => {
                return if text.trim() == title.trim() {
                    i + 1
                } else {
                    0
                };
            }
            Event::Start(_) | Event::End(_) => {}
            _ => return 0,
        }
    }
    0
}

pub(crate) fn convert(
    markdown: &str,
    title: Option<&str>,
    links: Option<LinkResolver<'_>>,
) -> Storage {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_GFM
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    // Where each event starts in the source: text right after a backslash escape begins there.
    let (mut events, mut starts): (Vec<Event>, Vec<usize>) = Parser::new_ext(markdown, options)
        .into_offset_iter()
        .map(|(ev, range)| (ev, range.start))
        .unzip();
    if let Some(title) = title {
        let skip = title_heading_len(&events, title);
        events.drain(..skip);
        starts.drain(..skip);
    }
    let mut writer = Writer::new(markdown, links, &events, starts);
    for (index, ev) in events.into_iter().enumerate() {
        writer.event(index, ev);
    }
    writer.finish()
}
