//! `cfl attachment list|upload|download PAGE`: a page's files, streamed both ways (a large file
//! never sits in memory; a download lands under its name only when complete).

use std::path::PathBuf;
use std::process::ExitCode;

use cfl_client::content::{Content, PageRef};

use super::{connect, Globals};
use crate::output;

#[derive(clap::Subcommand)]
pub enum AttachmentCommand {
    /// List a page's attachments.
    List {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Print JSON: [{"id","title","mediaType","fileSize","version","comment","downloadUrl"}].
        #[arg(long)]
        json: bool,
    },
    /// Upload files to a page; a file name the page already has becomes a new version.
    Upload {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Files to upload (streamed from disk).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A comment stored with each upload.
        #[arg(long)]
        comment: Option<String>,
        /// Print the uploaded attachments as JSON (the `list --json` shape).
        #[arg(long)]
        json: bool,
    },
    /// Download attachments by name.
    Download {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Attachment names, as `attachment list` shows them.
        #[arg(required = true)]
        names: Vec<String>,
        /// A file to write (one name only) or a directory (default: the current one).
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,
    },
}

fn page_ref(s: &str) -> anyhow::Result<PageRef> {
    PageRef::parse(s).map_err(anyhow::Error::msg)
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn run(cmd: AttachmentCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    if let AttachmentCommand::Upload { files, .. } = &cmd {
        for f in files {
            if !f.is_file() {
                anyhow::bail!("{} is not a readable file", f.display());
            }
        }
    }
    if let AttachmentCommand::Download {
        names,
        output: Some(o),
        ..
    } = &cmd
    {
        if names.len() > 1 && !o.is_dir() {
            anyhow::bail!(
                "-o {} must be an existing directory when downloading several files",
                o.display()
            );
        }
    }
    connect::run(g, |client| async move {
        let api = Content::new(&client);
        match cmd {
            AttachmentCommand::List { page, json } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let atts = api.attachments(&id, None).await?;
                if json {
                    return output::print_json(&atts);
                }
                let rows: Vec<Vec<String>> = atts
                    .iter()
                    .map(|a| {
                        vec![
                            a.id.clone(),
                            a.title.clone(),
                            human_size(a.file_size),
                            a.media_type.clone(),
                            a.version.to_string(),
                        ]
                    })
                    .collect();
                output::print(&output::table(
                    &["ID", "NAME", "SIZE", "TYPE", "VERSION"],
                    &rows,
                    output::color_enabled(),
                ))
            }
            AttachmentCommand::Upload {
                page,
                files,
                comment,
                json,
            } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let mut done = Vec::new();
                for f in &files {
                    let a = api.upload(&id, f, None, comment.as_deref()).await?;
                    if !json {
                        output::print(&format!(
                            "uploaded {} ({}, version {}) to page {id}\n",
                            output::clean(&a.title),
                            human_size(a.file_size),
                            a.version
                        ))?;
                    }
                    done.push(a);
                }
                if json {
                    output::print_json(&done)?;
                }
                Ok(())
            }
            AttachmentCommand::Download {
                page,
                names,
                output: out,
            } => {
                let id = api.resolve(&page_ref(&page)?).await?;
                let dest = out.unwrap_or_else(|| PathBuf::from("."));
                for n in &names {
                    let (path, bytes) = api.download(&id, n, &dest).await?;
                    eprintln!("downloaded {} ({})", path.display(), human_size(bytes));
                }
                Ok(())
            }
        }
    })
}
