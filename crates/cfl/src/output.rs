//! What read commands print: aligned tables and key/value blocks for people, or `--json` (the
//! stable shapes documented in the README). Colour (bold headers) only on a terminal and never
//! when `NO_COLOR` is set; text from the server is stripped of control characters so a page
//! title cannot drive the terminal.

use std::io::{IsTerminal, Write};

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset or empty (no-color.org).
pub fn color_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Server text made safe to print: control characters (escape sequences, newlines) become spaces.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Columns padded to the widest cell; the last column is not padded (no trailing spaces).
pub fn table(headers: &[&str], rows: &[Vec<String>], color: bool) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| clean(c)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>, header: bool| -> String {
        let n = cells.len();
        let mut out = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            let text = if header { bold(&c, color) } else { c };
            out.push_str(&text);
            if i + 1 < n {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect(), true);
    for r in rows {
        out.push_str(&line(r, false));
    }
    out
}

/// `key  value` lines with the keys aligned.
pub fn fields(pairs: &[(&str, String)], color: bool) -> String {
    let w = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let pad = w - k.chars().count();
        out.push_str(&format!(
            "{}{}  {}\n",
            bold(k, color),
            " ".repeat(pad),
            clean(v)
        ));
    }
    out
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Pretty JSON and a newline.
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    print(&format!("{}\n", serde_json::to_string_pretty(v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_colour_only_when_asked() {
        let rows = vec![
            vec!["1".to_string(), "Short".to_string(), "x".to_string()],
            vec![
                "12345".to_string(),
                "A longer title".to_string(),
                "y".to_string(),
            ],
        ];
        let t = table(&["ID", "TITLE", "SPACE"], &rows, false);
        assert_eq!(
            t,
            "ID     TITLE           SPACE\n\
             1      Short           x\n\
             12345  A longer title  y\n"
        );
        let c = table(&["ID"], &[vec!["1".into()]], true);
        assert!(c.starts_with("\x1b[1mID\x1b[0m\n"), "{c:?}");
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        let t = table(&["T"], &[vec!["evil\x1b[31m\ntitle".into()]], false);
        assert!(!t.contains('\x1b') && t.lines().count() == 2, "{t:?}");
        assert_eq!(
            fields(&[("id", "1".into()), ("title", "Hi".into())], false),
            "id     1\ntitle  Hi\n"
        );
    }
}
