//! The page tree: one listing of the space (`expand=version,ancestors,children.attachment`, 100
//! pages a request, so ids, versions, parents and attachments all come without a request per
//! page), then the layout on disk: a directory per page named after its title, holding
//! `index.md` (or `.html`, `.xml`), its attachments and its child pages' directories.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::writer::segment;

#[derive(Debug, Clone)]
pub struct ListedAttachment {
    pub id: String,
    pub title: String,
    pub version: u64,
    pub download: String,
}

#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub title: String,
    pub version: u64,
    /// Ancestor ids, root first.
    pub ancestors: Vec<String>,
    pub attachments: Vec<ListedAttachment>,
    /// False when the embedded attachment list may be cut short (fetch the full list).
    pub attachments_complete: bool,
}

fn id_of(v: &Value) -> Option<String> {
    match &v["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn parse_attachment(a: &Value) -> Option<ListedAttachment> {
    Some(ListedAttachment {
        id: id_of(a)?,
        title: a["title"].as_str()?.to_string(),
        version: a
            .pointer("/version/number")
            .and_then(Value::as_u64)
            .unwrap_or(1),
        download: a
            .pointer("/_links/download")
            .and_then(Value::as_str)?
            .to_string(),
    })
}

/// One page of a content listing.
pub fn parse_page(v: &Value) -> Option<Listed> {
    let ancestors = v["ancestors"]
        .as_array()
        .map(|a| a.iter().filter_map(id_of).collect())
        .unwrap_or_default();
    let att = v.pointer("/children/attachment");
    let (attachments, complete) = match att {
        Some(a) => {
            let list: Vec<ListedAttachment> = a["results"]
                .as_array()
                .map(|r| r.iter().filter_map(parse_attachment).collect())
                .unwrap_or_default();
            let size = a["size"].as_u64().unwrap_or(list.len() as u64);
            let limit = a["limit"].as_u64().unwrap_or(u64::MAX);
            let more = a.pointer("/_links/next").is_some() || size >= limit;
            (list, !more)
        }
        None => (vec![], false),
    };
    Some(Listed {
        id: id_of(v)?,
        title: v["title"].as_str()?.to_string(),
        version: v.pointer("/version/number").and_then(Value::as_u64)?,
        ancestors,
        attachments,
        attachments_complete: complete,
    })
}

/// Where one page and its attachments go, relative to the export directory.
#[derive(Debug, Clone)]
pub struct Placed {
    pub dir: String,
    pub file: String,
    /// Attachment id → file.
    pub attachments: BTreeMap<String, String>,
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Lays out the pages under `root` (a page id), or the whole space when `None`. Sibling names
/// that collide (case-insensitively, after making them safe) get ` (ID)` appended.
pub fn layout(pages: &[Listed], root: Option<&str>, ext: &str) -> BTreeMap<String, Placed> {
    let included: Vec<&Listed> = pages
        .iter()
        .filter(|p| match root {
            None => true,
            Some(r) => p.id == r || p.ancestors.iter().any(|a| a == r),
        })
        .collect();
    let ids: HashSet<&str> = included.iter().map(|p| p.id.as_str()).collect();
    // Parents before children; ids in numeric order so names are stable between runs.
    let mut order = included.clone();
    order.sort_by_key(|p| (p.ancestors.len(), p.id.len(), p.id.clone()));
    let mut dirs: HashMap<String, String> = HashMap::new();
    let mut taken: HashMap<String, HashSet<String>> = HashMap::new();
    let mut out = BTreeMap::new();
    for p in &order {
        // The nearest ancestor that is part of this export.
        let parent_dir = p
            .ancestors
            .iter()
            .rev()
            .find(|a| ids.contains(a.as_str()))
            .and_then(|a| dirs.get(a))
            .cloned()
            .unwrap_or_default();
        let base = segment(&p.title, &format!("page-{}", p.id));
        let names = taken.entry(parent_dir.clone()).or_default();
        let mut name = base.clone();
        if names.contains(&name.to_lowercase()) {
            name = format!("{base} ({})", p.id);
        }
        names.insert(name.to_lowercase());
        let dir = join(&parent_dir, &name);
        dirs.insert(p.id.clone(), dir.clone());
        out.insert(
            p.id.clone(),
            Placed {
                file: join(&dir, &format!("index.{ext}")),
                dir,
                attachments: BTreeMap::new(),
            },
        );
    }
    // Attachments beside their page, clear of the page file and child directories.
    for p in &order {
        let dir = dirs[&p.id].clone();
        let names = taken.entry(dir.clone()).or_default();
        names.insert(format!("index.{ext}"));
        let mut atts = p.attachments.clone();
        atts.sort_by(|a, b| a.id.cmp(&b.id));
        let placed: Vec<(String, String)> = atts
            .iter()
            .map(|a| {
                let base = segment(&a.title, &format!("attachment-{}", a.id));
                let mut name = base.clone();
                if names.contains(&name.to_lowercase()) {
                    name = format!("{}-{base}", a.id);
                }
                names.insert(name.to_lowercase());
                (a.id.clone(), join(&dir, &name))
            })
            .collect();
        if let Some(pl) = out.get_mut(&p.id) {
            pl.attachments.extend(placed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(id: &str, title: &str, anc: &[&str]) -> Listed {
        Listed {
            id: id.into(),
            title: title.into(),
            version: 1,
            ancestors: anc.iter().map(|s| s.to_string()).collect(),
            attachments: vec![],
            attachments_complete: true,
        }
    }

    #[test]
    fn layout_mirrors_the_tree_and_resolves_collisions() {
        let mut child = page("3", "Child", &["1"]);
        child.attachments.push(ListedAttachment {
            id: "att9".into(),
            title: "index.md".into(),
            version: 1,
            download: "/download/attachments/3/index.md".into(),
        });
        let pages = vec![
            page("1", "Home", &[]),
            page("2", "A/B", &["1"]),
            child,
            page("4", "child", &["1"]),
            page("5", "Deep", &["1", "3"]),
        ];
        let l = layout(&pages, None, "md");
        assert_eq!(l["1"].file, "Home/index.md");
        assert_eq!(l["2"].dir, "Home/A_B");
        assert_eq!(l["3"].dir, "Home/Child");
        assert_eq!(l["4"].dir, "Home/child (4)");
        assert_eq!(l["5"].file, "Home/Child/Deep/index.md");
        assert_eq!(l["3"].attachments["att9"], "Home/Child/att9-index.md");
        let sub = layout(&pages, Some("3"), "html");
        assert_eq!(sub.len(), 2);
        assert_eq!(sub["3"].file, "Child/index.html");
        assert_eq!(sub["5"].file, "Child/Deep/index.html");
    }

    #[test]
    fn parses_a_listed_page() {
        let v = serde_json::json!({"id": "12", "title": "T", "version": {"number": 3},
            "ancestors": [{"id": "1"}, {"id": "5"}],
            "children": {"attachment": {"results": [{"id": "att7", "title": "a.png",
                "version": {"number": 2}, "_links": {"download": "/download/attachments/12/a.png"}}],
                "size": 1, "limit": 25}}});
        let p = parse_page(&v).unwrap();
        assert_eq!(p.ancestors, vec!["1", "5"]);
        assert_eq!(p.attachments[0].version, 2);
        assert!(p.attachments_complete);
        assert!(parse_page(&serde_json::json!({"id": "1"})).is_none());
    }
}
