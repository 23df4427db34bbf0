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

pub mod apply;
mod dir;
mod file;
mod read;
mod spec;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::config::users::UserConfig;

use read::{file_name, media_type, read_bytes, read_text};
use spec::err;
pub use spec::{Seed, SeedAttachment, SeedError, SeedPage, SeedSpace};

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
