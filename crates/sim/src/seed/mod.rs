//! `cfl sim --seed DIR|FILE`: the simulator's content from files instead of the generated demo.
//!
//! Two ways to write the same thing (the README's "Test your own Confluence client against cfl
//! sim" shows both):
//!
//! - **A file** (`.toml` or `.json`): `[[users]]` (the config's user fields), and `[[spaces]]`
//!   with `key`, `name`, `description`, `homepage` (a page title; default: the first top-level
//!   page) and `[[spaces.pages]]`: `title`, `body` (storage format) or `body_file`, `parent` (a
//!   title in the same space), `type` (`page` or `blogpost`), `labels`, `author` (a user name) and
//!   `attachments = [{ file = "a.png", name = "a.png", media_type = "image/png" }]`. Paths are
//!   relative to the seed file.
//! - **A folder**: `users.toml` (optional, `[[users]]`), one folder per space named by its key
//!   holding `space.toml` (optional: `name`, `description`, `homepage`, `[labels]` title → list),
//!   and pages as `Title.xml` or `Title.html` (storage format). A folder `Title/` next to a page
//!   file holds that page's children (more `.xml`/`.html` files) and its attachments (every other
//!   file). Siblings are ordered by file name; names starting with `.` are skipped.
//!
//! Everything is read and checked once at start, so `/__sim/reset` restores exactly this content
//! and a mistake is reported with the file and what is wrong, never as a panic or a 404 later.

mod apply;
mod dir;
mod file;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::config::users::UserConfig;

pub use apply::apply;

/// A seed read from disk and checked: what `world::build` builds the world from.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub users: Vec<UserConfig>,
    pub spaces: Vec<SeedSpace>,
}

#[derive(Debug, Clone)]
pub struct SeedSpace {
    pub key: String,
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    pub pages: Vec<SeedPage>,
}

#[derive(Debug, Clone)]
pub struct SeedPage {
    pub title: String,
    /// `page` or `blogpost`.
    pub kind: String,
    pub body: String,
    pub parent: Option<String>,
    pub labels: Vec<String>,
    pub author: Option<String>,
    pub attachments: Vec<SeedAttachment>,
}

#[derive(Debug, Clone)]
pub struct SeedAttachment {
    pub name: String,
    pub media_type: String,
    pub data: Bytes,
}

/// A seed that can't be used: the file (or folder) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed {}: {message}", path.display())]
pub struct SeedError {
    pub path: PathBuf,
    pub message: String,
}

pub(super) fn err<T>(path: &Path, message: impl Into<String>) -> Result<T, SeedError> {
    Err(SeedError {
        path: path.to_path_buf(),
        message: message.into(),
    })
}

impl Seed {
    /// Reads a seed file (`.toml`, `.json`) or folder, and checks it.
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return err(&shown, format!("cannot read it: {e}")),
        };
        let seed = if meta.is_dir() {
            dir::load_dir(&shown)?
        } else {
            file::load_file(&shown)?
        };
        seed.check(&shown)?;
        Ok(seed)
    }

    /// Structural rules Confluence itself enforces, so a seed can't hold what the real product
    /// can't: unique space keys, unique titles per space, parents that exist, no cycles.
    fn check(&self, path: &Path) -> Result<(), SeedError> {
        let mut keys = HashSet::new();
        for s in &self.spaces {
            if s.key.is_empty() || !s.key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return err(
                    path,
                    format!(
                        "space key {:?} must be letters and digits only (e.g. \"ENG\")",
                        s.key
                    ),
                );
            }
            if !keys.insert(s.key.to_uppercase()) {
                return err(path, format!("space {:?} is declared twice", s.key));
            }
            check_pages(path, s)?;
        }
        Ok(())
    }

    /// User names every page author must be one of (the seed's users plus the config's).
    pub fn check_authors(&self, path: &Path, users: &[UserConfig]) -> Result<(), SeedError> {
        for s in &self.spaces {
            for p in &s.pages {
                if let Some(a) = &p.author {
                    if !users.iter().any(|u| u.name.eq_ignore_ascii_case(a)) {
                        return err(
                            path,
                            format!(
                                "page {:?} in space {}: author {a:?} is not a user of the seed or the config",
                                p.title, s.key
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_pages(path: &Path, s: &SeedSpace) -> Result<(), SeedError> {
    let mut titles = HashMap::new();
    for p in &s.pages {
        if p.title.trim().is_empty() {
            return err(
                path,
                format!("a page in space {} has an empty title", s.key),
            );
        }
        if p.kind != "page" && p.kind != "blogpost" {
            return err(
                path,
                format!(
                    "page {:?} in space {}: type {:?} must be \"page\" or \"blogpost\"",
                    p.title, s.key, p.kind
                ),
            );
        }
        if titles.insert(p.title.as_str(), p).is_some() {
            return err(
                path,
                format!(
                    "space {} has two pages titled {:?} (Confluence titles are unique per space)",
                    s.key, p.title
                ),
            );
        }
        let mut names = HashSet::new();
        for a in &p.attachments {
            if !names.insert(a.name.as_str()) {
                return err(
                    path,
                    format!("page {:?} has two attachments named {:?}", p.title, a.name),
                );
            }
        }
    }
    for p in &s.pages {
        let Some(parent) = &p.parent else { continue };
        if p.kind == "blogpost" {
            return err(path, format!("blog post {:?} can't have a parent", p.title));
        }
        match titles.get(parent.as_str()) {
            None => {
                return err(
                    path,
                    format!(
                        "page {:?}: parent {parent:?} is not a page of space {}",
                        p.title, s.key
                    ),
                )
            }
            Some(pp) if pp.kind != "page" => {
                return err(
                    path,
                    format!("page {:?}: parent {parent:?} is a blog post", p.title),
                )
            }
            Some(_) => {}
        }
        // Walk up: a chain longer than the page count went round in a circle.
        let mut cur = Some(parent.as_str());
        for _ in 0..=s.pages.len() {
            cur = cur.and_then(|t| titles[t].parent.as_deref());
        }
        if cur.is_some() {
            return err(
                path,
                format!("page {:?}: its parents form a cycle", p.title),
            );
        }
    }
    if let Some(h) = &s.homepage {
        if titles.get(h.as_str()).is_none_or(|p| p.kind != "page") {
            return err(
                path,
                format!("space {}: homepage {h:?} is not a page of the space", s.key),
            );
        }
    }
    Ok(())
}

pub(super) fn read_text(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).or_else(|e| err(path, format!("cannot read it: {e}")))
}

pub(super) fn read_bytes(path: &Path) -> Result<Bytes, SeedError> {
    std::fs::read(path)
        .map(Bytes::from)
        .or_else(|e| err(path, format!("cannot read it: {e}")))
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The media type Confluence would record for a file name (the common ones; others are bytes).
pub(super) fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("md") => "text/markdown",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("html" | "htm") => "text/html",
        Some("sh") => "text/x-sh",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}
