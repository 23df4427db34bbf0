//! Markdown → Confluence storage format, one pass over pulldown-cmark's events.

use crate::link::LinkResolver;
use crate::writer::{convert, Storage};

/// Converts Markdown to storage format.
pub fn to_storage(markdown: &str) -> Storage {
    convert(markdown, None, None)
}

/// Like [`to_storage_titled`] (when `title` is given), with local links mapped by `links`
/// first (e.g. `other.md` → the page published from it).
pub fn to_storage_linked(markdown: &str, title: Option<&str>, links: LinkResolver<'_>) -> Storage {
    convert(markdown, title, Some(links))
}

/// Like [`to_storage`] for a page titled `title`: a leading `# Title` heading equal to it is
/// dropped, since Confluence shows the title above the body already.
pub fn to_storage_titled(markdown: &str, title: &str) -> Storage {
    convert(markdown, Some(title), None)
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
    fn title_heading_is_not_repeated() {
        let md = "# Release *1.2*\n\nBody.\n\n# Release 1.2\n";
        assert_eq!(
            to_storage_titled(md, "Release 1.2").body,
            "<p>Body.</p><h1>Release 1.2</h1>"
        );
        // Another title, or not the first block: kept.
        assert!(to_storage_titled(md, "Other").body.starts_with("<h1>"));
        assert_eq!(
            to_storage_titled("Intro\n\n# T\n", "T").body,
            "<p>Intro</p><h1>T</h1>"
        );
    }

    #[test]
    fn raw_details_never_reach_storage() {
        // Unclosed, with attributes, and a stray close: always balanced expand macros.
        let s = to_storage("<details open>\n<summary>A <b>bold</b> title</summary>\n\nbody\n");
        assert_eq!(
            s.body,
            "<ac:structured-macro ac:name=\"expand\"><ac:parameter ac:name=\"title\">A bold title</ac:parameter><ac:rich-text-body><p>body</p></ac:rich-text-body></ac:structured-macro>"
        );
        let s = to_storage("text\n\n</details>\n");
        assert_eq!(s.body, "<p>text</p>");
    }

    #[test]
    fn hand_written_void_tags_are_closed() {
        let s = to_storage("a<br>b<BR/>c\n\n<hr>\n");
        assert_eq!(s.body, "<p>a<br />b<BR/>c</p><hr />");
    }

    #[test]
    fn tasks_only_in_bullet_lists() {
        let s = to_storage("1. [ ] first\n2. [x] second\n");
        assert_eq!(s.body, "<ol><li>[ ] first</li><li>[x] second</li></ol>");
        let back = crate::to_markdown(&s.body, &Default::default());
        assert_eq!(back, "1. \\[ \\] first\n2. \\[x\\] second\n");
    }

    #[test]
    fn cdata_end_in_code_is_split() {
        let s = to_storage("```\na ]]> b\n```\n");
        assert!(s.body.contains("a ]]]]><![CDATA[> b"), "{}", s.body);
        let back = crate::to_markdown(&s.body, &Default::default());
        assert!(back.contains("a ]]> b"), "{back}");
    }
}
