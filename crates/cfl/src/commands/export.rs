//! `cfl export SPACE|PAGE_ID --out DIR [--format markdown|html|storage]`: argument parsing and
//! output around `cfl_client::export` (the engine: listing, plan, manifest and journal, AIMD
//! limiter, atomic writes).
//!
//! Output: on a terminal a progress bar on stderr; otherwise one tab-separated line per file
//! written or removed on stdout (`page ID VERSION PATH`, `attachment ID VERSION PATH`,
//! `removed ID PATH`), and always a final `summary key=value …` line on stderr. What a Markdown
//! file only approximates (a macro with no Markdown form, kept for the round trip) is reported on
//! stderr, one `approximated: PATH: WHAT` line per kind of loss.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cfl_client::export::{self, Event, Report};

use super::Globals;
use crate::runtime::runtime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Markdown,
    Html,
    Storage,
}

impl From<Format> for export::Format {
    fn from(f: Format) -> export::Format {
        match f {
            Format::Markdown => export::Format::Markdown,
            Format::Html => export::Format::Html,
            Format::Storage => export::Format::Storage,
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
    #[arg(long, value_enum, default_value = "markdown")]
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
    let client = super::connect::client(g)?;
    let opts = export::Options {
        target: a.target,
        out: a.out,
        format: a.format.into(),
        concurrency: a.concurrency as usize,
        force: a.force,
    };
    let mut shown = Shown::new();
    let s = runtime()?.block_on(export::run(client, &opts, &mut shown))?;
    for (id, msg) in &s.failures {
        eprintln!("error: page {id}: {msg}");
    }
    eprintln!(
        "summary pages={} folders={} exported={} unchanged={} attachments={} removed={} failed={} requests={} throttled={} retried={} slowdowns={} final_concurrency={} seconds={:.2}",
        s.pages,
        s.folders,
        s.exported,
        s.unchanged,
        s.attachments,
        s.removed,
        s.failures.len(),
        s.requests,
        s.throttled,
        s.retried,
        s.slowdowns,
        s.final_concurrency,
        s.seconds
    );
    if !s.failures.is_empty() {
        return Err(cfl_client::Error::PagesFailed {
            failed: s.failures.len(),
            credential_refused: s.auth_failed,
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal, else one line per file on stdout.
struct Shown {
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
}

impl Shown {
    fn new() -> Shown {
        Shown {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }
}

impl Report for Shown {
    fn planned(&mut self, pages: usize) {
        if !self.terminal {
            return;
        }
        let b = indicatif::ProgressBar::new(pages as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} pages  {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        self.bar = Some(b);
    }

    fn event(&mut self, e: &Event<'_>) {
        if self.terminal {
            return;
        }
        let line = match e {
            Event::Page { id, version, path } => format!("page\t{id}\t{version}\t{path}"),
            Event::Attachment { id, version, path } => {
                format!("attachment\t{id}\t{version}\t{path}")
            }
            Event::Removed { id, path } => format!("removed\t{id}\t{path}"),
        };
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    fn approximated(&mut self, path: &str, loss: &str) {
        let line = format!("approximated: {path}: {loss}");
        match &self.bar {
            // Above the bar, not through it.
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn page_done(&mut self, in_flight: usize) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(format!("{in_flight} in flight"));
        }
    }

    fn finished(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
