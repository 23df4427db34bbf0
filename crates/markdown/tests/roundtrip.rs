//! Property: any Markdown document built from the constructs cfl supports (headings, paragraphs
//! with emphasis, code and links, nested lists, fenced code, tables, images, GitHub alerts, task
//! lists, `<details>`, status, mentions, emoticons) is stable after one
//! normalisation pass: md → storage → md' → storage' gives storage' == storage and md'' == md'.

use cfl_markdown::{to_markdown, to_storage, Links};
use proptest::prelude::*;

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,8}",
        Just("x*y".to_string()),
        Just("a_b".to_string()),
        Just("\\<tag>".to_string()),
        Just("R&D".to_string()),
        Just("[br]".to_string()),
        Just("back\\slash".to_string()),
        Just("#1".to_string()),
        Just("1.".to_string()),
        Just("-".to_string()),
        Just("`tick`".to_string()),
        Just("ünïcödé".to_string()),
        Just("1.2.0".to_string()),
        Just("snake_case_name".to_string()),
        Just("a<b".to_string()),
        Just("<".to_string()),
        Just("-flag".to_string()),
        Just("+1".to_string()),
        Just("#tag".to_string()),
        Just("C:\\dir\\file".to_string()),
        Just("_lead".to_string()),
        Just("trail_".to_string()),
        Just("===".to_string()),
        Just("~~~".to_string()),
        Just("[x] y".to_string()),
        Just("[!NOTE]".to_string()),
    ]
}

fn inline() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => word(),
        1 => "[a-zA-Z]{1,8}( [a-z]{1,4})?".prop_map(|w| format!("**{w}**")),
        1 => "[a-z]{1,6}".prop_map(|w| format!("*{w}*")),
        1 => "[a-z ]{1,6}".prop_map(|w| format!("`{}`", w.trim().replace(' ', "_"))),
        1 => "[a-z]{1,6}".prop_map(|w| format!("[{w}](https://example.com/{w})")),
        1 => "[a-z]{1,6}".prop_map(|w| format!("![{w}]({w}.png)")),
        1 => ("[A-Z]{1,6}", "(|green|red;subtle)").prop_map(|(w, c)| format!("[{w}](status:{c})")),
        1 => ("[a-z]{1,6}", "(|Jane Doe)").prop_map(|(u, t)| {
            let t = if t.is_empty() { u.clone() } else { t };
            format!("@[{t}](user:username:{u})")
        }),
        1 => Just(":tick:".to_string()),
        1 => "[a-z]{1,6}".prop_map(|w| format!("[to {w}](#{w})")),
        1 => Just("\\:smile:".to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.join(" "))
}

fn block() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => inline(),
        1 => (1usize..7, inline()).prop_map(|(l, t)| format!("{} {t}", "#".repeat(l))),
        1 => ("(rust|bash|)", "[a-z<>&\\]\\[ ]{0,20}").prop_map(|(l, c)| format!("```{l}\n{c}\n```")),
        1 => prop::collection::vec(inline(), 1..4)
            .prop_map(|items| items.iter().map(|i| format!("- {i}")).collect::<Vec<_>>().join("\n")),
        1 => prop::collection::vec(inline(), 1..4).prop_map(|items| {
            items.iter().enumerate().map(|(n, i)| format!("{}. {i}", n + 1)).collect::<Vec<_>>().join("\n")
        }),
        1 => (inline(), inline()).prop_map(|(a, b)| format!("- {a}\n  - {b}")),
        1 => prop::collection::vec(("[a-z]{1,5}", "[a-z]{1,5}"), 1..4).prop_map(|rows| {
            let mut t = String::from("| h1 | h2 |\n| :---: | ---: |");
            for (a, b) in rows {
                t.push_str(&format!("\n| {a} | {b} |"));
            }
            t
        }),
        1 => inline().prop_map(|t| format!("> {t}")),
        // A definition that starts with a paragraph (other blocks leave the definition on export).
        1 => (inline(), "[a-z]{1,6}", inline())
            .prop_map(|(a, w, b)| format!("{a}[^n1]\n\n[^n1]: {w} {b}")),
        1 => ("(NOTE|TIP|IMPORTANT|WARNING|CAUTION)", inline(), inline())
            .prop_map(|(k, a, b)| format!("> [!{k}]\n> {a}\n>\n> - {b}")),
        1 => prop::collection::vec((any::<bool>(), inline()), 1..4).prop_map(|items| {
            items
                .iter()
                .map(|(done, t)| format!("- [{}] {t}", if *done { "x" } else { " " }))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        1 => ("[a-zA-Z &<]{0,12}", inline()).prop_map(|(title, body)| {
            let title = title.replace('&', "&amp;").replace('<', "&lt;");
            format!("<details>\n<summary>{title}</summary>\n\n{body}\n\n</details>")
        }),
    ];
    leaf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn stable_after_one_normalisation(blocks in prop::collection::vec(block(), 1..6)) {
        let md = blocks.join("\n\n");
        let s1 = to_storage(&md);
        let md2 = to_markdown(&s1.body, &Links::default());
        let s2 = to_storage(&md2);
        prop_assert_eq!(&s1.body, &s2.body, "markdown was:\n{}\nnormalised:\n{}", md, md2);
        let md3 = to_markdown(&s2.body, &Links::default());
        prop_assert_eq!(&md2, &md3);
        // Local images survive as attachment references.
        prop_assert_eq!(s1.images, s2.images);
    }
}

/// Pieces of both syntaxes, to throw together at random.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        Just("> [!NOTE]\n".to_string()),
        Just("- [ ] ".to_string()),
        Just("<details>".to_string()),
        Just("<summary>".to_string()),
        Just("</details>".to_string()),
        Just("[x](status:ö)".to_string()),
        Just("@[u](user:)".to_string()),
        Just("[a](#)".to_string()),
        Just(":tick:".to_string()),
        Just("<!-- confluence ".to_string()),
        Just("<!-- confluence-panel <ac:structured-macro".to_string()),
        Just(" -->".to_string()),
        Just("<ac:structured-macro ac:name=\"info\">".to_string()),
        Just("<ac:rich-text-body>".to_string()),
        Just("<ac:task-list><ac:task>".to_string()),
        Just("<ac:link ac:anchor=\"\">".to_string()),
        Just("<ri:user />".to_string()),
        Just("<table><tr><td><ul><li>".to_string()),
        Just("</p>".to_string()),
        Just("\n\n".to_string()),
        Just("| a |\n| :-: |\n".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    /// Any input, however broken, converts both ways without panicking.
    #[test]
    fn no_panic_on_any_input(parts in prop::collection::vec(fragment(), 0..12)) {
        let s = parts.concat();
        let _ = to_storage(&s);
        let _ = cfl_markdown::to_storage_titled(&s, "a");
        let _ = cfl_markdown::to_markdown_reported(&s, &Links::default());
        let _ = cfl_markdown::to_html(&s, "t", &Links::default());
    }
}
