//! Parsing one Extender-style restriction line:
//! `[method]URL-REGEX[QueryParam::name==regex][JsonData::node==regex]`.
//!
//! - `[get]`, `[POST]`, `[get|post]` or `[get,post]`: optional, case-insensitive.
//! - The URL regex is matched against the whole normalised path (anchored, unlike Extender,
//!   which matched unanchored on the raw URL: `.*/rest/api/space.*` keeps working, `/rest/api`
//!   no longer allows `/rest/api/anything`).
//! - Conditions trail the regex; several may be given and all must hold. A `JsonData` node is a
//!   dotted path (`space.key`, `ancestors[0].id`) or a JSON pointer (`/space/key`).

use std::fmt;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    QueryParam {
        name: String,
        regex: String,
    },
    /// `pointer` is an RFC 6901 JSON pointer.
    JsonData {
        pointer: String,
        regex: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Upper-case methods; empty = any method.
    pub methods: Vec<String>,
    pub url: String,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// 1-based line number in the restriction text.
    pub line: usize,
    pub text: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "restriction line {} `{}`: {}",
            self.line, self.text, self.message
        )
    }
}

impl std::error::Error for RuleError {}

/// Splits restriction text into lines the way Extender does: `\n`, a literal `\n` (backslash-n,
/// from JSON clients that double-escape) or `<br>`. Blank lines are ignored.
pub fn split_lines(text: &str) -> Vec<String> {
    let unified = text
        .replace("\r\n", "\n")
        .replace("\\n", "\n")
        .replace("<br />", "\n")
        .replace("<br/>", "\n")
        .replace("<br>", "\n")
        .replace("<BR>", "\n");
    unified
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses one line (without validating the regexes — that happens when compiling).
pub fn parse_line(line: &str) -> Result<RuleSpec, String> {
    let mut rest = line.trim();
    let mut methods = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or("the `[method]` prefix has no closing `]`")?;
        let inside = &after[..close];
        // A leading character class such as `[a-z]+` is not a method list: only treat the bracket
        // as methods when every entry is a word.
        if !inside.is_empty()
            && inside
                .split([',', '|'])
                .all(|m| m.trim().chars().all(|c| c.is_ascii_alphabetic()) && !m.trim().is_empty())
        {
            for m in inside.split([',', '|']) {
                let m = m.trim().to_ascii_uppercase();
                if !METHODS.contains(&m.as_str()) {
                    return Err(format!("unknown method `{m}` (use {})", METHODS.join(", ")));
                }
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
            rest = &after[close + 1..];
        }
    }

    let mut conditions = Vec::new();
    while rest.ends_with(']') {
        // The last `[Name::` of the line starts its last condition; any name but the two known
        // ones is refused rather than read as part of the regex.
        let Some((start, name)) = last_condition_mark(rest) else {
            break;
        };
        let is_query = if name.eq_ignore_ascii_case("QueryParam") {
            true
        } else if name.eq_ignore_ascii_case("JsonData") {
            false
        } else {
            return Err(unknown_condition(name));
        };
        let body = &rest[start + name.len() + 3..rest.len() - 1];
        let (name, regex) = body
            .split_once("==")
            .ok_or("a condition needs `name==regex`, e.g. `[QueryParam::spaceKey==DEV]`")?;
        let name = name.trim();
        if name.is_empty() {
            return Err("a condition needs a parameter or node name before `==`".into());
        }
        conditions.push(if is_query {
            Condition::QueryParam {
                name: name.to_string(),
                regex: regex.to_string(),
            }
        } else {
            Condition::JsonData {
                pointer: json_pointer(name)?,
                regex: regex.to_string(),
            }
        });
        rest = &rest[..start];
    }
    // Whatever still looks like a condition is not one: refused, not matched as regex text.
    if let Some((_, name)) = last_condition_mark(rest) {
        if name.eq_ignore_ascii_case("QueryParam") || name.eq_ignore_ascii_case("JsonData") {
            return Err(format!(
                "the `[{name}::…]` condition must end the line, after the URL regex \
                 (e.g. `/rest/api/content[QueryParam::spaceKey==DEV]`)"
            ));
        }
        return Err(unknown_condition(name));
    }
    conditions.reverse();

    let url = rest.trim();
    if url.is_empty() {
        return Err("the URL regex is empty (use `.*` to allow every path)".into());
    }
    Ok(RuleSpec {
        methods,
        url: url.to_string(),
        conditions,
    })
}

fn unknown_condition(name: &str) -> String {
    format!("unknown condition `{name}` (use QueryParam or JsonData)")
}

/// The last `[Name::` in `text` (a name of letters, digits and `_`, starting with a letter):
/// where its `[` is, and the name.
fn last_condition_mark(text: &str) -> Option<(usize, &str)> {
    text.rmatch_indices("::").find_map(|(colons, _)| {
        let before = &text[..colons];
        // By bytes: the byte found is ASCII or the last of a character, so `+ 1` is a boundary.
        let name_start = before
            .bytes()
            .rposition(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
            .map_or(0, |i| i + 1);
        let name = &before[name_start..];
        let bracket = name_start.checked_sub(1)?;
        (before.as_bytes()[bracket] == b'[' && name.starts_with(|c: char| c.is_ascii_alphabetic()))
            .then_some((bracket, name))
    })
}

/// `space.key` / `ancestors[0].id` / `/space/key` → RFC 6901 pointer.
fn json_pointer(node: &str) -> Result<String, String> {
    if node.starts_with('/') {
        return Ok(node.to_string());
    }
    let mut out = String::new();
    for part in node.split('.') {
        let (name, mut idx) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && idx.is_empty() {
            return Err(format!("JSON node `{node}` has an empty step"));
        }
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        while let Some(inner) = idx.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or_else(|| format!("JSON node `{node}`: `[` without `]`"))?;
            let n = &inner[..close];
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("JSON node `{node}`: index `{n}` is not a number"));
            }
            out.push('/');
            out.push_str(n);
            idx = &inner[close + 1..];
        }
        if !idx.is_empty() {
            return Err(format!("JSON node `{node}`: unexpected `{idx}`"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extender_documented_example() {
        let r = parse_line("[post].*/rest/api/space/EXTENDER/property.*").unwrap();
        assert_eq!(r.methods, vec!["POST"]);
        assert_eq!(r.url, ".*/rest/api/space/EXTENDER/property.*");
        assert!(r.conditions.is_empty());
    }

    #[test]
    fn conditions_and_method_lists() {
        let r = parse_line(
            "[GET|post].*/rest/api/content[QueryParam::spaceKey==DEV|OPS][JsonData::space.key==DEV]",
        )
        .unwrap();
        assert_eq!(r.methods, vec!["GET", "POST"]);
        assert_eq!(r.url, ".*/rest/api/content");
        assert_eq!(
            r.conditions,
            vec![
                Condition::QueryParam {
                    name: "spaceKey".into(),
                    regex: "DEV|OPS".into()
                },
                Condition::JsonData {
                    pointer: "/space/key".into(),
                    regex: "DEV".into()
                },
            ]
        );
    }

    #[test]
    fn a_leading_character_class_is_not_a_method() {
        let r = parse_line("[/]rest/api/.*").unwrap();
        assert!(r.methods.is_empty());
        assert_eq!(r.url, "[/]rest/api/.*");
    }

    #[test]
    fn json_nodes() {
        assert_eq!(json_pointer("ancestors[0].id").unwrap(), "/ancestors/0/id");
        assert_eq!(json_pointer("/a/b").unwrap(), "/a/b");
        assert!(json_pointer("a[x]").is_err());
        assert!(json_pointer("a..b").is_err());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse_line("[pst]/x")
            .unwrap_err()
            .contains("unknown method `PST`"));
        assert!(parse_line("[get]").unwrap_err().contains("empty"));
        assert!(parse_line(".*[QueryParam::x]")
            .unwrap_err()
            .contains("name==regex"));
    }

    /// A condition name that isn't one is refused, wherever it is, never read as regex text
    /// (`[Foo::x==1]` was a character class that let `/rest/api/contentF` through).
    #[test]
    fn unknown_or_misplaced_conditions_are_refused() {
        for (line, message) in [
            (
                "/rest/api/content[Foo::x==1]",
                "unknown condition `Foo` (use QueryParam or JsonData)",
            ),
            (
                "[get]/rest/api/content[Header::X==1]",
                "unknown condition `Header` (use QueryParam or JsonData)",
            ),
            (
                "/rest/api/content[QueryParam::a==1][Foo::x==1]",
                "unknown condition `Foo` (use QueryParam or JsonData)",
            ),
            (
                "/rest/api/content[Foo::x==1][QueryParam::a==1]",
                "unknown condition `Foo` (use QueryParam or JsonData)",
            ),
            (
                "/rest/api/content[queryparm::spaceKey==DEV]",
                "unknown condition `queryparm` (use QueryParam or JsonData)",
            ),
            (
                "/rest/api/content[QueryParam::spaceKey==DEV]/x",
                "must end the line",
            ),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.contains(message), "{line}: {err}");
        }
        // `::` inside a condition's regex, and a POSIX class, are not conditions.
        let r = parse_line("/x[[:alpha:]]+[JsonData::a==b::c]").unwrap();
        assert_eq!(r.url, "/x[[:alpha:]]+");
        assert_eq!(
            r.conditions,
            vec![Condition::JsonData {
                pointer: "/a".into(),
                regex: "b::c".into()
            }]
        );
    }

    #[test]
    fn line_separators() {
        assert_eq!(
            split_lines("a\\nb<br>c\n\nd<br/>e"),
            vec!["a", "b", "c", "d", "e"]
        );
    }
}
