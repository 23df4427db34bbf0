//! The content layer's space listing (`Content::space_tree`, what `cfl export` builds on),
//! called as a library against a real `cfl sim`: on Cloud pages *and* the folders above them,
//! each with its parent and parent type, 250 pages a request through v2; on Data Center the
//! same listing through v1.

mod client_support;
mod common;

use std::collections::HashMap;

use cfl_client::content::{Content, TreeNode};
use cfl_client::{credentials, Client, ClientOptions};
use client_support::*;
use common::*;

fn tree_of(cli: &Cli, profile: &str, space: &str) -> Vec<TreeNode> {
    let (cred, _) = credentials::resolve(&cli.config_dir(), Some(profile)).unwrap();
    let client = Client::new(cred, &ClientOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = Content::new(&client);
        api.space_tree(space, true).await.unwrap()
    })
}

fn by_title(nodes: &[TreeNode]) -> HashMap<String, TreeNode> {
    nodes.iter().map(|n| (n.title.clone(), n.clone())).collect()
}

#[test]
fn a_cloud_space_lists_pages_and_folders_with_their_parents() {
    // 300 generated pages per space: more than one v2 result page (250).
    let sim = NoGoneSim(Sim::start(
        &read_example("sim-cloud.toml").replace("pages_per_space = 12", "pages_per_space = 300"),
    ));
    let cli = Cli::new();
    cli.login_cloud("site", &sim.base_url);
    let before = sim_requests(&sim).len();
    let nodes = tree_of(&cli, "site", "DEV");
    let t = by_title(&nodes);

    let home = &t["DEV Home"];
    assert_eq!(
        (home.parent_id.as_deref(), home.kind.as_str()),
        (None, "page")
    );
    let runbooks = &t["Runbooks"];
    assert!(runbooks.is_folder() && runbooks.version == 0 && runbooks.body.is_none());
    assert_eq!(runbooks.parent_id.as_deref(), Some(home.id.as_str()));
    assert_eq!(runbooks.parent_type.as_deref(), Some("page"));
    let archive = &t["Archive"];
    assert!(archive.is_folder());
    assert_eq!(archive.parent_id.as_deref(), Some(runbooks.id.as_str()));
    assert_eq!(archive.parent_type.as_deref(), Some("folder"));
    let old = &t["Old runbook"];
    assert_eq!(old.parent_id.as_deref(), Some(archive.id.as_str()));
    assert_eq!(old.parent_type.as_deref(), Some("folder"));
    assert_eq!(old.body.as_deref(), Some("<p>Kept for reference.</p>"));
    assert_eq!(t["Rotate tokens"].parent_type.as_deref(), Some("folder"));

    let pages: Vec<&TreeNode> = nodes.iter().filter(|n| !n.is_folder()).collect();
    assert_eq!(
        pages.len(),
        300 + 1 + 3,
        "generated, home, the three in folders"
    );
    assert!(pages.iter().all(|p| p.version >= 1 && p.body.is_some()));
    assert_eq!(nodes.iter().filter(|n| n.is_folder()).count(), 2);

    // One space lookup, two result pages of 250, one read per folder: nothing per page.
    let sent: Vec<String> = sim_requests(&sim)[before..]
        .iter()
        .map(|r| r["path"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(sent.len(), 1 + 2 + 2, "{sent:?}");
    assert!(
        sent.iter().all(|p| p.starts_with("/wiki/api/v2/")),
        "{sent:?}"
    );
}

#[test]
fn a_data_center_space_lists_its_pages_with_their_parents() {
    let sim = NoGoneSim(Sim::example("sim-dc.toml", ""));
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let nodes = tree_of(&cli, "dc", "DEV");
    let home = nodes
        .iter()
        .find(|n| n.title == "DEV Home")
        .expect("the home page");
    assert_eq!(home.parent_id, None);
    assert!(nodes.iter().all(|n| n.kind == "page" && n.version >= 1));
    assert!(nodes.iter().all(|n| n.body.is_some()));
    let children: Vec<&TreeNode> = nodes
        .iter()
        .filter(|n| n.parent_id.as_deref() == Some(home.id.as_str()))
        .collect();
    assert!(!children.is_empty());
    assert!(children
        .iter()
        .all(|n| n.parent_type.as_deref() == Some("page")));
    assert_eq!(nodes.len(), 13, "12 generated pages and the home page");
}
