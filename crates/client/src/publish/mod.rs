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
mod options;
mod order;
mod plan;
mod scan;

pub use apply::apply;
pub use options::{Options, Orphans, MARKER};
pub use plan::{
    normalise, plan, same_storage, sha256_file, Action, Orphan, Plan, Step, Upload, CHILDREN_BODY,
};
pub use scan::{leading_heading, Source};
