//! The layout on disk: a directory per page named after its title, holding `index.md` (or
//! `.html`, `.xml`), its attachments and its child pages' directories. A Cloud folder is a
//! directory alone (no index file: a folder has no body); its pages and folders go inside.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::writer::segment;
pub use crate::content::bulk::BulkAttachment as ListedAttachment;

#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub title: String,
    /// 0 for a folder.
    pub version: u64,
    /// Ancestor ids (pages and folders), root first.
    pub ancestors: Vec<String>,
    pub attachments: Vec<ListedAttachment>,
    /// False when the attachment list is not known yet or may be cut short (fetch it).
    pub attachments_complete: bool,
    /// A Cloud folder: a directory, no file.
    pub folder: bool,
    /// The storage body, when the listing brought it (Cloud).
    pub body: Option<String>,
}

/// Where one page and its attachments go, relative to the export directory.
#[derive(Debug, Clone)]
pub struct Placed {
    pub dir: String,
    /// The page file; empty for a folder.
    pub file: String,
    /// Attachment id → file.
    pub attachments: BTreeMap<String, String>,
    /// Names (lower case) in `dir` that attachments must not take: the page file, child
    /// directories.
    pub taken: HashSet<String>,
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
                file: if p.folder {
                    String::new()
                } else {
                    join(&dir, &format!("index.{ext}"))
                },
                dir,
                attachments: BTreeMap::new(),
                taken: HashSet::new(),
            },
        );
    }
    // Attachments beside their page, clear of the page file and child directories.
    for p in &order {
        let Some(pl) = out.get_mut(&p.id) else {
            continue;
        };
        pl.taken = taken.remove(&pl.dir).unwrap_or_default();
        pl.taken.insert(format!("index.{ext}"));
        pl.attachments = place_attachments(pl, &p.attachments);
    }
    out
}

/// Where a page's attachments go: beside the page file, clear of it and of the child
/// directories; a name taken already gets the attachment id in front.
pub fn place_attachments(
    placed: &Placed,
    attachments: &[ListedAttachment],
) -> BTreeMap<String, String> {
    let mut names = placed.taken.clone();
    let mut atts: Vec<&ListedAttachment> = attachments.iter().collect();
    atts.sort_by(|a, b| a.id.cmp(&b.id));
    atts.iter()
        .map(|a| {
            let base = segment(&a.title, &format!("attachment-{}", a.id));
            let mut name = base.clone();
            if names.contains(&name.to_lowercase()) {
                name = format!("{}-{base}", a.id);
            }
            names.insert(name.to_lowercase());
            (a.id.clone(), join(&placed.dir, &name))
        })
        .collect()
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
            folder: false,
            body: None,
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
    fn a_folder_is_a_directory_without_a_file_and_holds_pages_and_folders() {
        let mut f = page("10", "Guides", &["1"]);
        f.folder = true;
        let mut inner = page("11", "Inner", &["1", "10"]);
        inner.folder = true;
        let pages = vec![
            page("1", "Home", &[]),
            f,
            inner,
            page("12", "Setup", &["1", "10"]),
            page("13", "Deep", &["1", "10", "11"]),
        ];
        let l = layout(&pages, None, "md");
        assert_eq!(l["10"].dir, "Home/Guides");
        assert_eq!(l["10"].file, "");
        assert_eq!(l["11"].dir, "Home/Guides/Inner");
        assert_eq!(l["12"].file, "Home/Guides/Setup/index.md");
        assert_eq!(l["13"].file, "Home/Guides/Inner/Deep/index.md");
        // A folder as the root of a partial export.
        let sub = layout(&pages, Some("10"), "md");
        assert_eq!(sub["13"].file, "Guides/Inner/Deep/index.md");
    }
}
