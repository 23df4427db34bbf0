//! One page's task: its body (when it changed), rendered and written atomically, then its
//! changed attachments streamed to disk.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::error::Context;
use cfl_markdown::{FrontMatter, Links, PageRef};

use super::fetch::Fetcher;
use super::format::Format;
use super::manifest::{AttachmentEntry, PageEntry};
use super::plan::{self, Job};
use super::tree::{self, Listed, Placed};
use super::{list, writer};
use crate::content::Api;

/// Everything a page task needs, shared.
pub struct Ctx {
    pub fetch: Fetcher,
    pub api: Api,
    pub out: PathBuf,
    pub format: Format,
    pub space: String,
    /// Page title (lower case) → its file, for links between exported pages.
    pub by_title: HashMap<String, String>,
}

/// A finished page: its manifest entry and the files written.
pub struct Done {
    pub id: String,
    pub entry: PageEntry,
    pub wrote_page: bool,
    /// (attachment id, version, path) of each attachment written.
    pub wrote: Vec<(String, u64, String)>,
    /// What the written file only approximates (Markdown), one line per kind of loss.
    pub losses: Vec<String>,
}

/// The page's file, and what it only approximates (Markdown has no form for some macros).
fn render(
    ctx: &Ctx,
    page: &Listed,
    placed: &Placed,
    version: u64,
    storage: &str,
) -> (String, Vec<String>) {
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
        Format::Storage => (storage.to_string(), Vec::new()),
        Format::Html => (
            cfl_markdown::to_html(storage, &page.title, &links),
            Vec::new(),
        ),
        Format::Markdown => {
            let mut fm = FrontMatter::default();
            fm.set("title", page.title.clone());
            fm.set("space", ctx.space.clone());
            fm.set("id", page.id.clone());
            fm.set("version", version.to_string());
            let (md, losses) = cfl_markdown::to_markdown_reported(storage, &links);
            (cfl_markdown::with_front_matter(&fm, &md), losses)
        }
    }
}

pub async fn export_page(ctx: &Ctx, mut job: Job) -> crate::error::Result<Done> {
    let f = &ctx.fetch;
    let mut version = job.page.version;
    let mut title = job.page.title.clone();
    let mut losses = Vec::new();
    if job.fetch_body {
        // Cloud's listing brought the body; Data Center's did not.
        let storage = match job.page.body.take() {
            Some(b) => b,
            None => {
                let b = list::dc_body(f, &job.page.id).await?;
                version = b.version.unwrap_or(version);
                if let Some(t) = b.title {
                    title = t;
                }
                b.storage
            }
        };
        let text;
        (text, losses) = render(ctx, &job.page, &job.placed, version, &storage);
        writer::write_atomic(&ctx.out.join(&job.placed.file), text.as_bytes())?;
    }
    if job.list_attachments {
        let listed = list::attachments(f, ctx.api, &job.page.id).await?;
        job.placed.attachments = tree::place_attachments(&job.placed, &listed);
        job.downloads = plan::downloads(
            &listed,
            &job.placed.attachments,
            job.previous.as_ref(),
            &ctx.out,
        );
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
        let r = f.get(&a.download, Some(&tmp)).await?;
        if !r.is_success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(f.client.refusal(&r, &format!("downloading {}", a.title)));
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
        losses,
    })
}
