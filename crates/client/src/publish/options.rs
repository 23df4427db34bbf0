//! What a publish is asked to do ([`Options`], [`Orphans`]) and the marker it leaves on its pages.

use std::path::PathBuf;

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
