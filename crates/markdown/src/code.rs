//! Code block languages: Markdown's fence info string ↔ the `code` macro's `language` parameter.
//!
//! Confluence's code macro highlights a fixed list of languages (Data Center's brushes, which
//! Cloud's editor extends). Publish writes a name from that list: a Confluence name passes as is,
//! a common Markdown alias maps to its Confluence name (`sh` → `bash`, `py` → `python`, `yml` →
//! `yaml`, `html` → `xml` …), and anything else (or `text`) becomes a block without a language,
//! which Confluence shows as plain text. Export writes the parameter as it is, so export →
//! publish → export keeps it. The macro's other parameters travel in the info string after the
//! language as `name=value` words (`title="Main class" linenumbers=true`, as MkDocs writes a
//! block's title); only the code macro's own parameters ([`PARAMETERS`]) are read back.

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

/// The code macro's parameters besides the language.
pub const PARAMETERS: &[&str] = &["title", "linenumbers", "firstline", "collapse", "theme"];

/// The words of an info string; `"…"` quotes may hold spaces (`\"` a quote).
fn words(info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = info.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => cur.extend(chars.next()),
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The code macro parameters an info string carries (`name=value` words, known names only).
pub fn info_parameters(info: &str) -> Vec<(String, String)> {
    words(info)
        .into_iter()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            let k = k.to_ascii_lowercase();
            PARAMETERS.contains(&k.as_str()).then(|| (k, v.to_string()))
        })
        .collect()
}

/// The info string for a block in `lang` with `params`.
pub fn info_string(lang: &str, params: &[(String, String)]) -> String {
    let mut out = lang.trim().to_string();
    for (k, v) in params {
        if !out.is_empty() {
            out.push(' ');
        }
        let plain = !v.is_empty()
            && !v
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '`');
        if plain {
            out.push_str(&format!("{k}={v}"));
        } else {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("{k}=\"{escaped}\""));
        }
    }
    out
}

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

    #[test]
    fn parameters_ride_in_the_info_string() {
        let params = vec![
            ("title".to_string(), "Main \"class\"".to_string()),
            ("linenumbers".to_string(), "true".to_string()),
        ];
        let info = info_string("java", &params);
        assert_eq!(info, "java title=\"Main \\\"class\\\"\" linenumbers=true");
        assert_eq!(info_parameters(&info), params);
        assert_eq!(info_parameters("python {.numberLines} x=1"), vec![]);
    }
}
