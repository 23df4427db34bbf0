//! `cfl label list|add|remove PAGE`: a page's labels.

use std::process::ExitCode;

use cfl_client::content::{Content, PageRef};

use super::{connect, Globals};
use crate::output;

#[derive(clap::Subcommand)]
pub enum LabelCommand {
    /// List a page's labels.
    List {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Print JSON: [{"id","name","prefix"}].
        #[arg(long)]
        json: bool,
    },
    /// Add labels to a page.
    Add {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// One or more labels (single words; Confluence lower-cases them).
        #[arg(required = true)]
        labels: Vec<String>,
    },
    /// Remove labels from a page.
    Remove {
        /// The page: id, URL or SPACE:Title.
        page: String,
        /// Labels to remove.
        #[arg(required = true)]
        labels: Vec<String>,
    },
}

pub fn run(cmd: LabelCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    connect::run(g, |client| async move {
        let api = Content::new(&client);
        match cmd {
            LabelCommand::List { page, json } => {
                let id = api
                    .resolve(&PageRef::parse(&page).map_err(anyhow::Error::msg)?)
                    .await?;
                let labels = api.labels(&id).await?;
                if json {
                    return output::print_json(&labels);
                }
                let rows: Vec<Vec<String>> = labels
                    .iter()
                    .map(|l| vec![l.name.clone(), l.prefix.clone()])
                    .collect();
                output::print(&output::table(
                    &["NAME", "PREFIX"],
                    &rows,
                    output::color_enabled(),
                ))
            }
            LabelCommand::Add { page, labels } => {
                for l in &labels {
                    cfl_client::content::label::check_label(l).map_err(anyhow::Error::msg)?;
                }
                let id = api
                    .resolve(&PageRef::parse(&page).map_err(anyhow::Error::msg)?)
                    .await?;
                let now = api.add_labels(&id, &labels).await?;
                let names: Vec<&str> = now.iter().map(|l| l.name.as_str()).collect();
                output::print(&format!("page {id} labels: {}\n", names.join(", ")))
            }
            LabelCommand::Remove { page, labels } => {
                let id = api
                    .resolve(&PageRef::parse(&page).map_err(anyhow::Error::msg)?)
                    .await?;
                for l in &labels {
                    api.remove_label(&id, l).await?;
                }
                output::print(&format!("removed from page {id}: {}\n", labels.join(", ")))
            }
        }
    })
}
