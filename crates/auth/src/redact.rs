//! Config parse errors without secrets: a TOML parser's error shows the offending line, which in
//! a profile or gateway config may hold a token or password. [`parse_error`] says where and what
//! instead, with the value of any secret-looking key on that line replaced by `"***"`.

/// Words that make a key's value a secret (a key is split into words at `_`, `-` and `.`).
const SECRET_WORDS: &[&str] = &[
    "pat",
    "token",
    "password",
    "passwd",
    "pass",
    "pw",
    "secret",
    "key",
    "apikey",
    "credential",
    "credentials",
    "cookie",
    "auth",
    "authorization",
    "bearer",
];

/// Whether a TOML key (bare, quoted or dotted) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    key.to_ascii_lowercase()
        .split(['_', '-', '.', '"', '\'', ' '])
        .any(|word| SECRET_WORDS.contains(&word))
}

/// `line L, column C: MESSAGE` for a parse error at byte `offset` of `text` (or just MESSAGE
/// without one), with every value given to a secret-looking key on that line, quoted or not,
/// replaced by `"***"` wherever the message repeats it. The line itself is never shown.
pub fn parse_error(text: &str, offset: Option<usize>, message: &str) -> String {
    let redacted = redacted_message(text, offset, message);
    match offset {
        Some(offset) => {
            let (line, column) = line_column(text, offset);
            format!("line {line}, column {column}: {redacted}")
        }
        None => redacted,
    }
}

/// The parser's message about byte `offset` of `text`, on one line, with the values of
/// secret-looking keys on that line replaced by `"***"`.
pub fn redacted_message(text: &str, offset: Option<usize>, message: &str) -> String {
    let mut message = message.trim_end().replace('\n', "; ");
    let Some(offset) = offset else {
        return message;
    };
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].split('\n').next().unwrap_or("");
    for value in secret_values(line) {
        for shown in [value, value.trim_matches(|c| c == '"' || c == '\'')] {
            if !shown.is_empty() {
                message = message.replace(shown, "\"***\"");
            }
        }
    }
    message
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        text[line_start..offset].chars().count() + 1,
    )
}

/// The raw values (as written, quotes included) of secret-looking keys on one line, also in an
/// inline table (`{ pat = "…", url = "…" }`) and when the value is broken (an unclosed quote
/// takes the rest of the line).
fn secret_values(line: &str) -> Vec<&str> {
    let mut values = Vec::new();
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq]
            .rsplit(['{', ',', '['])
            .next()
            .unwrap_or("")
            .trim();
        let after = rest[eq + 1..].trim_start();
        let end = value_end(after);
        if is_secret_key(key) {
            values.push(after[..end].trim_end());
        }
        rest = &after[end..];
    }
    values
}

/// Where a value starting `s` ends: after its closing quote, else at `,` or `}`, else the line's
/// end (an unclosed quote takes it all).
fn value_end(s: &str) -> usize {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'');
    if let Some(q) = quote {
        let mut escaped = false;
        for (i, c) in s.char_indices().skip(1) {
            match c {
                '\\' if q == '"' && !escaped => escaped = true,
                c if c == q && !escaped => return i + 1,
                _ => escaped = false,
            }
        }
        return s.len();
    }
    s.find([',', '}']).unwrap_or(s.len())
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_starred_and_the_place_is_named() {
        let text = "[profiles.x]\nsite = \"https://x\"\ntoken = \"s3cr3t-value\" oops\n";
        let at = text.find("oops").unwrap();
        let msg = parse_error(text, Some(at), "expected newline, found \"s3cr3t-value\"");
        assert_eq!(msg, "line 3, column 24: expected newline, found \"***\"");
    }

    #[test]
    fn inline_tables_unquoted_and_unclosed_values() {
        assert_eq!(
            secret_values("x = { url = \"u\", client_secret = \"a,b\", pat = 123 }"),
            ["\"a,b\"", "123"]
        );
        assert_eq!(
            secret_values("password = \"never closed"),
            ["\"never closed"]
        );
        assert_eq!(secret_values("path = \"/tmp\""), Vec::<&str>::new());
        assert!(is_secret_key("\"api-key\"") && is_secret_key("private_key_file"));
        assert!(!is_secret_key("site") && !is_secret_key("path"));
    }
}
