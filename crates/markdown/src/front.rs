//! The front matter cfl writes on exported Markdown and reads on publish: a `---` fenced block of
//! `key: value` lines (a small YAML subset: values are bare words or JSON-style double-quoted
//! strings). Known keys: `title`, `space`, `parent`, `id`, `version`; others are kept.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter {
    pub fields: Vec<(String, String)>,
}

impl FrontMatter {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some(f) => f.1 = value,
            None => self.fields.push((key.to_string(), value)),
        }
    }
}

/// Splits a document into its front matter (if it starts with `---`) and the Markdown after it.
/// A malformed line is an error naming the line, so a typo is not published as text.
pub fn front_matter(doc: &str) -> Result<(FrontMatter, &str), String> {
    let doc = doc.strip_prefix('\u{feff}').unwrap_or(doc);
    let Some(rest) = doc
        .strip_prefix("---\n")
        .or_else(|| doc.strip_prefix("---\r\n"))
    else {
        return Ok((FrontMatter::default(), doc));
    };
    let mut fm = FrontMatter::default();
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        offset += line.len();
        let l = line.trim_end_matches(['\n', '\r']);
        if l == "---" || l == "..." {
            return Ok((fm, &rest[offset..]));
        }
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        let (k, v) = l.split_once(':').ok_or_else(|| {
            format!(
                "front matter line {}: expected `key: value`, got {l:?}",
                i + 2
            )
        })?;
        let v = v.trim();
        let value = if v.starts_with('"') {
            unquote(v).ok_or_else(|| {
                format!(
                    "front matter line {}: unterminated or invalid quoted value",
                    i + 2
                )
            })?
        } else if let Some(s) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            s.replace("''", "'")
        } else {
            v.to_string()
        };
        fm.fields.push((k.trim().to_string(), value));
    }
    Err("front matter starts with `---` but has no closing `---` line".into())
}

fn unquote(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            },
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn quote(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The document with this front matter in front.
pub fn with_front_matter(fm: &FrontMatter, body: &str) -> String {
    let mut s = String::from("---\n");
    for (k, v) in &fm.fields {
        s.push_str(&format!("{k}: {}\n", quote(v)));
    }
    s.push_str("---\n\n");
    s.push_str(body);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_errors() {
        let mut fm = FrontMatter::default();
        fm.set("title", "A \"quoted\": title\\");
        fm.set("space", "DEV");
        let doc = with_front_matter(&fm, "# Hi\n");
        let (back, body) = front_matter(&doc).unwrap();
        assert_eq!(back, fm);
        assert_eq!(body, "\n# Hi\n");
        let (none, body) = front_matter("# Just markdown\n").unwrap();
        assert!(none.fields.is_empty());
        assert_eq!(body, "# Just markdown\n");
        let (bare, _) = front_matter("---\ntitle: Plain words\nparent: 'It''s'\n---\n").unwrap();
        assert_eq!(bare.get("title"), Some("Plain words"));
        assert_eq!(bare.get("parent"), Some("It's"));
        assert!(front_matter("---\ntitle: x\n")
            .unwrap_err()
            .contains("closing"));
        assert!(front_matter("---\nnot a pair\n---\n")
            .unwrap_err()
            .contains("line 2"));
        assert!(front_matter("---\ntitle: \"open\n---\n").is_err());
    }
}
