//! `cfl page get|create|update|delete|children|move`: pages by id, URL or `SPACE:Title`.
//! Bodies are storage format, from `--body`, `--body-file FILE` (`-` for stdin) or piped stdin.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::Context;
use cfl_client::content::page::PageChange;
use cfl_client::content::{Content, Page, PageDetail, PageRef};

use super::{connect, Globals};
use crate::output;

/// Where a body comes from.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BodyArgs {
    /// The body in storage format (XHTML), e.g. '<p>Hello</p>'.
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the body from a file, or - for standard input.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum PageCommand {
    /// Show a page (--body: print only its storage-format body).
    Get {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Print only the body (storage format), e.g. to edit and `page update` it.
        #[arg(long, conflicts_with = "json")]
        body: bool,
        /// Print JSON: {"id","type","status","title","spaceKey","version","lastModified","url","parentId","body"}.
        #[arg(long)]
        json: bool,
    },
    /// Create a page.
    Create {
        /// Space key (default: the parent's space).
        #[arg(long)]
        space: Option<String>,
        /// The new page's title (unique in its space).
        #[arg(long)]
        title: String,
        /// Parent page: id, URL or SPACE:Title, on Cloud also a folder id (default: the space's
        /// home page).
        #[arg(long)]
        parent: Option<String>,
        #[command(flatten)]
        body: BodyArgs,
        /// Print the new page as JSON (the `page get --json` shape).
        #[arg(long)]
        json: bool,
    },
    /// Replace a page's body and/or title; the version number is handled for you.
    Update {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// A new title.
        #[arg(long)]
        title: Option<String>,
        /// The version your edit is based on (from `page get`): if someone saved after it, the
        /// update is refused as a conflict instead of overwriting their change.
        #[arg(long, value_name = "N")]
        base_version: Option<u64>,
        #[command(flatten)]
        body: BodyArgs,
        /// Print the updated page as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Move a page to the trash (its children move up to its parent).
    Delete {
        /// The page: id, URL or SPACE:Title.
        page: String,
    },
    /// List a page's children: pages, and on Cloud folders (a folder's id lists its contents).
    Children {
        /// The page: id, URL or SPACE:Title; on Cloud also a folder id.
        page: String,
        /// At most this many (0: all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON: [{"id","type","status","title","spaceKey","version","lastModified","url"}];
        /// `type` is `page` or `folder` (version 0).
        #[arg(long)]
        json: bool,
    },
    /// Move a page under a new parent in the same space.
    Move {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// The new parent: id, URL or SPACE:Title.
        #[arg(long)]
        parent: String,
        /// Print the moved page as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn page_ref(s: &str) -> anyhow::Result<PageRef> {
    PageRef::parse(s).map_err(anyhow::Error::msg)
}

/// The body to send: `--body`, `--body-file`, or stdin when it is piped (only when `required`,
/// so `page update --title X` never waits on a terminal).
fn read_body(b: &BodyArgs, required: bool) -> anyhow::Result<Option<String>> {
    if let Some(s) = &b.body {
        return Ok(Some(s.clone()));
    }
    let from_stdin = |what: &str| -> anyhow::Result<String> {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read the body from {what} (it must be UTF-8 text)"))?;
        Ok(s)
    };
    match b.body_file.as_deref() {
        Some("-") => return Ok(Some(from_stdin("standard input")?)),
        Some(f) => {
            return std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the body file {f}"))
                .map(Some)
        }
        None => {}
    }
    if !required {
        return Ok(None);
    }
    if std::io::stdin().is_terminal() {
        anyhow::bail!(
            "no body given: pass --body '<p>…</p>', --body-file FILE, or pipe it on stdin"
        );
    }
    let s = from_stdin("standard input")?;
    if s.trim().is_empty() {
        anyhow::bail!(
            "the body on standard input is empty: pass --body, --body-file FILE, or pipe the body"
        );
    }
    Ok(Some(s))
}

pub fn page_table(pages: &[Page]) -> String {
    let rows: Vec<Vec<String>> = pages
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.kind.clone(),
                p.space_key.clone(),
                p.title.clone(),
                // Folders have no version, and Cloud's child lists do not say a page's.
                if p.version == 0 {
                    String::new()
                } else {
                    p.version.to_string()
                },
                p.last_modified.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(
        &["ID", "TYPE", "SPACE", "TITLE", "VERSION", "MODIFIED"],
        &rows,
        output::color_enabled(),
    )
}

fn detail_fields(p: &PageDetail) -> String {
    output::fields(
        &[
            ("id", p.page.id.clone()),
            ("title", p.page.title.clone()),
            ("space", p.page.space_key.clone()),
            ("version", p.page.version.to_string()),
            ("modified", p.page.last_modified.clone().unwrap_or_default()),
            (
                "parent",
                match (&p.parent_id, p.parent_type.as_deref()) {
                    (Some(id), Some("folder")) => format!("{id} (folder)"),
                    (Some(id), _) => id.clone(),
                    (None, _) => String::new(),
                },
            ),
            ("status", p.page.status.clone()),
            ("url", p.page.url.clone()),
        ],
        output::color_enabled(),
    )
}

fn report(what: &str, p: &PageDetail, json: bool) -> anyhow::Result<()> {
    if json {
        return output::print_json(p);
    }
    output::print(&format!(
        "{what} page {} {:?} (version {}): {}\n",
        p.page.id,
        output::clean(&p.page.title),
        p.page.version,
        p.page.url
    ))
}

pub fn run(cmd: PageCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    // Bad input is refused before any request (and before reading stdin for nothing).
    let body = match &cmd {
        PageCommand::Create { body, .. } => read_body(body, true)?,
        PageCommand::Update { title, body, .. } => read_body(body, title.is_none())?,
        _ => None,
    };
    connect::run(g, |client| async move {
        let api = Content::new(&client);
        match cmd {
            PageCommand::Get { page, body, json } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let p = api.page(&id, body || json).await?;
                if body {
                    let text = p.body.unwrap_or_default();
                    return output::print(&format!("{text}\n"));
                }
                if json {
                    return output::print_json(&p);
                }
                output::print(&detail_fields(&p))
            }
            PageCommand::Create {
                space,
                title,
                parent,
                json,
                ..
            } => {
                // A parent page, or on Cloud a folder; its space is the default.
                let parent = match parent {
                    Some(r) => {
                        let id = api.resolve(&page_ref(&r)?).await?;
                        let space = api.container_space(&id).await?;
                        Some((id, space))
                    }
                    None => None,
                };
                let space = match (space, &parent) {
                    (Some(s), _) => s,
                    (None, Some((_, s))) => s.clone(),
                    (None, None) => anyhow::bail!("which space? pass --space KEY or --parent PAGE"),
                };
                let p = api
                    .create_page(
                        &space,
                        &title,
                        parent.as_ref().map(|(id, _)| id.as_str()),
                        body.as_deref().unwrap_or(""),
                    )
                    .await?;
                report("created", &p, json)
            }
            PageCommand::Update {
                page,
                title,
                base_version,
                json,
                ..
            } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let p = api
                    .update_page(
                        &id,
                        &PageChange {
                            title,
                            body,
                            parent_id: None,
                            base_version,
                        },
                    )
                    .await?;
                report("updated", &p, json)
            }
            PageCommand::Delete { page } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                api.delete_page(&id).await?;
                output::print(&format!("moved page {id} to the trash\n"))
            }
            PageCommand::Children { page, limit, json } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let kids = api.children(&id, connect::limit(limit)).await?;
                if json {
                    return output::print_json(&kids);
                }
                output::print(&page_table(&kids))
            }
            PageCommand::Move { page, parent, json } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let parent = api.resolve(&page_ref(&parent)?).await?;
                let p = api.move_page(&id, &parent).await?;
                report("moved", &p, json)
            }
        }
    })
}
