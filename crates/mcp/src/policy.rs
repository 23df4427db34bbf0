//! What this server lets an agent do, enforced here before any request leaves: `--read-only`
//! (no write tools), `--spaces` (only these spaces; CQL is scoped to them and every page's space
//! is checked) and `--tools` (only the named tools). A gateway token in front enforces its own
//! rules again; this is the first line, so a refusal costs no request.

use crate::catalogue::{self, ToolKind};

/// The flags of `cfl mcp` that restrict the agent.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub read_only: bool,
    /// Space keys the agent may touch; `None` for every space the credential can see.
    pub spaces: Option<Vec<String>>,
    /// Tools served; `None` for all (less the write tools under `read_only`).
    pub tools: Option<Vec<String>>,
}

impl Policy {
    /// Checks the flags: every `--tools` name must be a tool, every `--spaces` key non-empty.
    pub fn new(
        read_only: bool,
        spaces: Option<Vec<String>>,
        tools: Option<Vec<String>>,
    ) -> Result<Policy, String> {
        let spaces = spaces.map(|s| {
            s.into_iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
        });
        if spaces.as_ref().is_some_and(|s| s.is_empty()) {
            return Err("--spaces names no space; give space keys like --spaces DEV,DOCS".into());
        }
        if let Some(names) = &tools {
            for n in names {
                if catalogue::kind(n).is_none() {
                    return Err(format!(
                        "--tools: there is no tool {n:?}; the tools are {}",
                        catalogue::NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(Policy {
            read_only,
            spaces,
            tools,
        })
    }

    /// Whether `tools/list` shows the tool.
    pub fn lists(&self, name: &str) -> bool {
        self.allows_tool(name).is_ok()
    }

    /// Why the tool `name` may not be called, if it may not.
    pub fn allows_tool(&self, name: &str) -> Result<(), String> {
        let Some(kind) = catalogue::kind(name) else {
            return Err(format!(
                "there is no tool {name:?}; the tools are {}",
                catalogue::NAMES.join(", ")
            ));
        };
        if let Some(list) = &self.tools {
            if !list.iter().any(|t| t == name) {
                return Err(format!(
                    "refused by cfl mcp: {name} is not among the tools this server was started \
                     with (--tools {})",
                    list.join(",")
                ));
            }
        }
        if kind == ToolKind::Write && self.read_only {
            return Err(format!(
                "refused by cfl mcp: {name} changes Confluence and this server runs with \
                 --read-only"
            ));
        }
        Ok(())
    }

    /// Whether the space `key` may be touched (keys are case sensitive in Confluence).
    pub fn allows_space(&self, key: &str) -> Result<(), String> {
        match &self.spaces {
            Some(list) if !list.iter().any(|k| k == key) => Err(format!(
                "refused by cfl mcp: space {} is not among the spaces this server may use \
                 (--spaces {})",
                if key.is_empty() { "(unknown)" } else { key },
                list.join(",")
            )),
            _ => Ok(()),
        }
    }

    /// `cql` limited to the allowed spaces (unchanged without `--spaces`). A trailing
    /// `order by` stays outside the parentheses, where CQL requires it.
    pub fn scope_cql(&self, cql: &str) -> String {
        let Some(spaces) = &self.spaces else {
            return cql.to_string();
        };
        let keys: Vec<String> = spaces.iter().map(|k| quote(k)).collect();
        let (query, order) = split_order_by(cql);
        let scoped = format!("space in ({}) and ({})", keys.join(","), query.trim());
        match order {
            Some(o) => format!("{scoped} {o}"),
            None => scoped,
        }
    }
}

/// A CQL string literal.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Plain words as CQL: `text ~ "words"` (quotes and backslashes escaped).
pub fn text_query(words: &str) -> String {
    format!("text ~ {}", quote(words.trim()))
}

/// (`the query`, `order by …`) when the CQL ends with an ordering outside any quotes.
fn split_order_by(cql: &str) -> (&str, Option<&str>) {
    let lower = cql.to_ascii_lowercase();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut found = None;
    for (i, c) in lower.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => in_quotes = !in_quotes,
            'o' if !in_quotes && lower[i..].starts_with("order by") => {
                let before_ok =
                    i == 0 || lower[..i].ends_with(|c: char| c.is_whitespace() || c == ')');
                if before_ok {
                    found = Some(i);
                }
            }
            _ => {}
        }
    }
    match found {
        Some(i) => (&cql[..i], Some(&cql[i..])),
        None => (cql, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spaces(keys: &[&str]) -> Policy {
        Policy::new(
            false,
            Some(keys.iter().map(|k| k.to_string()).collect()),
            None,
        )
        .unwrap()
    }

    #[test]
    fn cql_is_scoped_to_the_allowed_spaces_with_order_by_outside() {
        let p = spaces(&["DEV", "DOCS"]);
        assert_eq!(
            p.scope_cql("type = page or title ~ \"x\""),
            "space in (\"DEV\",\"DOCS\") and (type = page or title ~ \"x\")"
        );
        assert_eq!(
            p.scope_cql("type = page order by lastmodified desc"),
            "space in (\"DEV\",\"DOCS\") and (type = page) order by lastmodified desc"
        );
        assert_eq!(
            p.scope_cql("title ~ \"order by\""),
            "space in (\"DEV\",\"DOCS\") and (title ~ \"order by\")",
            "words inside quotes are not an ordering"
        );
        assert_eq!(Policy::default().scope_cql("type = page"), "type = page");
    }

    #[test]
    fn plain_words_become_a_text_query_with_quotes_escaped() {
        assert_eq!(text_query(" release notes "), "text ~ \"release notes\"");
        assert_eq!(text_query("say \"hi\""), "text ~ \"say \\\"hi\\\"\"");
    }

    #[test]
    fn read_only_refuses_write_tools_and_hides_them() {
        let p = Policy::new(true, None, None).unwrap();
        assert!(p.allows_tool("get_page").is_ok());
        let e = p.allows_tool("create_page").unwrap_err();
        assert!(e.contains("--read-only"), "{e}");
        assert!(!p.lists("update_page"));
        assert!(p.lists("search"));
    }

    #[test]
    fn spaces_refuse_other_spaces_and_say_which_are_allowed() {
        let p = spaces(&["DEV"]);
        assert!(p.allows_space("DEV").is_ok());
        let e = p.allows_space("OPS").unwrap_err();
        assert!(e.contains("OPS") && e.contains("--spaces DEV"), "{e}");
        assert!(Policy::default().allows_space("OPS").is_ok());
    }

    #[test]
    fn bad_flags_are_refused_with_the_fix() {
        let e = Policy::new(false, None, Some(vec!["get_pages".into()])).unwrap_err();
        assert!(e.contains("get_page,") || e.contains("get_page"), "{e}");
        assert!(Policy::new(false, Some(vec![" ".into()]), None).is_err());
        let p = Policy::new(false, None, Some(vec!["search".into()])).unwrap();
        assert!(p
            .allows_tool("get_page")
            .unwrap_err()
            .contains("--tools search"));
    }
}
