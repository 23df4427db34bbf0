//! The engine behind `cfl publish DIR`: a directory of Markdown kept in sync with a page tree.
//!
//! [`plan`] reads the directory (`scan.rs`: which file is which page, in which order), lists the
//! space once (pages with parents, positions and bodies), converts every file (links between
//! the files become page links) and decides per page: create, update (only when the storage
//! format differs, compared after normalising, so an unchanged page gets no new version),
//! unchanged, move (another parent, or another place among its siblings: `order.rs`), files to
//! upload (by SHA-256, kept in the attachment's comment), and orphans: pages under the root
//! that carry this tool's marker property ([`MARKER`], set on every page it creates) but whose
//! file is gone. [`apply`] then carries the plan out. Everything is checked (files, titles,
//! links to images) before the first write. The engine prints nothing.

mod apply;
mod order;
mod plan;
mod scan;

use std::path::PathBuf;

pub use apply::apply;
pub use plan::{
    normalise, plan, same_storage, sha256_file, Action, Orphan, Plan, Step, Upload, CHILDREN_BODY,
};
pub use scan::{leading_heading, Source};

/// The content property marking a page as made by `cfl publish` (value: `{"source": PATH}`).
pub const MARKER: &str = "cfl-publish";

/// What becomes of managed pages whose file is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orphans {
    /// Left alone (and listed).
    #[default]
    Keep,
    /// Archived (Cloud only).
    Archive,
    /// Moved to the trash.
    Delete,
}

impl Orphans {
    pub fn name(self) -> &'static str {
        match self {
            Orphans::Keep => "keep",
            Orphans::Archive => "archive",
            Orphans::Delete => "delete",
        }
    }
}

/// What to publish where.
#[derive(Debug, Clone)]
pub struct Options {
    pub dir: PathBuf,
    /// Space key.
    pub space: String,
    /// The page (or Cloud folder) the directory is, by id or title; else the page titled like
    /// the root's index file (or the directory), made at the top of the space if missing.
    pub parent: Option<String>,
    pub orphans: Orphans,
}
