//! Carrying a [`Plan`] out: parents before children, then sibling order, then orphans. Each
//! change is reported as it is made, so a failure part-way leaves a record of what was done
//! (and the next run's plan starts from there).

use serde_json::json;

use super::plan::{Action, Plan, Step};
use super::{scan, Orphans, MARKER};
use crate::content::page::PageChange;
use crate::content::Content;

/// Applies `plan`, telling `report` one tab-separated line per change:
/// `created|updated|unchanged|moved|uploaded|kept|archived|deleted …`.
pub async fn apply(
    c: &Content<'_>,
    plan: &Plan,
    report: &mut dyn FnMut(String),
) -> crate::error::Result<()> {
    let mut ids: Vec<Option<String>> = plan.steps.iter().map(|s| s.id.clone()).collect();
    for (i, s) in plan.steps.iter().enumerate() {
        // Parents come first, so a parent made by this run already has its id.
        let parent = match s.source.parent {
            Some(p) => ids[p].clone(),
            None => None,
        };
        let id = apply_step(c, &plan.space, s, ids[i].as_deref(), parent, report).await?;
        upload_files(c, s, &id, report).await?;
        ids[i] = Some(id);
    }
    reorder(c, plan, &ids, report).await?;
    settle_orphans(c, plan, report).await
}

/// Creates, updates, moves or leaves one page or folder; returns its id.
async fn apply_step(
    c: &Content<'_>,
    space: &str,
    s: &Step,
    existing: Option<&str>,
    parent: Option<String>,
    report: &mut dyn FnMut(String),
) -> crate::error::Result<String> {
    let path = scan::shown(&s.source.path);
    let title = &s.source.title;
    let id = match (existing, s.action) {
        (None, _) if s.folder => {
            let f = c.create_folder(space, title, parent.as_deref()).await?;
            report(format!("created\t{path}\t{}\tfolder\t{title}", f.id));
            f.id
        }
        (None, _) => {
            let body = s.storage.as_deref().unwrap_or("");
            let p = c
                .create_page(space, title, parent.as_deref(), body)
                .await
                .map_err(|e| e.context(format!("creating {title:?} from {path}")))?;
            c.add_page_property(&p.page.id, MARKER, &json!({"source": s.source.path}))
                .await
                .map_err(|e| e.context(format!("marking page {} as published", p.page.id)))?;
            report(format!("created\t{path}\t{}\tpage\t{title}", p.page.id));
            p.page.id
        }
        (Some(id), Action::Update) => {
            let change = PageChange {
                title: s.retitle.then(|| title.clone()),
                body: s.storage.clone(),
                parent_id: if s.moved { parent.clone() } else { None },
                base_version: Some(s.version),
            };
            let updated = match &s.listed {
                Some(listed) => c.update_listed(&listed.detail(space), &change).await,
                None => c.update_page(id, &change).await.map(|_| ()),
            };
            updated.map_err(|e| e.context(format!("updating {title:?} from {path}")))?;
            report(format!("updated\t{path}\t{id}\tpage\t{title}"));
            id.to_string()
        }
        (Some(id), _) => {
            if s.moved {
                if let Some(p) = &parent {
                    c.move_page(id, p).await?;
                    report(format!("moved\t{path}\t{id}\tunder\t{title}"));
                }
            } else {
                let what = if s.folder { "folder" } else { "page" };
                report(format!("unchanged\t{path}\t{id}\t{what}\t{title}"));
            }
            id.to_string()
        }
    };
    Ok(id)
}

/// Attaches the step's new or changed files to page `id`.
async fn upload_files(
    c: &Content<'_>,
    s: &Step,
    id: &str,
    report: &mut dyn FnMut(String),
) -> crate::error::Result<()> {
    let path = scan::shown(&s.source.path);
    for u in &s.uploads {
        c.upload(id, &u.path, Some(&u.name), Some(&u.comment()))
            .await
            .map_err(|e| e.context(format!("uploading {} for {path}", u.path.display())))?;
        report(format!("uploaded\t{path}\t{id}\t{}", u.name));
    }
    Ok(())
}

/// Puts siblings in the files' order.
async fn reorder(
    c: &Content<'_>,
    plan: &Plan,
    ids: &[Option<String>],
    report: &mut dyn FnMut(String),
) -> crate::error::Result<()> {
    for (a, place, b) in &plan.reorder {
        let (Some(id), Some(target)) = (&ids[*a], &ids[*b]) else {
            continue;
        };
        c.place_page(id, *place, target).await?;
        report(format!(
            "moved\t{}\t{id}\t{}\t{}",
            scan::shown(&plan.steps[*a].source.path),
            match place {
                crate::content::sync::Place::Before => "before",
                crate::content::sync::Place::After => "after",
            },
            plan.steps[*a].source.title
        ));
    }
    Ok(())
}

/// Keeps, archives or deletes the pages whose files are gone, as `--orphans` says.
async fn settle_orphans(
    c: &Content<'_>,
    plan: &Plan,
    report: &mut dyn FnMut(String),
) -> crate::error::Result<()> {
    match plan.orphan_mode {
        Orphans::Keep => {
            for o in &plan.orphans {
                report(format!("kept\t{}\t{}\torphan\t{}", o.source, o.id, o.title));
            }
        }
        Orphans::Archive => {
            if !plan.orphans.is_empty() {
                let ids: Vec<String> = plan.orphans.iter().map(|o| o.id.clone()).collect();
                c.archive_pages(&ids).await?;
                for o in &plan.orphans {
                    report(format!(
                        "archived\t{}\t{}\torphan\t{}",
                        o.source, o.id, o.title
                    ));
                }
            }
        }
        Orphans::Delete => {
            for o in &plan.orphans {
                c.delete_page(&o.id).await?;
                report(format!(
                    "deleted\t{}\t{}\torphan\t{}",
                    o.source, o.id, o.title
                ));
            }
        }
    }
    Ok(())
}
