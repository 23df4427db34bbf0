//! `cfl search CQL`: content matching a CQL query, every result page followed up to --limit.

use std::process::ExitCode;

use cfl_client::content::Content;

use super::{connect, Globals};
use crate::output;

#[derive(clap::Args)]
pub struct SearchArgs {
    /// A CQL query, e.g. 'space = DEV and type = page and text ~ "deploy"'.
    pub cql: String,
    /// At most this many results (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print JSON: [{"id","type","status","title","spaceKey","version","lastModified","url"}].
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SearchArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    connect::run(g, |client| async move {
        let api = Content::new(&client);
        let pages = api.search(&a.cql, connect::limit(a.limit)).await?;
        if a.json {
            return output::print_json(&pages);
        }
        output::print(&super::page::page_table(&pages))
    })
}
