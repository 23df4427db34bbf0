//! Code block languages: Markdown's fence info string ↔ the `code` macro's `language` parameter.
//!
//! Confluence's code macro highlights a fixed list of languages (Data Center's brushes, which
//! Cloud's editor extends). Publish writes a name from that list: a Confluence name passes as is,
//! a common Markdown alias maps to its Confluence name (`sh` → `bash`, `py` → `python`, `yml` →
//! `yaml`, `html` → `xml` …), and anything else (or `text`) becomes a block without a language,
//! which Confluence shows as plain text. Export writes the parameter as it is, so export →
//! publish → export keeps it.

/// The languages Confluence's code macro knows (Data Center's list first, then Cloud's additions).
pub const LANGUAGES: &[&str] = &[
    "actionscript3",
    "applescript",
    "bash",
    "csharp",
    "coldfusion",
    "cpp",
    "css",
    "delphi",
    "diff",
    "erlang",
    "groovy",
    "java",
    "javafx",
    "javascript",
    "perl",
    "php",
    "powershell",
    "python",
    "ruby",
    "sass",
    "scala",
    "sql",
    "vb",
    "xml",
    "yaml",
    // Cloud's editor adds these.
    "c",
    "clojure",
    "dart",
    "go",
    "graphql",
    "haskell",
    "json",
    "kotlin",
    "lua",
    "markdown",
    "objective-c",
    "r",
    "rust",
    "swift",
    "typescript",
];

/// Markdown aliases and their Confluence names.
const ALIASES: &[(&str, &str)] = &[
    ("sh", "bash"),
    ("shell", "bash"),
    ("zsh", "bash"),
    ("console", "bash"),
    ("shell-session", "bash"),
    ("c#", "csharp"),
    ("cs", "csharp"),
    ("c++", "cpp"),
    ("cc", "cpp"),
    ("hpp", "cpp"),
    ("h", "c"),
    ("as3", "actionscript3"),
    ("actionscript", "actionscript3"),
    ("pascal", "delphi"),
    ("patch", "diff"),
    ("erl", "erlang"),
    ("js", "javascript"),
    ("jsx", "javascript"),
    ("mjs", "javascript"),
    ("node", "javascript"),
    ("ts", "typescript"),
    ("tsx", "typescript"),
    ("pl", "perl"),
    ("ps1", "powershell"),
    ("pwsh", "powershell"),
    ("py", "python"),
    ("python3", "python"),
    ("rb", "ruby"),
    ("scss", "sass"),
    ("vbnet", "vb"),
    ("vba", "vb"),
    ("html", "xml"),
    ("xhtml", "xml"),
    ("svg", "xml"),
    ("yml", "yaml"),
    ("golang", "go"),
    ("kt", "kotlin"),
    ("rs", "rust"),
    ("md", "markdown"),
    ("objc", "objective-c"),
    ("postgresql", "sql"),
    ("mysql", "sql"),
    ("jsonc", "json"),
];

/// The Confluence language for a fence's info string (its first word), or `None` for a block
/// without one (unknown languages and plain text).
pub fn confluence_language(info: &str) -> Option<&'static str> {
    let word = info.split_whitespace().next()?.to_ascii_lowercase();
    if let Some(l) = LANGUAGES.iter().find(|l| **l == word) {
        return Some(l);
    }
    ALIASES.iter().find(|(a, _)| *a == word).map(|(_, l)| *l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_and_unknown_languages_drop() {
        assert_eq!(confluence_language("rust"), Some("rust"));
        assert_eq!(confluence_language("SH"), Some("bash"));
        assert_eq!(confluence_language("py title=x"), Some("python"));
        assert_eq!(confluence_language("html"), Some("xml"));
        assert_eq!(confluence_language("mermaid"), None);
        assert_eq!(confluence_language("text"), None);
        assert_eq!(confluence_language(""), None);
    }
}
