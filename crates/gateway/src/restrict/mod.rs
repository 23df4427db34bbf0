//! Token restrictions: which requests a token may make.
//!
//! A token's rules are compiled once into a [`RuleSet`] (all URL regexes in one `RegexSet`), then
//! every request is checked in two steps so bodies are only buffered when a rule needs them:
//! [`RuleSet::check`] without a body answers `Allow`, `Deny` or `NeedsBody`; the proxy then reads
//! the body (within a cap) and calls [`RuleSet::check_with_body`]. A request passes when any rule
//! matches, or when the token has no rules.

pub mod normalize;
pub mod rule;
pub mod unanchored;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde_json::Value;

pub use normalize::normalize;
pub use rule::{Condition, RuleError};

/// Compiled size cap per regex: rules come from admins, but a typo must not exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug)]
struct CompiledCondition {
    kind: CondKind,
    regex: Regex,
}

#[derive(Debug)]
enum CondKind {
    Query(String),
    Json(String),
}

#[derive(Debug)]
struct CompiledRule {
    methods: Vec<String>,
    conditions: Vec<CompiledCondition>,
    needs_body: bool,
}

/// A token's compiled restriction rules.
#[derive(Debug)]
pub struct RuleSet {
    source: Vec<String>,
    /// `None` for a token without rules: an empty automaton still costs kilobytes per token.
    urls: Option<RegexSet>,
    rules: Vec<CompiledRule>,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; `rule` is the 1-based line that matched (`None`: the token has no rules).
    Allow { rule: Option<usize> },
    /// Refused: no rule matches this method, path, query and body.
    Deny,
    /// A rule with a `JsonData` condition could allow it: read the JSON body and check again.
    NeedsBody,
}

/// What the matcher sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// Normalised path (see [`normalize`]).
    pub path: &'a str,
    pub query: Option<&'a str>,
}

fn anchored(re: &str) -> String {
    format!("^(?:{re})$")
}

/// Compiles `re` anchored at both ends. A syntax error is reported on the admin's own text:
/// the anchors' `^(?:…)$` would shift the error's caret off what they wrote.
fn compile(re: &str) -> Result<Regex, regex::Error> {
    let build = |pattern: &str| {
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
    };
    build(&anchored(re)).map_err(|e| match (&e, build(re)) {
        (regex::Error::Syntax(_), Err(own @ regex::Error::Syntax(_))) => own,
        _ => e,
    })
}

impl RuleSet {
    /// Parses and compiles restriction text (lines separated by newline, `\n` or `<br>`).
    pub fn parse(text: &str) -> Result<RuleSet, RuleError> {
        let lines = rule::split_lines(text);
        let mut specs = Vec::with_capacity(lines.len());
        let mut rules = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let err = |message: String| RuleError {
                line: i + 1,
                text: line.clone(),
                message,
            };
            let spec = rule::parse_line(line).map_err(err)?;
            compile(&spec.url).map_err(|e| err(format!("invalid URL regex: {e}")))?;
            let mut conditions = Vec::new();
            for c in &spec.conditions {
                let (kind, re) = match c {
                    Condition::QueryParam { name, regex } => (CondKind::Query(name.clone()), regex),
                    Condition::JsonData { pointer, regex } => {
                        (CondKind::Json(pointer.clone()), regex)
                    }
                };
                let regex =
                    compile(re).map_err(|e| err(format!("invalid condition regex: {e}")))?;
                conditions.push(CompiledCondition { kind, regex });
            }
            rules.push(CompiledRule {
                needs_body: conditions
                    .iter()
                    .any(|c| matches!(c.kind, CondKind::Json(_))),
                methods: spec.methods.clone(),
                conditions,
            });
            specs.push(spec);
        }
        let urls = if specs.is_empty() {
            None
        } else {
            Some(
                RegexSetBuilder::new(specs.iter().map(|s| anchored(&s.url)))
                    .size_limit(REGEX_SIZE_LIMIT * specs.len())
                    .build()
                    .map_err(|e| RuleError {
                        line: 0,
                        text: String::new(),
                        message: format!("rules too large to compile together: {e}"),
                    })?,
            )
        };
        Ok(RuleSet {
            source: lines,
            urls,
            rules,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule lines, one per entry, as the admin wrote them.
    pub fn lines(&self) -> &[String] {
        &self.source
    }

    /// Checks everything but the body.
    pub fn check(&self, req: &RequestView<'_>) -> Decision {
        self.decide(req, None)
    }

    /// Checks again with the parsed JSON body (`None`: absent or not JSON — JSON conditions fail).
    pub fn check_with_body(&self, req: &RequestView<'_>, body: Option<&Value>) -> Decision {
        match self.decide(req, Some(body)) {
            Decision::NeedsBody => Decision::Deny,
            d => d,
        }
    }

    /// `body`: `None` = not read yet; `Some(None)` = read, not JSON.
    fn decide(&self, req: &RequestView<'_>, body: Option<Option<&Value>>) -> Decision {
        let Some(urls) = &self.urls else {
            return Decision::Allow { rule: None };
        };
        let query = normalize::query_pairs(req.query);
        let mut needs_body = false;
        for idx in urls.matches(req.path).iter() {
            let rule = &self.rules[idx];
            if !rule.methods.is_empty()
                && !rule
                    .methods
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(req.method))
            {
                continue;
            }
            if !rule.conditions.iter().all(|c| match &c.kind {
                CondKind::Query(_) => query_condition(c, &query),
                CondKind::Json(_) => true,
            }) {
                continue;
            }
            if rule.needs_body {
                match body {
                    None => {
                        needs_body = true;
                        continue;
                    }
                    Some(json) => {
                        let ok = rule.conditions.iter().all(|c| match &c.kind {
                            CondKind::Json(ptr) => {
                                json.is_some_and(|v| json_condition(&c.regex, v, ptr))
                            }
                            CondKind::Query(_) => true,
                        });
                        if !ok {
                            continue;
                        }
                    }
                }
            }
            return Decision::Allow {
                rule: Some(idx + 1),
            };
        }
        if needs_body {
            Decision::NeedsBody
        } else {
            Decision::Deny
        }
    }
}

/// The parameter must be present and *every* value must match: `?spaceKey=DEV&spaceKey=HR` can't
/// pass a `DEV` rule by hiding a second value that the server might use.
fn query_condition(c: &CompiledCondition, query: &[(String, String)]) -> bool {
    let CondKind::Query(name) = &c.kind else {
        return false;
    };
    let mut values = query.iter().filter(|(k, _)| k == name).peekable();
    values.peek().is_some() && values.all(|(_, v)| c.regex.is_match(v))
}

/// The node must exist and be a scalar (or an array of scalars, all matching).
fn json_condition(re: &Regex, body: &Value, pointer: &str) -> bool {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => Some("null".into()),
            _ => None,
        }
    }
    match body.pointer(pointer) {
        Some(Value::Array(items)) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| scalar(i).is_some_and(|s| re.is_match(&s)))
        }
        Some(v) => scalar(v).is_some_and(|s| re.is_match(&s)),
        None => false,
    }
}

#[cfg(test)]
mod tests;
