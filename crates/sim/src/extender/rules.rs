//! The add-on's rule lines, matched its way: `[get|post]` optional, then a regex *searched*
//! anywhere in the raw request path (as sent: context path included, nothing decoded, no query),
//! then optional `[QueryParam::name==regex]` (searched in every value of the parameter) and
//! `[JsonData::node==regex]` conditions. A token with rules allows a request when one rule
//! matches. The simulator does not read bodies while authenticating, so a rule with a
//! `JsonData` condition never matches here.

use regex::Regex;

pub struct Rule {
    /// Lower-case methods; empty: any.
    methods: Vec<String>,
    url: Regex,
    query: Vec<(String, Regex)>,
    needs_body: bool,
}

impl Rule {
    pub fn parse(line: &str) -> Result<Rule, String> {
        let mut rest = line.trim();
        let mut methods = Vec::new();
        if let Some(after) = rest.strip_prefix('[') {
            if let Some(close) = after.find(']') {
                let inside = &after[..close];
                let words: Vec<&str> = inside.split([',', '|']).map(str::trim).collect();
                if words
                    .iter()
                    .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
                {
                    methods = words.iter().map(|w| w.to_ascii_lowercase()).collect();
                    rest = &after[close + 1..];
                }
            }
        }
        let mut query = Vec::new();
        let mut needs_body = false;
        while rest.ends_with(']') {
            let Some(start) = ["[QueryParam::", "[JsonData::"]
                .iter()
                .filter_map(|m| rest.rfind(m))
                .max()
            else {
                break;
            };
            let body = &rest[start + 1..rest.len() - 1];
            let (kind, cond) = body.split_once("::").unwrap_or((body, ""));
            let (name, re) = cond
                .split_once("==")
                .ok_or_else(|| format!("condition `{body}` needs name==regex"))?;
            let re = Regex::new(re).map_err(|e| format!("condition regex: {e}"))?;
            if kind == "QueryParam" {
                query.push((name.to_string(), re));
            } else {
                needs_body = true;
            }
            rest = &rest[..start];
        }
        if rest.is_empty() {
            return Err("the URL regex is empty".into());
        }
        let url = Regex::new(rest).map_err(|e| format!("URL regex: {e}"))?;
        Ok(Rule {
            methods,
            url,
            query,
            needs_body,
        })
    }

    /// Whether this rule lets `method` on `path` (raw) with `query` (raw, no `?`) through.
    pub fn allows(&self, method: &str, path: &str, query: Option<&str>) -> bool {
        if self.needs_body {
            return false;
        }
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        if !self.url.is_match(path) {
            return false;
        }
        self.query.iter().all(|(name, re)| {
            let mut values = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .filter(|(k, _)| k == name)
                .peekable();
            values.peek().is_some() && values.all(|(_, v)| re.is_match(&v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searched_anywhere_like_the_add_on() {
        let r = Rule::parse("/rest/api/space").unwrap();
        assert!(r.allows("GET", "/rest/api/space", None));
        assert!(r.allows("DELETE", "/rest/api/space/DEV", None));
        assert!(r.allows("GET", "/confluence/rest/api/space", None));
        assert!(!r.allows("GET", "/rest/api/content", None));
        let r = Rule::parse("[get,post].*/rest/api/content.*[QueryParam::spaceKey==DEV]").unwrap();
        assert!(r.allows("get", "/rest/api/content", Some("spaceKey=DEV")));
        assert!(r.allows("GET", "/rest/api/content", Some("spaceKey=DEVOPS")));
        assert!(!r.allows("GET", "/rest/api/content", Some("spaceKey=OPS")));
        assert!(!r.allows("GET", "/rest/api/content", None));
        assert!(!r.allows("PUT", "/rest/api/content", Some("spaceKey=DEV")));
        assert!(!Rule::parse(".*[JsonData::space.key==DEV]")
            .unwrap()
            .allows("POST", "/x", None));
        assert!(Rule::parse("(").is_err());
    }
}
