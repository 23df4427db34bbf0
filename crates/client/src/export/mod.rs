//! The export engine behind `cfl export`: a space or page tree to files that mirror the tree
//! (`tree.rs`), attachments beside their page, written atomically (`writer.rs`), with a manifest
//! and journal so a second run fetches only what changed and a killed run resumes
//! (`manifest.rs`). The listing comes first (`list.rs`), then the plan (`plan.rs`), then one task
//! per changed page (`page.rs`); requests run concurrently under an adaptive limit that backs
//! off on 429s and low `X-RateLimit-Remaining` (`limiter.rs`, through `fetch.rs`).
//!
//! The caller says what to export ([`Options`]) and hears what happens through [`Report`]; the
//! engine prints nothing.

mod fetch;
mod format;
mod limiter;
mod list;
mod manifest;
mod page;
mod plan;
mod tree;
mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::error::Context;

use self::fetch::{Fetcher, Stats};
use self::manifest::{FolderEntry, Journal, Manifest, PageEntry};
use self::page::Ctx;
use self::tree::{Listed, Placed};
use crate::content::Api;
use crate::Client;

pub use self::format::Format;
pub use self::manifest::{JOURNAL, MANIFEST};

/// Requests in flight at the start (or `--concurrency`, if lower).
const START_CONCURRENCY: usize = 8;

/// What to export, where, how.
#[derive(Clone, Debug)]
pub struct Options {
    /// A space key (DEV) or a page id (12345: that page and its descendants).
    pub target: String,
    pub out: PathBuf,
    pub format: Format,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Fetch every page again, whatever the manifest says.
    pub force: bool,
}

/// A file the run wrote or removed (paths relative to the output directory).
#[derive(Debug)]
pub enum Event<'a> {
    Page {
        id: &'a str,
        version: u64,
        path: &'a str,
    },
    Attachment {
        id: &'a str,
        version: u64,
        path: &'a str,
    },
    Removed {
        id: &'a str,
        path: &'a str,
    },
}

/// How a run is shown (a progress bar, lines); every method may do nothing.
pub trait Report {
    /// The number of pages that will be fetched.
    fn planned(&mut self, _pages: usize) {}
    fn event(&mut self, _event: &Event<'_>) {}
    /// The page file at `path` (relative to the output directory) only approximates its page:
    /// one call per kind of loss (e.g. a macro Markdown has no form for).
    fn approximated(&mut self, _path: &str, _loss: &str) {}
    /// One page task finished; `in_flight` is the limiter's current window.
    fn page_done(&mut self, _in_flight: usize) {}
    fn finished(&mut self) {}
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub pages: usize,
    /// Cloud folders (directories).
    pub folders: usize,
    pub exported: usize,
    pub unchanged: usize,
    pub attachments: usize,
    pub removed: usize,
    /// (page id, error) of each page that failed.
    pub failures: Vec<(String, String)>,
    /// A failure was a 401: the credential is the problem, not the pages.
    pub auth_failed: bool,
    pub requests: u64,
    pub throttled: u64,
    pub retried: u64,
    pub slowdowns: u64,
    pub final_concurrency: usize,
    pub seconds: f64,
}

/// Runs one export. An error means nothing useful could be done (a bad target, an unreadable
/// manifest); failed pages are listed in the summary and the rest are exported.
pub async fn run(
    client: Client,
    o: &Options,
    report: &mut dyn Report,
) -> crate::error::Result<Summary> {
    let started = Instant::now();
    let target = o.target.trim().to_string();
    if target.is_empty() {
        crate::error::invalid!("give a space key (e.g. DEV) or a page id (e.g. 12345) to export");
    }
    let max = o.concurrency.max(1);
    let fetch = Fetcher::new(client, START_CONCURRENCY, max);

    let api = Api::for_deployment(fetch.client.cred.deployment);

    // What to export: a space, or a page (or Cloud folder) and its descendants.
    let (space, root) = if target.chars().all(|c| c.is_ascii_digit()) {
        (list::space_of(&fetch, &target).await?, Some(target.clone()))
    } else {
        (target.clone(), None)
    };

    let out = o.out.clone();
    let site = fetch.client.api_base().to_string();
    let previous = Manifest::load(&out)?;
    if let Some(m) = &previous {
        check_same_export(m, o, &target)?;
    }
    writer::sweep_temp_files(&out);

    let (placed, folders, mut pages) =
        list_tree(&fetch, api, &space, root.as_deref(), o.format).await?;

    let manifest = match (&previous, o.force) {
        (Some(m), false) => m.clone(),
        _ => Manifest::new(&target, o.format.name(), &site),
    };
    let old = previous.map(|m| m.pages).unwrap_or_default();
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let journal = Journal::open(&out, &manifest)?;
    let known = if o.force {
        BTreeMap::new()
    } else {
        old.clone()
    };
    let (jobs, unchanged) = plan::jobs(&pages, &placed, &known, &out, api == Api::V1);
    // The bodies the listing brought now travel with their jobs.
    for p in &mut pages {
        p.body = None;
    }

    let ctx = Arc::new(Ctx {
        fetch,
        api,
        out: out.clone(),
        format: o.format,
        space: space.clone(),
        by_title: files_by_title(&pages, &placed),
    });
    report.planned(jobs.len());

    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let ctx = ctx.clone();
        let id = job.page.id.clone();
        set.spawn(async move { (id, page::export_page(&ctx, job).await) });
    }
    let mut w = Written {
        out,
        journal,
        manifest,
        sum: Summary {
            pages: pages.len(),
            folders: folders.len(),
            unchanged,
            ..Summary::default()
        },
        report,
    };
    w.collect(set, &ctx, &old).await?;

    let stale_folders = w.make_folders(&folders, &placed)?;
    w.remove_stale_pages(&placed)?;
    for f in stale_folders {
        writer::prune_dir(&w.out, &f.path);
    }
    w.manifest.target = target;
    w.manifest.format = o.format.name().to_string();
    w.manifest.site = site;
    w.manifest.save(&w.out)?;

    let mut sum = w.sum;
    add_request_stats(&mut sum, &ctx.fetch);
    sum.seconds = started.elapsed().as_secs_f64();
    Ok(sum)
}

/// What the requests met: counts, throttling, and where the adaptive limit ended.
fn add_request_stats(sum: &mut Summary, fetch: &Fetcher) {
    let st = &fetch.stats;
    let (slots, decreases) = fetch.limiter.snapshot();
    sum.requests = Stats::get(&st.requests);
    sum.throttled = Stats::get(&st.throttled);
    sum.retried = Stats::get(&st.retried);
    sum.slowdowns = decreases;
    sum.final_concurrency = slots;
}

/// A directory holding another export (target or format) is not overwritten without --force.
fn check_same_export(m: &Manifest, o: &Options, target: &str) -> crate::error::Result<()> {
    if !o.force && (m.target != target || m.format != o.format.name()) {
        crate::error::invalid!(
            "{} holds an export of {} as {}; export {} as {} into another directory, or pass --force to replace it",
            o.out.display(),
            m.target,
            m.format,
            target,
            o.format.name()
        );
    }
    Ok(())
}

/// The listing of the space, placed as files: where each page goes, the folders, the pages.
/// With a root page, only it and its descendants.
async fn list_tree(
    fetch: &Fetcher,
    api: Api,
    space: &str,
    root: Option<&str>,
    format: Format,
) -> crate::error::Result<(BTreeMap<String, Placed>, Vec<Listed>, Vec<Listed>)> {
    let mut listed = list::space(fetch, api, space).await?;
    if let Some(r) = root {
        if !listed.iter().any(|p| p.id == r) {
            crate::error::invalid!("page {r} is not a current page of space {space}");
        }
    }
    let placed = tree::layout(&listed, root, format.ext());
    listed.retain(|p| placed.contains_key(&p.id));
    let (folders, pages): (Vec<_>, Vec<_>) = listed.into_iter().partition(|p| p.folder);
    Ok((placed, folders, pages))
}

/// Page title (lower case) → its file, for links between exported pages.
fn files_by_title(pages: &[Listed], placed: &BTreeMap<String, Placed>) -> HashMap<String, String> {
    pages
        .iter()
        .filter_map(|p| {
            placed
                .get(&p.id)
                .map(|pl| (p.title.to_lowercase(), pl.file.clone()))
        })
        .collect()
}

/// Where finished work is recorded: the output directory, the journal and manifest, the
/// summary, the report.
struct Written<'r> {
    out: PathBuf,
    journal: Journal,
    manifest: Manifest,
    sum: Summary,
    report: &'r mut dyn Report,
}

impl Written<'_> {
    /// Records each page task as it finishes; a failed page is listed, the rest go on.
    async fn collect(
        &mut self,
        mut set: tokio::task::JoinSet<(String, crate::error::Result<page::Done>)>,
        ctx: &Ctx,
        old: &BTreeMap<String, PageEntry>,
    ) -> crate::error::Result<()> {
        while let Some(joined) = set.join_next().await {
            let (id, res) = joined
                .map_err(|e| crate::Error::Internal(format!("an export task panicked: {}", e)))?;
            match res {
                Ok(done) => self.page_done(done, old)?,
                Err(e) => {
                    self.sum.auth_failed |= e.credential_refused();
                    self.sum.failures.push((id, e.with_sources()));
                }
            }
            self.report.page_done(ctx.fetch.limiter.snapshot().0);
        }
        self.report.finished();
        Ok(())
    }

    /// Records one exported page; files of its old place or of removed attachments go.
    fn page_done(
        &mut self,
        done: page::Done,
        old: &BTreeMap<String, PageEntry>,
    ) -> crate::error::Result<()> {
        if let Some(prev) = old.get(&done.id) {
            if prev.path != done.entry.path {
                writer::remove_and_prune(&self.out, &prev.path);
            }
            for (aid, e) in &prev.attachments {
                if done.entry.attachments.get(aid).map(|n| &n.path) != Some(&e.path) {
                    writer::remove_and_prune(&self.out, &e.path);
                }
            }
        }
        self.journal.record(&done.id, Some(&done.entry))?;
        if done.wrote_page {
            self.sum.exported += 1;
            self.report.event(&Event::Page {
                id: &done.id,
                version: done.entry.version,
                path: &done.entry.path,
            });
        }
        for loss in &done.losses {
            self.report.approximated(&done.entry.path, loss);
        }
        for (aid, version, path) in &done.wrote {
            self.sum.attachments += 1;
            self.report.event(&Event::Attachment {
                id: aid,
                version: *version,
                path,
            });
        }
        self.manifest.pages.insert(done.id, done.entry);
        Ok(())
    }

    /// Folders are directories, made even when empty. Returns the folders gone from the tree
    /// (or moved), whose directories go once empty.
    fn make_folders(
        &mut self,
        folders: &[Listed],
        placed: &BTreeMap<String, Placed>,
    ) -> crate::error::Result<Vec<FolderEntry>> {
        let old_folders = std::mem::take(&mut self.manifest.folders);
        for f in folders {
            let dir = &placed[&f.id].dir;
            std::fs::create_dir_all(self.out.join(dir))
                .with_context(|| format!("cannot create {}", self.out.join(dir).display()))?;
            self.manifest.folders.insert(
                f.id.clone(),
                FolderEntry {
                    title: f.title.clone(),
                    path: dir.clone(),
                },
            );
        }
        Ok(old_folders
            .into_iter()
            .filter(|(id, e)| self.manifest.folders.get(id).map(|n| &n.path) != Some(&e.path))
            .map(|(_, e)| e)
            .collect())
    }

    /// Pages no longer in the tree: their files go.
    fn remove_stale_pages(
        &mut self,
        placed: &BTreeMap<String, Placed>,
    ) -> crate::error::Result<()> {
        let live: HashSet<&String> = placed.keys().collect();
        let stale: Vec<String> = self
            .manifest
            .pages
            .keys()
            .filter(|id| !live.contains(id))
            .cloned()
            .collect();
        for id in stale {
            if let Some(e) = self.manifest.pages.remove(&id) {
                for att in e.attachments.values() {
                    writer::remove_and_prune(&self.out, &att.path);
                }
                writer::remove_and_prune(&self.out, &e.path);
                self.journal.record(&id, None)?;
                self.sum.removed += 1;
                self.report.event(&Event::Removed {
                    id: &id,
                    path: &e.path,
                });
            }
        }
        Ok(())
    }
}
