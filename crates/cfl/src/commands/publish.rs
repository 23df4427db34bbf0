//! `cfl publish DIR --space KEY [--parent ID|TITLE] [--orphans keep|archive|delete] [--dry-run]`:
//! a directory kept in sync with a page tree, by the engine in `cfl_client::publish` (this file
//! only parses and prints: the plan with `--dry-run`, else each change as it is made).
//!
//! `cfl publish FILE.md [--space KEY] [--parent ID|TITLE] [--title T]`: Markdown to a Confluence
//! page, through the content layer (Data Center v1; Cloud v2, uploads v1). The title comes from
//! the flag, the front matter (`title:`), the first `# heading` or the file name; a leading
//! `# heading` equal to the title leaves the body, as Confluence shows the title itself; the space and parent (a page, or on Cloud
//! a folder, by id or title) from flags or front matter. A page with that title in the space is
//! updated (version + 1) when its storage format differs, else left alone (`unchanged`); no such
//! page is created. Local images and linked local files become attachments of the page
//! (uploaded when new or their SHA-256, kept in the attachment's comment, changed). Everything is checked (front matter, images, parent) before any write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cfl_client::content::page::PageChange;
use cfl_client::content::{Api, Content, ContentError, PageRef};

use super::Globals;
use crate::runtime::runtime;

#[derive(clap::Args)]
pub struct PublishArgs {
    /// The Markdown file (CommonMark with tables; optional `---` front matter), or a directory
    /// to sync as a page tree (`index.md`/`README.md` the directory's page, every other `.md` a
    /// page under it).
    #[arg(value_name = "FILE|DIR")]
    pub file: PathBuf,
    /// Space key (else `space:` from the front matter).
    #[arg(long)]
    pub space: Option<String>,
    /// Parent page (on Cloud also a folder), by id or by title in the space (else `parent:`
    /// from the front matter).
    #[arg(long)]
    pub parent: Option<String>,
    /// Page title (else `title:`, the first `# heading`, or the file name).
    #[arg(long)]
    pub title: Option<String>,
    /// Print the storage format (stdout) and the title and images it would use (stderr);
    /// change nothing. For a directory: print the plan (create / update / unchanged / move /
    /// upload / orphan lines), nothing else on stdout.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory only: what to do with pages this tool published whose file is gone.
    #[arg(long, value_enum, default_value = "keep")]
    pub orphans: OrphanMode,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OrphanMode {
    /// Leave them (and say so).
    Keep,
    /// Archive them (Cloud only).
    Archive,
    /// Move them to the trash.
    Delete,
}

/// The title from a leading `# heading`, and the body without it.
fn leading_heading(body: &str) -> Option<(String, String)> {
    let trimmed = body.trim_start_matches(['\n', '\r', ' ']);
    let first = trimmed.lines().next()?;
    let title = first
        .strip_prefix("# ")?
        .trim()
        .trim_end_matches('#')
        .trim();
    if title.is_empty() {
        return None;
    }
    let rest = trimmed[first.len()..].trim_start_matches(['\n', '\r']);
    Some((title.to_string(), rest.to_string()))
}

pub fn run(a: PublishArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    if a.file.is_dir() {
        return run_dir(a, g);
    }
    if matches!(a.orphans, OrphanMode::Archive | OrphanMode::Delete) {
        anyhow::bail!(
            "--orphans applies to a directory; {} is a file",
            a.file.display()
        );
    }
    let raw =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let text = String::from_utf8(raw)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", a.file.display()))?;
    let (fm, body) = cfl_markdown::front_matter(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let (title, body) = page_title(&a, &fm, body)?;
    let space = a
        .space
        .clone()
        .or_else(|| fm.get("space").map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        .with_context(|| {
            format!(
                "which space? Pass --space KEY, or add `space: KEY` to the front matter of {}",
                a.file.display()
            )
        })?;
    let parent = a
        .parent
        .clone()
        .or_else(|| fm.get("parent").map(str::to_string));

    // A leading `# Title` equal to the title would show it twice (Confluence shows the title).
    let storage = cfl_markdown::to_storage_titled(&body, &title);
    let images = local_files(&a.file, &storage)?;
    if a.dry_run {
        // Only the storage format on stdout, so it can be piped; the rest on stderr.
        writeln!(std::io::stdout().lock(), "{}", storage.body)?;
        eprintln!("title\t{title}");
        for (name, path) in &images {
            eprintln!("attachment\t{name}\t{}", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    runtime()?.block_on(publish(
        g,
        &space,
        parent.as_deref(),
        &title,
        &storage.body,
        &images,
    ))
}

/// The page's title (`--title`, the front matter's `title:`, a leading `# Title` taken off the
/// body, else the file name) and the body that remains.
fn page_title(
    a: &PublishArgs,
    fm: &cfl_markdown::FrontMatter,
    body: &str,
) -> anyhow::Result<(String, String)> {
    let mut body = body.to_string();
    let title = match a
        .title
        .clone()
        .or_else(|| fm.get("title").map(str::to_string))
    {
        Some(t) => t,
        None => match leading_heading(&body) {
            Some((t, rest)) => {
                body = rest;
                t
            }
            None => a
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
    };
    let title = title.trim().to_string();
    if title.is_empty() {
        anyhow::bail!("the page needs a title: pass --title, or start the file with `# Title`");
    }
    Ok((title, body))
}

/// The local files the page shows or links to (name, path), resolved against the Markdown
/// file's directory; every one must exist before any write.
fn local_files(
    file: &Path,
    storage: &cfl_markdown::Storage,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    // Images and linked files (attachment links) alike.
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    let mut missing = Vec::new();
    for img in storage.images.iter().chain(&storage.attachments) {
        let path = base.join(img);
        let name = cfl_markdown::file_name(img).to_string();
        if !path.is_file() {
            missing.push(img.clone());
            continue;
        }
        if let Some((_, other)) = images.iter().find(|(n, _)| n == &name) {
            anyhow::bail!(
                "two different images are both called {name:?} ({} and {}); Confluence attachments of one page need distinct names",
                other.display(),
                path.display()
            );
        }
        images.push((name, path));
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "image file(s) not found (paths are relative to {}): {}",
            base.display(),
            missing.join(", ")
        );
    }
    Ok(images)
}

/// `cfl publish DIR`: the plan, then (unless `--dry-run`) its changes, one line each.
fn run_dir(a: PublishArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    use cfl_client::publish::{self, Options, Orphans};
    if a.title.is_some() {
        anyhow::bail!(
            "--title names one page; for a directory each file's title comes from its front \
             matter (`title:`), its first `# heading` or its name"
        );
    }
    let space = match a.space.clone().filter(|s| !s.trim().is_empty()) {
        Some(s) => s,
        None => root_space(&a.file)?.with_context(|| {
            format!(
                "which space? Pass --space KEY, or add `space: KEY` to the front matter of {}'s \
                 index.md",
                a.file.display()
            )
        })?,
    };
    let opts = Options {
        dir: a.file.clone(),
        space,
        parent: a.parent.clone(),
        orphans: match a.orphans {
            OrphanMode::Keep => Orphans::Keep,
            OrphanMode::Archive => Orphans::Archive,
            OrphanMode::Delete => Orphans::Delete,
        },
    };
    runtime()?.block_on(async {
        let client = super::connect::client(g)?;
        let c = Content::new(&client);
        let plan = publish::plan(&c, &opts).await?;
        for w in &plan.warnings {
            eprintln!("warning: {w}");
        }
        let mut out = std::io::stdout().lock();
        if a.dry_run {
            for line in plan.lines() {
                writeln!(out, "{line}")?;
            }
            let [create, update, moved, unchanged, uploads] = plan.counts();
            eprintln!(
                "plan: {create} to create, {update} to update, {moved} to move, {unchanged} \
                 unchanged, {uploads} file(s) to upload, {} orphan(s) ({}); nothing was changed",
                plan.orphans.len(),
                plan.orphan_mode.name()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let mut failed = None;
        publish::apply(&c, &plan, &mut |line| {
            if failed.is_none() {
                if let Err(e) = writeln!(out, "{line}") {
                    failed = Some(e);
                }
            }
        })
        .await?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `space:` from the front matter of the directory's index file, if any.
fn root_space(dir: &Path) -> anyhow::Result<Option<String>> {
    for name in ["index.md", "README.md"] {
        let p = dir.join(name);
        if p.is_file() {
            let text = std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            let (fm, _) = cfl_markdown::front_matter(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            return Ok(fm.get("space").map(str::to_string));
        }
    }
    Ok(None)
}

/// The id of the page titled `title` in `space`, if there is one.
async fn page_titled(c: &Content<'_>, space: &str, title: &str) -> anyhow::Result<Option<String>> {
    let r = PageRef::Title {
        space: space.to_string(),
        title: title.to_string(),
    };
    match c.resolve(&r).await {
        Ok(id) => Ok(Some(id)),
        Err(ContentError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The parent to publish under: an id as given, else a page — or on Cloud a folder — titled so.
async fn parent_id(c: &Content<'_>, space: &str, parent: &str) -> anyhow::Result<String> {
    if parent.chars().all(|ch| ch.is_ascii_digit()) {
        return Ok(parent.to_string());
    }
    if let Some(id) = page_titled(c, space, parent).await? {
        return Ok(id);
    }
    if c.api() == Api::CloudV2 {
        // v2 has no folder lookup by title: the space's tree names them.
        let tree = c.space_tree(space, false).await?;
        if let Some(f) = tree.iter().find(|n| n.is_folder() && n.title == parent) {
            return Ok(f.id.clone());
        }
    }
    let what = if c.api() == Api::CloudV2 {
        "page or folder"
    } else {
        "page"
    };
    anyhow::bail!("there is no {what} titled {parent:?} in space {space} to publish under")
}

async fn publish(
    g: &Globals,
    space: &str,
    parent: Option<&str>,
    title: &str,
    storage: &str,
    images: &[(String, PathBuf)],
) -> anyhow::Result<ExitCode> {
    let client = super::connect::client(g)?;
    let c = Content::new(&client);
    let parent_id = match parent.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(parent_id(&c, space, p).await?),
        None => None,
    };
    let (verb, saved) = match page_titled(&c, space, title).await? {
        Some(id) => {
            let current = c.page(&id, true).await?;
            let same_parent = parent_id.is_none() || parent_id == current.parent_id;
            let same_body = current
                .body
                .as_deref()
                .is_some_and(|b| cfl_client::publish::same_storage(b, storage));
            if same_body && same_parent {
                // Nothing to save: a new version would only add noise to the page history.
                ("unchanged", current)
            } else {
                let change = PageChange {
                    body: Some(storage.to_string()),
                    parent_id: parent_id.clone(),
                    base_version: Some(current.page.version),
                    ..PageChange::default()
                };
                ("updated", c.update_page(&id, &change).await?)
            }
        }
        None => (
            "created",
            c.create_page(space, title, parent_id.as_deref(), storage)
                .await?,
        ),
    };
    let id = saved.page.id.clone();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{verb}\t{id}\t{}\t{title}", saved.page.version)?;

    for (name, path) in images {
        // The content hash rides in the attachment's comment: a same-size change is seen too.
        let comment = format!("sha256:{}", cfl_client::publish::sha256_file(path)?);
        if let Some(att) = c.attachment_named(&id, name).await? {
            if att.comment.contains(&comment) {
                writeln!(out, "attachment\t{name}\tunchanged")?;
                continue;
            }
        }
        c.upload(&id, path, Some(name), Some(&comment))
            .await
            .with_context(|| format!("the page was {verb}, but uploading {name} failed"))?;
        writeln!(out, "attachment\t{name}\tuploaded")?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_from_the_first_heading() {
        assert_eq!(
            leading_heading("\n# Hello world\n\nBody\n"),
            Some(("Hello world".into(), "Body\n".into()))
        );
        assert_eq!(leading_heading("Intro\n# Later\n"), None);
        assert_eq!(leading_heading("## Second level\n"), None);
    }
}
