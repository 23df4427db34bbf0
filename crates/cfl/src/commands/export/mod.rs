//! `cfl export SPACE|PAGE_ID --out DIR [--format markdown|html|storage]`: a space or page tree
//! to files that mirror the tree (`tree.rs`), attachments beside their page, written atomically
//! (`writer.rs`), with a manifest and journal so a second run fetches only what changed and a
//! killed run resumes (`manifest.rs`). Requests run concurrently under an adaptive limit that
//! backs off on 429s and low `X-RateLimit-Remaining` (`limiter.rs`); cfl's HTTP layer does not
//! retry here, so every 429 reaches the limiter.
//!
//! Output: on a terminal a progress bar on stderr; otherwise one tab-separated line per file
//! written or removed on stdout (`page ID VERSION PATH`, `attachment ID VERSION PATH`,
//! `removed ID PATH`), and always a final `summary key=value …` line on stderr.

mod limiter;
mod manifest;
mod tree;
mod writer;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use cfl_client::http::{retry_delay, Response};
use cfl_client::{paginate, Client};
use cfl_markdown::{FrontMatter, Links, PageRef};
use serde_json::Value;

use self::limiter::{Limiter, Signal};
use self::manifest::{AttachmentEntry, Journal, Manifest, PageEntry};
use self::tree::{Listed, ListedAttachment, Placed};
use super::Globals;

/// Retries of one request that was throttled (429/503) or broke off, before it counts as failed.
const MAX_ATTEMPTS: u32 = 10;
const START_CONCURRENCY: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
    Storage,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Storage => "storage",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Storage => "xml",
        }
    }
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// A space key (DEV) for the whole space, or a page id (12345) for that page and its
    /// descendants.
    pub target: String,
    /// Directory to write into (created if missing). Running again into the same directory
    /// fetches only what changed since.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// The files to write: Markdown (index.md), HTML (index.html) or storage format (index.xml).
    #[arg(long, short = 'f', value_enum, default_value = "markdown")]
    pub format: Format,
    /// Most requests in flight at once. cfl starts at 8 (or this, if lower), adds slots while
    /// the server keeps up and halves them when it throttles.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Fetch every page again, whatever the manifest says.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: ExportArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    super::auth::runtime()?.block_on(run_async(a, g))
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    throttled: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// Requests through the limiter, with retries of throttling and broken connections.
struct Fetcher {
    client: Client,
    limiter: Arc<Limiter>,
    stats: Stats,
    max_wait: Duration,
}

enum Outcome {
    Done(Response),
    Again(Duration),
}

impl Fetcher {
    async fn attempt(
        &self,
        url: &str,
        dest: Option<&Path>,
        attempt: u32,
    ) -> anyhow::Result<Outcome> {
        let slot = self.limiter.acquire().await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let res = self.client.get_once(url, dest).await;
        drop(slot);
        let r = match res {
            Ok(r) => r,
            Err(e) if attempt + 1 < MAX_ATTEMPTS => {
                tracing::debug!("{e:#}; retrying");
                let d = retry_delay(
                    &Default::default(),
                    attempt,
                    SystemTime::now(),
                    rand::random(),
                );
                return Ok(Outcome::Again(d.min(Duration::from_secs(5))));
            }
            Err(e) => return Err(e),
        };
        let mut sig = Signal::from_headers(r.status, &r.headers);
        if r.status == 429 || r.status == 503 {
            let d = retry_delay(&r.headers, attempt, SystemTime::now(), rand::random());
            sig.throttled = true;
            sig.retry_after = Some(d);
            self.limiter.observe(sig);
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            if attempt + 1 < MAX_ATTEMPTS && d <= self.max_wait {
                return Ok(Outcome::Again(d));
            }
            return Ok(Outcome::Done(r));
        }
        self.limiter.observe(sig);
        Ok(Outcome::Done(r))
    }

    /// A GET, retried while throttled; the final response whatever its status.
    async fn get(&self, url: &str, dest: Option<&Path>) -> anyhow::Result<Response> {
        let mut attempt = 0;
        loop {
            match self.attempt(url, dest, attempt).await? {
                Outcome::Done(r) => return Ok(r),
                Outcome::Again(d) => {
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
            }
        }
    }

    /// A GET that must succeed, as JSON.
    async fn json(&self, url: &str) -> anyhow::Result<Value> {
        let r = self.get(url, None).await?;
        if !r.is_success() {
            anyhow::bail!("GET {url}: {}", self.client.explain(&r));
        }
        r.json()
    }
}

/// Everything a page task needs, shared.
struct Ctx {
    fetch: Fetcher,
    out: PathBuf,
    format: Format,
    space: String,
    /// Page title (lower case) → its file, for links between exported pages.
    by_title: HashMap<String, String>,
}

struct Job {
    page: Listed,
    placed: Placed,
    fetch_body: bool,
    /// Attachments to download (the rest are current on disk).
    downloads: Vec<ListedAttachment>,
    /// What the manifest knew, for attachments that need no download.
    previous: Option<PageEntry>,
}

struct Done {
    id: String,
    entry: PageEntry,
    wrote_page: bool,
    wrote: Vec<(String, u64, String)>,
}

fn render(ctx: &Ctx, page: &Listed, placed: &Placed, version: u64, storage: &str) -> String {
    let resolve = |r: &PageRef| -> Option<String> {
        if r.space
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(&ctx.space))
        {
            return None;
        }
        let target = ctx.by_title.get(&r.title.to_lowercase())?;
        Some(
            writer::relative(&placed.dir, target)
                .split('/')
                .map(cfl_markdown::encode_segment)
                .collect::<Vec<_>>()
                .join("/"),
        )
    };
    let links = Links {
        page: Some(&resolve),
    };
    match ctx.format {
        Format::Storage => storage.to_string(),
        Format::Html => cfl_markdown::to_html(storage, &page.title, &links),
        Format::Markdown => {
            let mut fm = FrontMatter::default();
            fm.set("title", page.title.clone());
            fm.set("space", ctx.space.clone());
            fm.set("id", page.id.clone());
            fm.set("version", version.to_string());
            cfl_markdown::with_front_matter(&fm, &cfl_markdown::to_markdown(storage, &links))
        }
    }
}

async fn export_page(ctx: Arc<Ctx>, job: Job) -> anyhow::Result<Done> {
    let f = &ctx.fetch;
    let mut version = job.page.version;
    let mut title = job.page.title.clone();
    if job.fetch_body {
        let url = f.client.url(&format!(
            "/rest/api/content/{}?expand=body.storage,version",
            job.page.id
        ))?;
        let v = f.json(&url).await?;
        version = v
            .pointer("/version/number")
            .and_then(Value::as_u64)
            .unwrap_or(version);
        if let Some(t) = v["title"].as_str() {
            title = t.to_string();
        }
        let storage = v
            .pointer("/body/storage/value")
            .and_then(Value::as_str)
            .unwrap_or("");
        let text = render(&ctx, &job.page, &job.placed, version, storage);
        writer::write_atomic(&ctx.out.join(&job.placed.file), text.as_bytes())?;
    }
    let mut attachments: BTreeMap<String, AttachmentEntry> = BTreeMap::new();
    // Attachments already current keep their entries.
    if let Some(prev) = &job.previous {
        for (id, e) in &prev.attachments {
            if job.placed.attachments.get(id) == Some(&e.path)
                && !job.downloads.iter().any(|d| &d.id == id)
            {
                attachments.insert(id.clone(), e.clone());
            }
        }
    }
    let mut wrote = Vec::new();
    for a in &job.downloads {
        let Some(rel) = job.placed.attachments.get(&a.id) else {
            continue;
        };
        let dest = ctx.out.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = writer::temp_path(&dest);
        let url = f.client.url(&a.download)?;
        let r = f.get(&url, Some(&tmp)).await?;
        if !r.is_success() {
            let _ = std::fs::remove_file(&tmp);
            anyhow::bail!("downloading {}: {}", a.title, f.client.explain(&r));
        }
        std::fs::rename(&tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
        attachments.insert(
            a.id.clone(),
            AttachmentEntry {
                version: a.version,
                path: rel.clone(),
            },
        );
        wrote.push((a.id.clone(), a.version, rel.clone()));
    }
    Ok(Done {
        id: job.page.id.clone(),
        entry: PageEntry {
            version,
            title,
            path: job.placed.file.clone(),
            attachments,
        },
        wrote_page: job.fetch_body,
        wrote,
    })
}

/// Lists every current page of a space with versions, ancestors and attachments.
async fn list_space(f: &Fetcher, space: &str) -> anyhow::Result<Vec<Listed>> {
    let mut url = f.client.url(&format!(
        "/rest/api/content?spaceKey={}&type=page&status=current&limit=100&expand=version,ancestors,children.attachment.version",
        percent_encoding::utf8_percent_encode(space, percent_encoding::NON_ALPHANUMERIC)
    ))?;
    let mut pages = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if r.status == 404 {
            anyhow::bail!("there is no space {space:?} (or you cannot see it): check the key with `cfl api /rest/api/space`");
        }
        if !r.is_success() {
            anyhow::bail!("listing space {space}: {}", f.client.explain(&r));
        }
        let v = r.json()?;
        for item in v["results"].as_array().into_iter().flatten() {
            if let Some(p) = tree::parse_page(item) {
                pages.push(p);
            }
        }
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = f.client.url(&paginate::resolve(f.client.api_base(), &n))?,
            None => break,
        }
    }
    Ok(pages)
}

/// The full attachment list of a page whose embedded list may have been cut short.
async fn list_attachments(f: &Fetcher, id: &str) -> anyhow::Result<Vec<ListedAttachment>> {
    let mut url = f.client.url(&format!(
        "/rest/api/content/{id}/child/attachment?limit=100&expand=version"
    ))?;
    let mut out = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if !r.is_success() {
            anyhow::bail!("listing attachments of page {id}: {}", f.client.explain(&r));
        }
        let v = r.json()?;
        out.extend(
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(tree::parse_attachment),
        );
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = f.client.url(&paginate::resolve(f.client.api_base(), &n))?,
            None => break,
        }
    }
    Ok(out)
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} pages  {elapsed_precise}  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        });
        Progress { bar }
    }

    fn line(&self, out: &mut impl Write, text: &str) {
        if self.bar.is_none() {
            let _ = writeln!(out, "{text}");
        }
    }
}

async fn run_async(a: ExportArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let target = a.target.trim().to_string();
    if target.is_empty() {
        anyhow::bail!("give a space key (e.g. DEV) or a page id (e.g. 12345) to export");
    }
    let client = super::connect::client(g)?;
    // The fetcher retries itself (get_once), so the limiter sees every 429.
    let max_wait = client.retry.max_wait;
    let max = a.concurrency as usize;
    let fetch = Fetcher {
        client,
        limiter: Limiter::new(START_CONCURRENCY.min(max), max),
        stats: Stats::default(),
        max_wait,
    };

    // What to export: a space, or a page and its descendants.
    let (space, root) = if target.chars().all(|c| c.is_ascii_digit()) {
        let url = fetch
            .client
            .url(&format!("/rest/api/content/{target}?expand=space"))?;
        let r = fetch.get(&url, None).await?;
        if r.status == 404 {
            anyhow::bail!("there is no page with id {target} (or you cannot see it)");
        }
        if !r.is_success() {
            anyhow::bail!("reading page {target}: {}", fetch.client.explain(&r));
        }
        let v = r.json()?;
        let key = v
            .pointer("/space/key")
            .and_then(Value::as_str)
            .context("the page's answer names no space")?
            .to_string();
        (key, Some(target.clone()))
    } else {
        (target.clone(), None)
    };

    let out = a.out.clone();
    let site = fetch.client.api_base().to_string();
    let previous = Manifest::load(&out)?;
    if let Some(m) = &previous {
        if !a.force && (m.target != target || m.format != a.format.name()) {
            anyhow::bail!(
                "{} holds an export of {} as {}; export {} as {} into another directory, or pass --force to replace it",
                out.display(),
                m.target,
                m.format,
                target,
                a.format.name()
            );
        }
    }
    writer::sweep_temp_files(&out);

    let mut pages = list_space(&fetch, &space).await?;
    if pages.is_empty() {
        // An unknown key lists nothing rather than failing: ask for the space itself.
        let url = fetch.client.url(&format!(
            "/rest/api/space/{}",
            percent_encoding::utf8_percent_encode(&space, percent_encoding::NON_ALPHANUMERIC)
        ))?;
        let r = fetch.get(&url, None).await?;
        if r.status == 404 {
            anyhow::bail!(
                "there is no space {space:?} (or you cannot see it): check the key with `cfl api /rest/api/space`"
            );
        }
    }
    if let Some(r) = &root {
        if !pages.iter().any(|p| &p.id == r) {
            anyhow::bail!("page {r} is not a current page of space {space}");
        }
    }
    let placed = tree::layout(&pages, root.as_deref(), a.format.ext());
    pages.retain(|p| placed.contains_key(&p.id));
    for p in pages.iter_mut().filter(|p| !p.attachments_complete) {
        p.attachments = list_attachments(&fetch, &p.id).await?;
    }
    // Attachments fetched late need their places too.
    let placed = tree::layout(&pages, root.as_deref(), a.format.ext());

    let mut manifest = match (&previous, a.force) {
        (Some(m), false) => m.clone(),
        _ => Manifest::new(&target, a.format.name(), &site),
    };
    let old = previous.map(|m| m.pages).unwrap_or_default();
    std::fs::create_dir_all(&out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let mut journal = Journal::open(&out, &manifest)?;

    let mut jobs = Vec::new();
    let mut unchanged = 0usize;
    for p in &pages {
        let pl = placed[&p.id].clone();
        let prev = if a.force { None } else { old.get(&p.id) };
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

    let ctx = Arc::new(Ctx {
        fetch,
        out: out.clone(),
        format: a.format,
        space: space.clone(),
        by_title: placed
            .iter()
            .filter_map(|(id, pl)| {
                pages
                    .iter()
                    .find(|p| &p.id == id)
                    .map(|p| (p.title.to_lowercase(), pl.file.clone()))
            })
            .collect(),
    });
    let progress = Progress::new(jobs.len());
    let stdout = std::io::stdout();
    let mut so = stdout.lock();

    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let ctx = ctx.clone();
        let id = job.page.id.clone();
        set.spawn(async move { (id, export_page(ctx, job).await) });
    }
    let mut exported = 0usize;
    let mut attachments = 0usize;
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut auth_failed = false;
    while let Some(joined) = set.join_next().await {
        let (id, res) = joined.context("an export task panicked")?;
        match res {
            Ok(done) => {
                // Files of the page's old place or of removed attachments go.
                if let Some(prev) = old.get(&done.id) {
                    if prev.path != done.entry.path {
                        writer::remove_and_prune(&out, &prev.path);
                    }
                    for (aid, e) in &prev.attachments {
                        if done.entry.attachments.get(aid).map(|n| &n.path) != Some(&e.path) {
                            writer::remove_and_prune(&out, &e.path);
                        }
                    }
                }
                journal.record(&done.id, Some(&done.entry))?;
                if done.wrote_page {
                    exported += 1;
                    progress.line(
                        &mut so,
                        &format!(
                            "page\t{}\t{}\t{}",
                            done.id, done.entry.version, done.entry.path
                        ),
                    );
                }
                for (aid, v, path) in &done.wrote {
                    attachments += 1;
                    progress.line(&mut so, &format!("attachment\t{aid}\t{v}\t{path}"));
                }
                manifest.pages.insert(done.id, done.entry);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                auth_failed |= msg.contains("HTTP 401");
                ctx.fetch.stats.failed.fetch_add(1, Ordering::Relaxed);
                failures.push((id, msg));
            }
        }
        if let Some(b) = &progress.bar {
            b.inc(1);
            let (slots, _) = ctx.fetch.limiter.snapshot();
            b.set_message(format!("{slots} in flight"));
        }
    }
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }

    // Pages no longer in the tree: their files go.
    let live: HashSet<&String> = placed.keys().collect();
    let mut removed = 0usize;
    let stale: Vec<String> = manifest
        .pages
        .keys()
        .filter(|id| !live.contains(id))
        .cloned()
        .collect();
    for id in stale {
        if let Some(e) = manifest.pages.remove(&id) {
            for att in e.attachments.values() {
                writer::remove_and_prune(&out, &att.path);
            }
            writer::remove_and_prune(&out, &e.path);
            journal.record(&id, None)?;
            removed += 1;
            progress.line(&mut so, &format!("removed\t{id}\t{}", e.path));
        }
    }
    manifest.target = target.clone();
    manifest.format = a.format.name().to_string();
    manifest.site = site;
    manifest.save(&out)?;
    drop(so);

    let st = &ctx.fetch.stats;
    let (slots, decreases) = ctx.fetch.limiter.snapshot();
    for (id, msg) in &failures {
        eprintln!("error: page {id}: {msg}");
    }
    eprintln!(
        "summary pages={} exported={exported} unchanged={unchanged} attachments={attachments} removed={removed} failed={} requests={} throttled={} retried={} slowdowns={decreases} final_concurrency={slots} seconds={:.2}",
        pages.len(),
        failures.len(),
        st.requests.load(Ordering::Relaxed),
        st.throttled.load(Ordering::Relaxed),
        st.retried.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        eprintln!(
            "{} page(s) failed; run the same command again to fetch just those.",
            failures.len()
        );
        return Ok(ExitCode::from(if auth_failed { 4 } else { 1 }));
    }
    Ok(ExitCode::SUCCESS)
}
