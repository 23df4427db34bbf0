//! The plan: every source matched to what the space holds, converted, and what must change.
//! Reads only (the listing, attachment lists of pages with files, the marker property of pages
//! no file matches); writes nothing.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::Context;
use cfl_markdown::LinkTarget;
use sha2::{Digest, Sha256};

use super::order;
use super::scan::{self, Source};
use super::{Options, Orphans, MARKER};
use crate::content::sync::{Place, SyncNode};
use crate::content::{Api, Content};

/// The body of a page made for a directory without an index file (Data Center has no folders).
pub const CHILDREN_BODY: &str = "<ac:structured-macro ac:name=\"children\" />";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

/// A file to upload as an attachment, with its content hash.
#[derive(Debug, Clone)]
pub struct Upload {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
}

impl Upload {
    /// The attachment comment that records the hash (how the next run knows it is current).
    pub fn comment(&self) -> String {
        format!("sha256:{}", self.sha256)
    }
}

/// What happens to one source.
#[derive(Debug, Clone)]
pub struct Step {
    pub source: Source,
    /// A Cloud folder rather than a page.
    pub folder: bool,
    /// The page or folder it is, when it exists.
    pub id: Option<String>,
    /// That page as listed (title, version, body), for an update without reading it again.
    pub listed: Option<SyncNode>,
    pub version: u64,
    pub action: Action,
    /// It exists under another parent: move it under its source's parent.
    pub moved: bool,
    /// It exists under another title (found by the front matter's `id`): rename it.
    pub retitle: bool,
    /// The new storage body (create, update).
    pub storage: Option<String>,
    pub uploads: Vec<Upload>,
    /// Attachments already current (same name and hash).
    pub current_files: usize,
}

/// A page this tool made whose file is gone.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub id: String,
    pub title: String,
    /// The file it was published from.
    pub source: String,
}

/// Everything a publish will do, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub space: String,
    /// The root first, parents before children.
    pub steps: Vec<Step>,
    /// Sibling moves (step indexes): put the first just before or after the second.
    pub reorder: Vec<(usize, Place, usize)>,
    pub orphans: Vec<Orphan>,
    pub orphan_mode: Orphans,
    /// Links to Markdown files outside the tree, and the like: worth a look, not fatal.
    pub warnings: Vec<String>,
}

impl Plan {
    /// One tab-separated line per change (and per unchanged page), for `--dry-run`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            let path = scan::shown(&s.source.path);
            let id = s.id.as_deref().unwrap_or("-");
            let what = if s.folder { "folder" } else { "page" };
            let verb = match s.action {
                Action::Create => "create",
                Action::Update => "update",
                Action::Unchanged => "unchanged",
            };
            out.push(format!("{verb}\t{path}\t{id}\t{what}\t{}", s.source.title));
            if s.moved {
                let parent = s
                    .source
                    .parent
                    .map(|p| self.steps[p].source.title.as_str())
                    .unwrap_or("");
                out.push(format!(
                    "move\t{path}\t{id}\tunder\t{}\t{parent}",
                    s.source.title
                ));
            }
            for u in &s.uploads {
                out.push(format!("upload\t{path}\t{}\t{}", u.name, u.path.display()));
            }
        }
        for (i, place, j) in &self.reorder {
            let s = &self.steps[*i];
            let how = match place {
                Place::Before => "before",
                Place::After => "after",
            };
            out.push(format!(
                "move\t{}\t{}\t{how}\t{}\t{}",
                scan::shown(&s.source.path),
                s.id.as_deref().unwrap_or("-"),
                s.source.title,
                self.steps[*j].source.title
            ));
        }
        for o in &self.orphans {
            out.push(format!(
                "orphan\t{}\t{}\t{}\t{}",
                o.source,
                o.id,
                self.orphan_mode.name(),
                o.title
            ));
        }
        out
    }

    /// How many pages and folders are created, updated, moved, unchanged; files uploaded.
    pub fn counts(&self) -> [usize; 5] {
        let n = |a: Action| self.steps.iter().filter(|s| s.action == a).count();
        [
            n(Action::Create),
            n(Action::Update),
            self.steps.iter().filter(|s| s.moved).count() + self.reorder.len(),
            n(Action::Unchanged),
            self.steps.iter().map(|s| s.uploads.len()).sum(),
        ]
    }
}

/// Storage as Confluence may give it back: no whitespace between tags, `<x/>` for `<x />`.
pub fn normalise(storage: &str) -> String {
    let mut out = String::with_capacity(storage.len());
    let mut pending_ws = String::new();
    for c in storage.chars() {
        if c.is_whitespace() {
            pending_ws.push(c);
            continue;
        }
        // Whitespace between tags, and before the `/>` of an empty element, says nothing.
        let insignificant = (out.ends_with('>') && c == '<') || (c == '/' && out.ends_with('"'));
        if !insignificant {
            out.push_str(&pending_ws);
        }
        pending_ws.clear();
        out.push(c);
    }
    out
}

/// True when two storage bodies say the same (publishing one over the other adds nothing).
pub fn same_storage(a: &str, b: &str) -> bool {
    a == b || normalise(a) == normalise(b)
}

/// The SHA-256 of a file's bytes, in hex.
pub fn sha256_file(path: &Path) -> crate::error::Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The listing, indexed.
struct Space {
    nodes: Vec<SyncNode>,
    by_id: HashMap<String, usize>,
}

impl Space {
    fn new(nodes: Vec<SyncNode>) -> Space {
        let by_id = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        Space { nodes, by_id }
    }

    fn get(&self, id: &str) -> Option<&SyncNode> {
        self.by_id.get(id).map(|i| &self.nodes[*i])
    }

    /// The page titled `title` (exactly, else ignoring case).
    fn page_titled(&self, title: &str) -> Option<&SyncNode> {
        let pages = || self.nodes.iter().filter(|n| !n.is_folder());
        pages()
            .find(|n| n.title == title)
            .or_else(|| pages().find(|n| n.title.to_lowercase() == title.to_lowercase()))
    }

    /// Whether `id` lies under `root` (not `root` itself).
    fn is_under(&self, id: &str, root: &str) -> bool {
        let mut at = self.get(id).and_then(|n| n.parent_id.clone());
        let mut hops = 0;
        while let Some(p) = at {
            if p == root {
                return true;
            }
            hops += 1;
            if hops > 10_000 {
                return false;
            }
            at = self.get(&p).and_then(|n| n.parent_id.clone());
        }
        false
    }
}

/// The page or folder the root directory is: `--parent` (id or title), else the root's title.
async fn find_root(
    c: &Content<'_>,
    space: &Space,
    opts: &Options,
    root: &Source,
) -> crate::error::Result<Option<SyncNode>> {
    let Some(p) = opts
        .parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    else {
        return Ok(space.page_titled(&root.title).cloned());
    };
    if p.chars().all(|ch| ch.is_ascii_digit()) {
        if let Some(n) = space.get(p) {
            return Ok(Some(n.clone()));
        }
        // A folder with no page under it is not in the listing.
        if c.api() == Api::CloudV2 {
            if let Ok(f) = c.folder(p).await {
                if f.space_key.eq_ignore_ascii_case(&opts.space) {
                    return Ok(Some(SyncNode {
                        id: f.id,
                        kind: "folder".into(),
                        title: f.title,
                        parent_id: f.parent_id,
                        version: 0,
                        position: None,
                        body: None,
                    }));
                }
            }
        }
        crate::error::invalid!(
            "there is no page{} with id {p} in space {}: pass the parent's id or title in that space",
            if c.api() == Api::CloudV2 { " or folder" } else { "" },
            opts.space
        );
    }
    if let Some(n) = space.page_titled(p) {
        return Ok(Some(n.clone()));
    }
    Ok(space
        .nodes
        .iter()
        .find(|n| n.is_folder() && n.title == p)
        .cloned())
}

/// Builds the plan for publishing `opts.dir`.
pub async fn plan(c: &Content<'_>, opts: &Options) -> crate::error::Result<Plan> {
    let parent_title = opts
        .parent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.chars().all(|ch| ch.is_ascii_digit()));
    let sources = scan::scan(&opts.dir, parent_title)?;
    if opts.orphans == Orphans::Archive && c.api() == Api::V1 {
        crate::error::invalid!(
            "--orphans archive needs Confluence Cloud: Data Center has no REST call to archive \
             pages. Use --orphans delete (to the trash) or keep"
        );
    }
    if c.api() == Api::V1 {
        // v1 lists an unknown space's pages as none: ask for the space, for a clear error.
        c.space(&opts.space).await?;
    }
    let space = Space::new(c.sync_listing(&opts.space).await?);
    let root_node = find_root(c, &space, opts, &sources[0]).await?;
    let mut builder = Builder::new(c, opts, &space, &sources, root_node.as_ref());
    let mut steps: Vec<Step> = Vec::with_capacity(sources.len());
    for i in 0..sources.len() {
        let existing = builder.existing(i)?;
        let step = builder.step(i, existing, &steps)?;
        steps.push(step);
    }
    if !builder.missing_files.is_empty() {
        crate::error::invalid!(
            "file(s) not found (paths are relative to the Markdown file): {}",
            builder.missing_files.join(", ")
        );
    }
    skip_current_uploads(c, &mut steps).await?;
    let reorder = reorder(&steps, &space);
    let orphans = match &builder.root_id {
        Some(r) => orphans(c, &space, r, &builder.matched).await?,
        None => Vec::new(),
    };
    Ok(Plan {
        space: opts.space.clone(),
        steps,
        reorder,
        orphans,
        orphan_mode: opts.orphans,
        warnings: builder.warnings,
    })
}

/// What the per-source steps share while the plan is built, and what they gather.
struct Builder<'a> {
    opts: &'a Options,
    space: &'a Space,
    sources: &'a [Source],
    cloud: bool,
    /// Link targets: every path a link may use → the title of the page published from it.
    titles: HashMap<String, String>,
    root: Option<&'a SyncNode>,
    root_id: Option<String>,
    /// Pages some file matched (the root included): the rest under the root may be orphans.
    matched: HashSet<String>,
    warnings: Vec<String>,
    /// Images and attachments not found: reported together once every file is converted.
    missing_files: Vec<String>,
}

impl<'a> Builder<'a> {
    fn new(
        c: &Content<'_>,
        opts: &'a Options,
        space: &'a Space,
        sources: &'a [Source],
        root: Option<&'a SyncNode>,
    ) -> Builder<'a> {
        let mut titles: HashMap<String, String> = HashMap::new();
        for s in sources {
            for k in scan::link_keys(s) {
                titles.insert(k, s.title.clone());
            }
        }
        let root_id = root.map(|n| n.id.clone());
        Builder {
            opts,
            space,
            sources,
            cloud: c.api() == Api::CloudV2,
            titles,
            matched: root_id.iter().cloned().collect(),
            root,
            root_id,
            warnings: Vec::new(),
            missing_files: Vec::new(),
        }
    }

    fn under_root(&self, id: &str) -> bool {
        self.root_id
            .as_deref()
            .is_some_and(|r| self.space.is_under(id, r))
    }

    /// The page or folder source `i` already is: by the front matter's `id`, else by title.
    /// It must lie under the root and be matched by no other file.
    fn existing(&mut self, i: usize) -> crate::error::Result<Option<&'a SyncNode>> {
        if i == 0 {
            return Ok(self.root);
        }
        let space = self.space;
        let s = &self.sources[i];
        let by_id =
            s.id.as_deref()
                .and_then(|id| space.get(id))
                .filter(|n| !n.is_folder());
        let by_title = || {
            space.page_titled(&s.title).or_else(|| {
                // A folder is found by title only under the root (folder titles repeat).
                space
                    .nodes
                    .iter()
                    .find(|n| n.is_folder() && n.title == s.title && self.under_root(&n.id))
            })
        };
        let found = by_id.or_else(by_title);
        if let Some(n) = found {
            if !self.under_root(&n.id) {
                let root_title = &self.sources[0].title;
                crate::error::invalid!(
                    "{}: a page titled {:?} already exists elsewhere in space {} (id {}), \
                     outside {:?}. Titles are unique in a space: rename the file's title \
                     (`title:` in its front matter) or move that page under {:?}",
                    scan::shown(&s.path),
                    n.title,
                    self.opts.space,
                    n.id,
                    root_title,
                    root_title
                );
            }
            if !self.matched.insert(n.id.clone()) {
                crate::error::invalid!(
                    "{}: page {} ({:?}) is matched by two files",
                    scan::shown(&s.path),
                    n.id,
                    n.title
                );
            }
        }
        Ok(found)
    }

    /// What happens to source `i`, given the page it already is and the steps before it.
    fn step(
        &mut self,
        i: usize,
        existing: Option<&SyncNode>,
        earlier: &[Step],
    ) -> crate::error::Result<Step> {
        let s = &self.sources[i];
        let folder = match existing {
            Some(n) => n.is_folder(),
            None => self.cloud && s.markdown.is_none(),
        };
        if folder && s.markdown.is_some() {
            self.warnings.push(format!(
                "{}: {:?} is a Cloud folder, which has no body: this file's text is not \
                 published (turn the folder into a page in Confluence to publish it)",
                scan::shown(&s.path),
                s.title
            ));
        }
        let (storage, uploads) = match (&s.markdown, folder) {
            (_, true) => (None, Vec::new()),
            (Some(md), false) => {
                let (body, uploads) = self.convert(s, md)?;
                (Some(body), uploads)
            }
            // The root's page keeps its body when the directory has no index file.
            (None, false) if i == 0 && existing.is_some() => (None, Vec::new()),
            (None, false) => (Some(CHILDREN_BODY.to_string()), Vec::new()),
        };
        let retitle = i > 0 && !folder && existing.is_some_and(|n| n.title != s.title);
        let action = action(existing, storage.as_deref(), retitle);
        Ok(Step {
            source: s.clone(),
            folder,
            id: existing.map(|n| n.id.clone()),
            listed: existing.cloned(),
            version: existing.map(|n| n.version).unwrap_or(0),
            action,
            moved: is_moved(existing, s.parent, earlier),
            retitle,
            storage: if action == Action::Unchanged {
                None
            } else {
                storage
            },
            uploads,
            current_files: 0,
        })
    }

    /// The storage body of `s`, its links to other files of the tree made page links, and the
    /// files it shows or links to, to upload.
    fn convert(&mut self, s: &Source, md: &str) -> crate::error::Result<(String, Vec<Upload>)> {
        let unresolved = RefCell::new(Vec::new());
        let base = s.base_dir().to_string();
        let resolve = |link: &str| -> Option<LinkTarget> {
            let key = scan::join(&base, link)?;
            let key = key.trim_end_matches('/').to_lowercase();
            match self.titles.get(&key) {
                Some(t) => Some(LinkTarget::Page {
                    space: None,
                    title: t.clone(),
                }),
                None => {
                    let l = key.to_ascii_lowercase();
                    if l.ends_with(".md") || l.ends_with(".markdown") {
                        unresolved.borrow_mut().push(link.to_string());
                    }
                    None
                }
            }
        };
        let st = cfl_markdown::to_storage_linked(md, Some(&s.title), &resolve);
        for l in unresolved.into_inner() {
            self.warnings.push(format!(
                "{}: the link {l:?} names no Markdown file of this tree; left as is",
                scan::shown(&s.path)
            ));
        }
        let uploads = self.uploads(s, &base, st.images.iter().chain(&st.attachments))?;
        Ok((st.body, uploads))
    }

    /// The files `s` refers to (paths relative to its directory), once each, with their hashes.
    /// Missing ones are noted, not fatal yet; two different files of one name are.
    fn uploads<'f>(
        &mut self,
        s: &Source,
        base: &str,
        files: impl Iterator<Item = &'f String>,
    ) -> crate::error::Result<Vec<Upload>> {
        let dir = self.opts.dir.join(base);
        let mut names: HashMap<String, PathBuf> = HashMap::new();
        let mut uploads = Vec::new();
        for f in files {
            let path = match scan::join(base, f) {
                Some(inside) => self.opts.dir.join(inside),
                None => dir.join(f),
            };
            if !path.is_file() {
                self.missing_files
                    .push(format!("{} (in {})", f, scan::shown(&s.path)));
                continue;
            }
            let name = cfl_markdown::file_name(f).to_string();
            if let Some(other) = names.get(&name) {
                if other != &path {
                    crate::error::invalid!(
                        "{}: two different files are both called {name:?} ({} and {}); \
                         attachments of one page need distinct names",
                        scan::shown(&s.path),
                        other.display(),
                        path.display()
                    );
                }
                continue;
            }
            names.insert(name.clone(), path.clone());
            uploads.push(Upload {
                sha256: sha256_file(&path)?,
                name,
                path,
            });
        }
        Ok(uploads)
    }
}

/// Create what does not exist; update what is renamed or whose body differs.
fn action(existing: Option<&SyncNode>, storage: Option<&str>, retitle: bool) -> Action {
    match (existing, storage) {
        (None, _) => Action::Create,
        (Some(_), _) if retitle => Action::Update,
        (Some(_), None) => Action::Unchanged,
        (Some(n), Some(new)) => match &n.body {
            Some(cur) if same_storage(cur, new) => Action::Unchanged,
            _ => Action::Update,
        },
    }
}

/// Whether an existing page sits under another parent than its source's parent's page.
fn is_moved(existing: Option<&SyncNode>, parent: Option<usize>, earlier: &[Step]) -> bool {
    match (existing, parent) {
        (Some(n), Some(p)) => match &earlier[p].id {
            Some(pid) => n.parent_id.as_deref() != Some(pid.as_str()),
            None => true,
        },
        _ => false,
    }
}

/// Drops uploads already attached with the same hash: they stay as they are.
async fn skip_current_uploads(c: &Content<'_>, steps: &mut [Step]) -> crate::error::Result<()> {
    for st in steps.iter_mut() {
        let Some(id) = st.id.clone() else { continue };
        if st.uploads.is_empty() {
            continue;
        }
        let attached = c.attachments(&id, None).await?;
        st.uploads.retain(|u| {
            let current = attached
                .iter()
                .any(|a| a.title == u.name && a.comment.contains(&u.comment()));
            if current {
                st.current_files += 1;
            }
            !current
        });
    }
    Ok(())
}

/// Sibling moves so each directory's pages follow the files' order. Pages that stay under
/// their parent keep their current positions; moved and created pages arrive last, in order.
fn reorder(steps: &[Step], space: &Space) -> Vec<(usize, Place, usize)> {
    let mut out = Vec::new();
    for p in 0..steps.len() {
        // Folders cannot be placed by the move call: only pages are ordered.
        let kids: Vec<usize> = (0..steps.len())
            .filter(|&k| steps[k].source.parent == Some(p) && !steps[k].folder)
            .collect();
        if kids.len() < 2 {
            continue;
        }
        let mut staying: Vec<(i64, usize)> = Vec::new();
        let mut arriving = Vec::new();
        for &k in &kids {
            let s = &steps[k];
            match (&s.id, s.moved) {
                (Some(id), false) => {
                    let pos = space.get(id).and_then(|n| n.position).unwrap_or(i64::MAX);
                    staying.push((pos, k));
                }
                _ => arriving.push(k),
            }
        }
        staying.sort();
        let current: Vec<String> = staying
            .iter()
            .map(|(_, k)| *k)
            .chain(arriving)
            .map(|k| k.to_string())
            .collect();
        let wanted: Vec<String> = kids.iter().map(|k| k.to_string()).collect();
        for (a, place, b) in order::placements(&current, &wanted) {
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                out.push((a, place, b));
            }
        }
    }
    out
}

/// Pages under the root that no file matched and that carry this tool's marker.
async fn orphans(
    c: &Content<'_>,
    space: &Space,
    root: &str,
    matched: &HashSet<String>,
) -> crate::error::Result<Vec<Orphan>> {
    let mut out = Vec::new();
    for n in &space.nodes {
        if n.is_folder() || matched.contains(&n.id) || !space.is_under(&n.id, root) {
            continue;
        }
        if let Some(v) = c.page_property(&n.id, MARKER).await? {
            out.push(Orphan {
                id: n.id.clone(),
                title: n.title.clone(),
                source: v["source"].as_str().unwrap_or("?").to_string(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_compares_modulo_confluence_reformatting() {
        assert!(same_storage(
            "<p>a</p>\n<ri:attachment ri:filename=\"x\" />",
            "<p>a</p><ri:attachment ri:filename=\"x\"/>"
        ));
        assert!(!same_storage("<p>a b</p>", "<p>ab</p>"));
        assert!(same_storage("<p>a  b</p>", "<p>a  b</p>"));
    }
}
