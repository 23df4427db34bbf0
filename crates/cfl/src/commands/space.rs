//! `cfl space list|get`: the spaces the caller can see, and one space by key.

use std::process::ExitCode;

use cfl_client::content::Content;

use super::{connect, Globals};
use crate::output;

#[derive(clap::Subcommand)]
pub enum SpaceCommand {
    /// List spaces (every result page is followed up to --limit).
    List {
        /// At most this many spaces (0: all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON: [{"id","key","name","type","status","homepageId","url"}].
        #[arg(long)]
        json: bool,
    },
    /// Show one space.
    Get {
        /// Space key, e.g. DEV.
        key: String,
        /// Print JSON: {"id","key","name","type","status","homepageId","url"}.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: SpaceCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    connect::run(g, |client| async move {
        let api = Content::new(&client);
        match cmd {
            SpaceCommand::List { limit, json } => {
                let spaces = api.spaces(connect::limit(limit)).await?;
                if json {
                    return output::print_json(&spaces);
                }
                let rows: Vec<Vec<String>> = spaces
                    .iter()
                    .map(|s| vec![s.key.clone(), s.name.clone(), s.kind.clone(), s.url.clone()])
                    .collect();
                output::print(&output::table(
                    &["KEY", "NAME", "TYPE", "URL"],
                    &rows,
                    output::color_enabled(),
                ))
            }
            SpaceCommand::Get { key, json } => {
                let s = api.space(&key).await?;
                if json {
                    return output::print_json(&s);
                }
                output::print(&output::fields(
                    &[
                        ("key", s.key.clone()),
                        ("name", s.name.clone()),
                        ("id", s.id.clone()),
                        ("type", s.kind.clone()),
                        ("status", s.status.clone()),
                        ("home page", s.homepage_id.clone().unwrap_or_default()),
                        ("url", s.url.clone()),
                    ],
                    output::color_enabled(),
                ))
            }
        }
    })
}
