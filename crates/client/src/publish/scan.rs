//! The directory as a tree of sources: a directory is a page (its `index.md` or `README.md` the
//! body) or, without an index file, a container (a Cloud folder, or on Data Center a page
//! listing its children); every other `*.md` file is a page. Siblings are ordered by a
//! front-matter `weight` (or `nav_order`) first, then by file name. Hidden entries (`.name`)
//! and directories holding no Markdown are skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::Context;
use cfl_markdown::FrontMatter;

/// Index file names, in order of preference.
const INDEX: [&str; 2] = ["index.md", "README.md"];

/// One page (or container) to publish.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where it comes from, relative to the root: `guide/intro.md`, `guide/` for a directory,
    /// `` for the root directory.
    pub path: String,
    pub is_dir: bool,
    /// The Markdown file (a directory's index), if any.
    pub file: Option<PathBuf>,
    pub title: String,
    /// The front matter's `id` (set by `cfl export`): the page it was exported from.
    pub id: Option<String>,
    /// The Markdown after the front matter.
    pub markdown: Option<String>,
    /// Index of the parent source; `None` for the root.
    pub parent: Option<usize>,
}

impl Source {
    /// The directory links in its Markdown are relative to (relative to the root, `` for it).
    pub fn base_dir(&self) -> &str {
        if self.is_dir {
            self.path.trim_end_matches('/')
        } else {
            self.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
        }
    }
}

/// A Markdown file read: front matter, title, body.
struct Read {
    fm: FrontMatter,
    body: String,
}

fn read(path: &Path) -> crate::error::Result<Read> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(raw)
        .map_err(|_| crate::Error::Invalid(format!("{} is not UTF-8 text", path.display())))?;
    let (fm, body) = cfl_markdown::front_matter(&text)
        .map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))?;
    Ok(Read {
        fm,
        body: body.to_string(),
    })
}

/// The title from a leading `# heading`.
pub fn leading_heading(body: &str) -> Option<String> {
    let trimmed = body.trim_start_matches(['\n', '\r', ' ']);
    let first = trimmed.lines().next()?;
    let title = first
        .strip_prefix("# ")?
        .trim()
        .trim_end_matches('#')
        .trim();
    (!title.is_empty()).then(|| title.to_string())
}

fn title_of(r: Option<&Read>, fallback: &str) -> String {
    r.and_then(|r| {
        r.fm.get("title")
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .or_else(|| leading_heading(&r.body))
    })
    .unwrap_or_else(|| fallback.to_string())
}

fn weight(r: Option<&Read>, path: &Path) -> crate::error::Result<Option<i64>> {
    let Some(r) = r else { return Ok(None) };
    let Some(w) = r.fm.get("weight").or_else(|| r.fm.get("nav_order")) else {
        return Ok(None);
    };
    w.trim().parse().map(Some).map_err(|_| {
        crate::Error::Invalid(format!(
            "{}: weight/nav_order must be a whole number, got {w:?}",
            path.display()
        ))
    })
}

fn is_markdown(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.ends_with(".md") || l.ends_with(".markdown")
}

fn holds_markdown(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            return false;
        }
        let p = e.path();
        if p.is_dir() {
            holds_markdown(&p)
        } else {
            is_markdown(&name)
        }
    })
}

fn index_in(dir: &Path) -> Option<PathBuf> {
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    INDEX.iter().find_map(|want| {
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(want))
            .map(|n| dir.join(n))
    })
}

/// Reads the tree under `root`: the root first, parents before their children, siblings in
/// publishing order. `root_title` names the root when given (`--parent`).
pub fn scan(root: &Path, root_title: Option<&str>) -> crate::error::Result<Vec<Source>> {
    if !root.is_dir() {
        crate::error::invalid!("{} is not a directory", root.display());
    }
    let index = index_in(root);
    let r = index.as_deref().map(read).transpose()?;
    let dir_name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "Docs".into());
    let mut out = vec![Source {
        path: String::new(),
        is_dir: true,
        file: index.clone(),
        title: root_title
            .map(str::to_string)
            .unwrap_or_else(|| title_of(r.as_ref(), &dir_name)),
        id: r.as_ref().and_then(|r| r.fm.get("id").map(str::to_string)),
        markdown: r.map(|r| r.body),
        parent: None,
    }];
    children(root, "", 0, index.as_deref(), &mut out)?;
    check_titles(&out)?;
    Ok(out)
}

fn children(
    dir: &Path,
    rel: &str,
    parent: usize,
    index: Option<&Path>,
    out: &mut Vec<Source>,
) -> crate::error::Result<()> {
    let mut entries: Vec<(Option<i64>, String, Source)> = Vec::new();
    let listing =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for e in listing {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with('.') || Some(path.as_path()) == index {
            continue;
        }
        let rel_path = format!("{rel}{name}");
        if path.is_dir() {
            if !holds_markdown(&path) {
                continue;
            }
            let idx = index_in(&path);
            let r = idx.as_deref().map(read).transpose()?;
            let w = weight(r.as_ref(), idx.as_deref().unwrap_or(&path))?;
            entries.push((
                w,
                name.clone(),
                Source {
                    path: format!("{rel_path}/"),
                    is_dir: true,
                    file: idx,
                    title: title_of(r.as_ref(), &name),
                    id: r.as_ref().and_then(|r| r.fm.get("id").map(str::to_string)),
                    markdown: r.map(|r| r.body),
                    parent: Some(parent),
                },
            ));
        } else if is_markdown(&name) {
            let r = read(&path)?;
            let w = weight(Some(&r), &path)?;
            let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&name);
            entries.push((
                w,
                name.clone(),
                Source {
                    path: rel_path,
                    is_dir: false,
                    file: Some(path.clone()),
                    title: title_of(Some(&r), stem),
                    id: r.fm.get("id").map(str::to_string),
                    markdown: Some(r.body),
                    parent: Some(parent),
                },
            ));
        }
    }
    // Weighted first (ascending), then by name.
    entries.sort_by(|a, b| {
        (a.0.is_none(), a.0, a.1.to_lowercase(), &a.1).cmp(&(
            b.0.is_none(),
            b.0,
            b.1.to_lowercase(),
            &b.1,
        ))
    });
    let mut dirs = Vec::new();
    for (_, name, s) in entries {
        if s.is_dir {
            dirs.push((out.len(), name, s.file.clone()));
        }
        out.push(s);
    }
    for (at, name, idx) in dirs {
        let sub = dir.join(&name);
        let rel = format!("{rel}{name}/");
        children(&sub, &rel, at, idx.as_deref(), out)?;
    }
    Ok(())
}

/// Confluence titles are unique in a space: two sources with one title cannot both be pages.
fn check_titles(sources: &[Source]) -> crate::error::Result<()> {
    let mut seen: HashMap<String, &Source> = HashMap::new();
    for s in sources {
        if let Some(other) = seen.insert(s.title.to_lowercase(), s) {
            crate::error::invalid!(
                "{} and {} both have the title {:?}; Confluence needs distinct titles in a space: \
                 give one a `title:` in its front matter",
                shown(&other.path),
                shown(&s.path),
                s.title
            );
        }
    }
    Ok(())
}

/// A source path as printed (`.` for the root).
pub fn shown(path: &str) -> &str {
    if path.is_empty() {
        "."
    } else {
        path
    }
}

/// Normalises `base/link` (`.` and `..` resolved); `None` if it leaves the root.
pub fn join(base: &str, link: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for p in link.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Every path a link may use for a source (lower case): a file's path; a directory's path
/// and its index file's.
pub fn link_keys(s: &Source) -> Vec<String> {
    let mut keys = Vec::new();
    if s.is_dir {
        let d = s.path.trim_end_matches('/');
        keys.push(d.to_lowercase());
        if let Some(f) = s.file.as_ref().and_then(|f| f.file_name()) {
            keys.push(
                join(d, &f.to_string_lossy())
                    .unwrap_or_default()
                    .to_lowercase(),
            );
        }
    } else {
        keys.push(s.path.to_lowercase());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_refuse_to_leave_the_root() {
        assert_eq!(join("a/b", "../c.md").as_deref(), Some("a/c.md"));
        assert_eq!(join("", "./x/y.md").as_deref(), Some("x/y.md"));
        assert_eq!(join("", "../x.md"), None);
    }

    #[test]
    fn a_tree_is_read_in_order_with_weights_first() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("index.md"), "# Root\n").unwrap();
        std::fs::write(p.join("b.md"), "# Bee\n").unwrap();
        std::fs::write(p.join("a.md"), "# Ay\n").unwrap();
        std::fs::write(p.join("z.md"), "---\nweight: 1\n---\n# Zed\n").unwrap();
        std::fs::create_dir(p.join("guide")).unwrap();
        std::fs::write(p.join("guide/intro.md"), "Intro text\n").unwrap();
        std::fs::create_dir(p.join("img")).unwrap();
        std::fs::write(p.join("img/x.png"), "png").unwrap();
        let s = scan(p, None).unwrap();
        let titles: Vec<&str> = s.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["Root", "Zed", "Ay", "Bee", "guide", "intro"]);
        assert_eq!(s[5].parent, Some(4));
        assert_eq!(s[5].base_dir(), "guide");
        std::fs::write(p.join("c.md"), "# Ay\n").unwrap();
        let e = scan(p, None).unwrap_err().to_string();
        assert!(
            e.contains("a.md and c.md") || e.contains("c.md and a.md"),
            "{e}"
        );
    }
}
