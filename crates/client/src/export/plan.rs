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
    /// Attachments to download (the rest are current on disk).
    pub downloads: Vec<ListedAttachment>,
    /// What the manifest knew, for attachments that need no download.
    pub previous: Option<PageEntry>,
}

/// The jobs for `pages` (placed by `placed`), and how many pages need nothing. `old` is the
/// manifest's pages (empty with `--force`).
pub fn jobs(
    pages: &[Listed],
    placed: &BTreeMap<String, Placed>,
    old: &BTreeMap<String, PageEntry>,
    out: &Path,
) -> (Vec<Job>, usize) {
    let mut jobs = Vec::new();
    let mut unchanged = 0usize;
    for p in pages {
        let pl = placed[&p.id].clone();
        let prev = old.get(&p.id);
        let fetch_body = match prev {
            Some(e) => e.version != p.version || e.path != pl.file || !out.join(&pl.file).exists(),
            None => true,
        };
        let downloads: Vec<ListedAttachment> = p
            .attachments
            .iter()
            .filter(|att| {
                let want = &pl.attachments[&att.id];
                match prev.and_then(|e| e.attachments.get(&att.id)) {
                    Some(e) => {
                        e.version != att.version || &e.path != want || !out.join(want).exists()
                    }
                    None => true,
                }
            })
            .cloned()
            .collect();
        let gone_attachments = prev.is_some_and(|e| {
            e.attachments
                .keys()
                .any(|k| !pl.attachments.contains_key(k))
        });
        if !fetch_body && downloads.is_empty() && !gone_attachments {
            unchanged += 1;
            continue;
        }
        jobs.push(Job {
            page: p.clone(),
            placed: pl,
            fetch_body,
            downloads,
            previous: prev.cloned(),
        });
    }
    (jobs, unchanged)
}
