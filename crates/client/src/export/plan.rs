//! The plan: which listed pages need their body fetched and which attachments need downloading,
//! from the layout on disk and what the manifest says is already there.

use std::collections::BTreeMap;
use std::path::Path;

use super::manifest::PageEntry;
use super::tree::{Listed, ListedAttachment, Placed};

pub struct Job {
    pub page: Listed,
    pub placed: Placed,
    pub fetch_body: bool,
    /// The attachments are not known yet (Cloud; a cut-short DC list): the task lists them and
    /// works out the downloads itself.
    pub list_attachments: bool,
    /// Attachments to download (the rest are current on disk).
    pub downloads: Vec<ListedAttachment>,
    /// What the manifest knew, for attachments that need no download.
    pub previous: Option<PageEntry>,
}

/// The jobs for `pages` (placed by `placed`), and how many pages need nothing. `old` is the
/// manifest's pages (empty with `--force`). An unknown attachment list is listed for a page
/// fetched again, and with `relist_unchanged` (Data Center, whose cut-short lists are rare)
/// for an unchanged page too; on Cloud, where no page's list is known up front, an unchanged
/// page keeps the attachments the manifest has.
pub fn jobs(
    pages: &[Listed],
    placed: &BTreeMap<String, Placed>,
    old: &BTreeMap<String, PageEntry>,
    out: &Path,
    relist_unchanged: bool,
) -> (Vec<Job>, usize) {
    let mut jobs = Vec::new();
    let mut unchanged = 0usize;
    for p in pages {
        let pl = placed[&p.id].clone();
        if p.folder {
            continue;
        }
        let prev = old.get(&p.id);
        let fetch_body = match prev {
            Some(e) => e.version != p.version || e.path != pl.file || !out.join(&pl.file).exists(),
            None => true,
        };
        // Unknown attachments of a page that is not fetched again stay as the manifest has them.
        let list_attachments =
            !p.attachments_complete && (fetch_body || prev.is_none() || relist_unchanged);
        if !p.attachments_complete && !list_attachments {
            unchanged += 1;
            continue;
        }
        let downloads = downloads(&p.attachments, &pl.attachments, prev, out);
        let gone_attachments = prev.is_some_and(|e| {
            e.attachments
                .keys()
                .any(|k| !pl.attachments.contains_key(k))
        });
        if !fetch_body && downloads.is_empty() && !gone_attachments && !list_attachments {
            unchanged += 1;
            continue;
        }
        jobs.push(Job {
            page: p.clone(),
            placed: pl,
            fetch_body,
            list_attachments,
            downloads,
            previous: prev.cloned(),
        });
    }
    (jobs, unchanged)
}

/// The attachments (placed at `placed`) whose file is missing or older than listed.
pub fn downloads(
    attachments: &[ListedAttachment],
    placed: &BTreeMap<String, String>,
    prev: Option<&PageEntry>,
    out: &Path,
) -> Vec<ListedAttachment> {
    attachments
        .iter()
        .filter(|att| {
            let Some(want) = placed.get(&att.id) else {
                return false;
            };
            match prev.and_then(|e| e.attachments.get(&att.id)) {
                Some(e) => e.version != att.version || &e.path != want || !out.join(want).exists(),
                None => true,
            }
        })
        .cloned()
        .collect()
}
