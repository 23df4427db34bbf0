//! Extender's rules under the gateway's matching: Extender searched each regex anywhere in the
//! raw request path (and in a condition's value); the gateway matches the whole normalised path
//! (and the whole value). [`convert_line`] says, for one Extender rule line, the gateway rule that
//! allows the same requests, and whether that needed a change, so an import never changes a
//! rule's meaning silently.
//!
//! A search for `P` is the whole-match of `.*(?:P).*` (paths hold no newline: the normaliser
//! refuses control characters), so every regex has an anchored equivalent; the conversion only
//! keeps the admin's text when it already starts and ends open (`.*`, `.+`) or anchored (`^`, `$`).
//! What has no equivalent is refused: a rule on percent-escapes (the gateway matches the decoded
//! path) and one that doesn't compile.

use super::rule::{parse_line, Condition};

/// One Extender rule line as a gateway rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// The line means the same under anchored matching: kept as written.
    Same(String),
    /// Opened with `.*` where Extender's search was open: the same requests, new text.
    Rewritten { rule: String, why: String },
    /// No gateway rule means the same; `why` says what to do instead.
    Refused { why: String },
}

/// The gateway rule that allows what the Extender rule `line` allowed.
pub fn convert_line(line: &str) -> Converted {
    let spec = match parse_line(line) {
        Ok(spec) => spec,
        Err(e) => return Converted::Refused { why: e },
    };
    let mut changed = Vec::new();
    let mut text = String::new();
    if !spec.methods.is_empty() {
        text.push('[');
        text.push_str(&spec.methods.join("|"));
        text.push(']');
    }
    for (what, re) in std::iter::once(("the URL regex", &spec.url)).chain(
        spec.conditions.iter().map(|c| match c {
            Condition::QueryParam { regex, .. } | Condition::JsonData { regex, .. } => {
                ("a condition's regex", regex)
            }
        }),
    ) {
        if let Err(e) = regex::Regex::new(re) {
            return Converted::Refused {
                why: format!("{what} `{re}` does not compile: {e}"),
            };
        }
        if what == "the URL regex" && re.contains('%') {
            return Converted::Refused {
                why: format!(
                    "the URL regex `{re}` names percent-escapes: Extender saw the raw path, the \
                     gateway sees it decoded (`%7E` is `~`); write the rule on the decoded path"
                ),
            };
        }
    }
    let url = open_ended(&spec.url);
    if url != spec.url {
        changed.push(format!("URL `{}` → `{url}`", spec.url));
    }
    text.push_str(&url);
    for c in &spec.conditions {
        let (kind, name, regex) = match c {
            Condition::QueryParam { name, regex } => ("QueryParam", name, regex),
            Condition::JsonData { pointer, regex } => ("JsonData", pointer, regex),
        };
        let open = open_ended(regex);
        if &open != regex {
            changed.push(format!("{kind} {name} `{regex}` → `{open}`"));
        }
        text.push_str(&format!("[{kind}::{name}=={open}]"));
    }
    if changed.is_empty() {
        // The admin's own text, which parses to the same rule.
        Converted::Same(line.trim().to_string())
    } else {
        Converted::Rewritten {
            rule: text,
            why: format!(
                "Extender matched anywhere, the gateway matches whole: {} (same requests allowed; \
                 tighten it by hand if less was meant)",
                changed.join(", ")
            ),
        }
    }
}

/// `re` rewritten so that its whole-match is `re`'s search; `re` itself when already so.
pub fn open_ended(re: &str) -> String {
    let alternation = has_top_level_alternation(re);
    let left =
        !alternation && (re.starts_with(".*") || re.starts_with(".+") || re.starts_with('^'));
    let right = !alternation
        && (ends_unescaped(re, ".*") || ends_unescaped(re, ".+") || ends_unescaped(re, "$"));
    match (left, right) {
        (true, true) => re.to_string(),
        (true, false) => format!("{re}.*"),
        (false, true) => format!(".*{re}"),
        (false, false) if alternation => format!(".*(?:{re}).*"),
        (false, false) => format!(".*{re}.*"),
    }
}

/// Whether `re` ends in `tail` whose first character is not escaped by a backslash.
fn ends_unescaped(re: &str, tail: &str) -> bool {
    let Some(before) = re.strip_suffix(tail) else {
        return false;
    };
    let backslashes = before.bytes().rev().take_while(|&b| b == b'\\').count();
    backslashes % 2 == 0
}

/// A `|` outside every group and character class (then `^`/`$` bind only one branch). When
/// unsure (unbalanced text), says yes: the caller then wraps the whole regex, which is always
/// right.
fn has_top_level_alternation(re: &str) -> bool {
    let mut depth = 0usize;
    let mut class = 0usize;
    let mut bytes = re.bytes().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                bytes.next();
            }
            b'[' => {
                class += 1;
                // `[]…]` and `[^]…]`: a leading `]` is literal.
                if bytes.peek() == Some(&b'^') {
                    bytes.next();
                }
                if bytes.peek() == Some(&b']') {
                    bytes.next();
                }
            }
            b']' if class > 0 => class -= 1,
            _ if class > 0 => {}
            b'(' => depth += 1,
            b')' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            b'|' if depth == 0 => return true,
            _ => {}
        }
    }
    depth != 0 || class != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (Extender line, the gateway rule, whether it had to change)
    const CASES: &[(&str, &str, bool)] = &[
        // Extender's documented example: open at both ends already.
        (
            "[post].*/rest/api/space/EXTENDER/property.*",
            "[post].*/rest/api/space/EXTENDER/property.*",
            false,
        ),
        ("^/rest/api/space$", "^/rest/api/space$", false),
        (".+/rest/api/content/.+", ".+/rest/api/content/.+", false),
        // A prefix: Extender allowed it anywhere, below it too.
        ("/rest/api/space", ".*/rest/api/space.*", true),
        ("^/rest/api/space", "^/rest/api/space.*", true),
        (".*/rest/api/space", ".*/rest/api/space.*", true),
        ("/rest/api/content/\\d+$", ".*/rest/api/content/\\d+$", true),
        // An escaped dot or dollar is not an open end.
        ("/a\\.*", ".*/a\\.*.*", true),
        ("/cost\\$", ".*/cost\\$.*", true),
        ("/a\\\\.*", ".*/a\\\\.*", true),
        // Alternation binds looser than the anchors: wrapped as a whole.
        ("^/a|/b$", ".*(?:^/a|/b$).*", true),
        (".*/(space|content).*", ".*/(space|content).*", false),
        (".*/[|(]x.*", ".*/[|(]x.*", false),
        // Methods are kept; conditions are searched too.
        (
            "[GET,post].*/rest/api/content.*[QueryParam::spaceKey==DEV]",
            "[GET|POST].*/rest/api/content.*[QueryParam::spaceKey==.*DEV.*]",
            true,
        ),
        (
            ".*/rest/api/content.*[QueryParam::spaceKey==^DEV$]",
            ".*/rest/api/content.*[QueryParam::spaceKey==^DEV$]",
            false,
        ),
        (
            "[post].*/rest/api/content.*[JsonData::space.key==^OPS$]",
            "[post].*/rest/api/content.*[JsonData::space.key==^OPS$]",
            false,
        ),
        (
            "[post].*/rest/api/content.*[JsonData::space.key==OPS]",
            "[POST].*/rest/api/content.*[JsonData::/space/key==.*OPS.*]",
            true,
        ),
    ];

    #[test]
    fn conversions() {
        for &(line, want, changes) in CASES {
            match convert_line(line) {
                Converted::Same(rule) => {
                    assert!(!changes, "{line}: expected a rewrite, kept");
                    assert_eq!(rule, want, "{line}");
                }
                Converted::Rewritten { rule, why } => {
                    assert!(changes, "{line}: rewritten needlessly to {rule}");
                    assert_eq!(rule, want, "{line}");
                    assert!(why.contains("anywhere"), "{why}");
                }
                Converted::Refused { why } => panic!("{line}: refused: {why}"),
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        for (line, says) in [
            (".*/display/My%20Space.*", "percent-escapes"),
            ("/rest/(api", "does not compile"),
            ("[pst]/x", "unknown method"),
            (".*[QueryParam::a==(]", "does not compile"),
        ] {
            match convert_line(line) {
                Converted::Refused { why } => assert!(why.contains(says), "{line}: {why}"),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    /// The converted rule allows, anchored, exactly the paths Extender's search allowed.
    #[test]
    fn converted_rules_allow_what_extender_allowed() {
        let paths = [
            "/rest/api/space",
            "/rest/api/space/DEV",
            "/confluence/rest/api/space",
            "/rest/api/spaces",
            "/rest/api/content/12",
            "/rest/api/content/12/child",
            "/a",
            "/b",
            "/x/b",
            "/a/x",
        ];
        for re in [
            "/rest/api/space",
            "^/rest/api/space$",
            "/rest/api/content/\\d+$",
            "^/a|/b$",
            ".*/rest/api/space.*",
        ] {
            let search = regex::Regex::new(re).unwrap();
            let whole = regex::Regex::new(&format!("^(?:{})$", open_ended(re))).unwrap();
            for p in paths {
                assert_eq!(search.is_match(p), whole.is_match(p), "{re} on {p}");
            }
        }
    }
}
