//! `cfl sim --seed DIR|FILE`: the simulator's content from files instead of the generated demo.
//!
//! Two ways to write the same thing (the README's "Test your own Confluence client against cfl
//! sim" shows both):
//!
//! - **A file** (`.toml` or `.json`): `[[users]]` (the config's user fields), and `[[spaces]]`
//!   with `key`, `name`, `description`, `homepage` (a page title; default: the first top-level
//!   page) and `[[spaces.pages]]`: `title`, `body` (storage format) or `body_file`, `parent` (a
//!   title in the same space), `type` (`page` or `blogpost`), `labels`, `author` (a user name) and
//!   `attachments = [{ file = "a.png", name = "a.png", media_type = "image/png" }]`. Paths are
//!   relative to the seed file.
//! - **A folder**: `users.toml` (optional, `[[users]]`), one folder per space named by its key
//!   holding `space.toml` (optional: `name`, `description`, `homepage`, `[labels]` title → list),
//!   and pages as `Title.xml` or `Title.html` (storage format). A folder `Title/` next to a page
//!   file holds that page's children (more `.xml`/`.html` files) and its attachments (every other
//!   file). Siblings are ordered by file name; names starting with `.` are skipped.
//!
//! Everything is read and checked once at start, so `/__sim/reset` restores exactly this content
//! and a mistake is reported with the file and what is wrong, never as a panic or a 404 later.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;

use crate::config::UserConfig;
use crate::model::{Attachment, Content, ContentId, Db, Space};

/// A seed read from disk and checked: what `Db::new` builds the world from.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub users: Vec<UserConfig>,
    pub spaces: Vec<SeedSpace>,
}

#[derive(Debug, Clone)]
pub struct SeedSpace {
    pub key: String,
    pub name: String,
    pub description: String,
    pub homepage: Option<String>,
    pub pages: Vec<SeedPage>,
}

#[derive(Debug, Clone)]
pub struct SeedPage {
    pub title: String,
    /// `page` or `blogpost`.
    pub kind: String,
    pub body: String,
    pub parent: Option<String>,
    pub labels: Vec<String>,
    pub author: Option<String>,
    pub attachments: Vec<SeedAttachment>,
}

#[derive(Debug, Clone)]
pub struct SeedAttachment {
    pub name: String,
    pub media_type: String,
    pub data: Bytes,
}

/// A seed that can't be used: the file (or folder) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed {}: {message}", path.display())]
pub struct SeedError {
    pub path: PathBuf,
    pub message: String,
}

fn err<T>(path: &Path, message: impl Into<String>) -> Result<T, SeedError> {
    Err(SeedError {
        path: path.to_path_buf(),
        message: message.into(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSeed {
    #[serde(default)]
    users: Vec<UserConfig>,
    #[serde(default)]
    spaces: Vec<FileSpace>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpace {
    key: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    homepage: Option<String>,
    #[serde(default)]
    pages: Vec<FilePage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePage {
    title: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_file: Option<PathBuf>,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    attachments: Vec<FileAttachment>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAttachment {
    file: PathBuf,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
}

/// `space.toml` in a seed folder.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpaceToml {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    homepage: Option<String>,
    /// Page title → its labels.
    #[serde(default)]
    labels: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UsersToml {
    #[serde(default)]
    users: Vec<UserConfig>,
}

impl Seed {
    /// Reads a seed file (`.toml`, `.json`) or folder, and checks it.
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return err(&shown, format!("cannot read it: {e}")),
        };
        let seed = if meta.is_dir() {
            load_dir(&shown)?
        } else {
            load_file(&shown)?
        };
        seed.check(&shown)?;
        Ok(seed)
    }

    /// Structural rules Confluence itself enforces, so a seed can't hold what the real product
    /// can't: unique space keys, unique titles per space, parents that exist, no cycles.
    fn check(&self, path: &Path) -> Result<(), SeedError> {
        let mut keys = HashSet::new();
        for s in &self.spaces {
            if s.key.is_empty() || !s.key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return err(
                    path,
                    format!(
                        "space key {:?} must be letters and digits only (e.g. \"ENG\")",
                        s.key
                    ),
                );
            }
            if !keys.insert(s.key.to_uppercase()) {
                return err(path, format!("space {:?} is declared twice", s.key));
            }
            check_pages(path, s)?;
        }
        Ok(())
    }

    /// User names every page author must be one of (the seed's users plus the config's).
    pub fn check_authors(&self, path: &Path, users: &[UserConfig]) -> Result<(), SeedError> {
        for s in &self.spaces {
            for p in &s.pages {
                if let Some(a) = &p.author {
                    if !users.iter().any(|u| u.name.eq_ignore_ascii_case(a)) {
                        return err(
                            path,
                            format!(
                                "page {:?} in space {}: author {a:?} is not a user of the seed or the config",
                                p.title, s.key
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_pages(path: &Path, s: &SeedSpace) -> Result<(), SeedError> {
    let mut titles = HashMap::new();
    for p in &s.pages {
        if p.title.trim().is_empty() {
            return err(
                path,
                format!("a page in space {} has an empty title", s.key),
            );
        }
        if p.kind != "page" && p.kind != "blogpost" {
            return err(
                path,
                format!(
                    "page {:?} in space {}: type {:?} must be \"page\" or \"blogpost\"",
                    p.title, s.key, p.kind
                ),
            );
        }
        if titles.insert(p.title.as_str(), p).is_some() {
            return err(
                path,
                format!(
                    "space {} has two pages titled {:?} (Confluence titles are unique per space)",
                    s.key, p.title
                ),
            );
        }
        let mut names = HashSet::new();
        for a in &p.attachments {
            if !names.insert(a.name.as_str()) {
                return err(
                    path,
                    format!("page {:?} has two attachments named {:?}", p.title, a.name),
                );
            }
        }
    }
    for p in &s.pages {
        let Some(parent) = &p.parent else { continue };
        if p.kind == "blogpost" {
            return err(path, format!("blog post {:?} can't have a parent", p.title));
        }
        match titles.get(parent.as_str()) {
            None => {
                return err(
                    path,
                    format!(
                        "page {:?}: parent {parent:?} is not a page of space {}",
                        p.title, s.key
                    ),
                )
            }
            Some(pp) if pp.kind != "page" => {
                return err(
                    path,
                    format!("page {:?}: parent {parent:?} is a blog post", p.title),
                )
            }
            Some(_) => {}
        }
        // Walk up: a chain longer than the page count went round in a circle.
        let mut cur = Some(parent.as_str());
        for _ in 0..=s.pages.len() {
            cur = cur.and_then(|t| titles[t].parent.as_deref());
        }
        if cur.is_some() {
            return err(
                path,
                format!("page {:?}: its parents form a cycle", p.title),
            );
        }
    }
    if let Some(h) = &s.homepage {
        if titles.get(h.as_str()).is_none_or(|p| p.kind != "page") {
            return err(
                path,
                format!("space {}: homepage {h:?} is not a page of the space", s.key),
            );
        }
    }
    Ok(())
}

fn load_file(path: &Path) -> Result<Seed, SeedError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return err(path, format!("cannot read it: {e}")),
    };
    let parsed: FileSeed = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str(&text).map_err(|e| SeedError {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
        Some("json") => serde_json::from_str(&text).map_err(|e| SeedError {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
        _ => {
            return err(
                path,
                "a seed file must end in .toml or .json (or be a folder)",
            )
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let mut spaces = Vec::new();
    for s in parsed.spaces {
        let mut pages = Vec::new();
        for p in s.pages {
            pages.push(file_page(path, base, p)?);
        }
        spaces.push(SeedSpace {
            name: s.name.unwrap_or_else(|| s.key.clone()),
            key: s.key,
            description: s.description,
            homepage: s.homepage,
            pages,
        });
    }
    Ok(Seed {
        users: parsed.users,
        spaces,
    })
}

fn file_page(path: &Path, base: &Path, p: FilePage) -> Result<SeedPage, SeedError> {
    let body = match (p.body, p.body_file) {
        (Some(_), Some(_)) => {
            return err(
                path,
                format!("page {:?}: give body or body_file, not both", p.title),
            )
        }
        (Some(b), None) => b,
        (None, Some(f)) => read_text(&base.join(f))?,
        (None, None) => String::new(),
    };
    let mut attachments = Vec::new();
    for a in p.attachments {
        let full = base.join(&a.file);
        let name = match a.name {
            Some(n) => n,
            None => file_name(&full),
        };
        attachments.push(SeedAttachment {
            media_type: a.media_type.unwrap_or_else(|| media_type(&name).into()),
            data: read_bytes(&full)?,
            name,
        });
    }
    Ok(SeedPage {
        title: p.title,
        kind: p.kind.unwrap_or_else(|| "page".into()),
        body,
        parent: p.parent,
        labels: p.labels,
        author: p.author,
        attachments,
    })
}

fn read_text(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).or_else(|e| err(path, format!("cannot read it: {e}")))
}

fn read_bytes(path: &Path) -> Result<Bytes, SeedError> {
    std::fs::read(path)
        .map(Bytes::from)
        .or_else(|e| err(path, format!("cannot read it: {e}")))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Entries of a folder sorted by name, hidden ones left out.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, SeedError> {
    let read = std::fs::read_dir(dir).or_else(|e| err(dir, format!("cannot list it: {e}")))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.or_else(|e| err(dir, format!("cannot list it: {e}")))?;
        if !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn is_page_file(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("xml" | "html"))
}

fn load_dir(dir: &Path) -> Result<Seed, SeedError> {
    let mut seed = Seed::default();
    for entry in entries(dir)? {
        if entry.is_dir() {
            seed.spaces.push(load_space_dir(&entry)?);
        } else if file_name(&entry) == "users.toml" {
            let text = read_text(&entry)?;
            let users: UsersToml = toml::from_str(&text).map_err(|e| SeedError {
                path: entry.clone(),
                message: e.to_string(),
            })?;
            seed.users = users.users;
        } else {
            return err(
                &entry,
                "a seed folder holds users.toml and one folder per space (named by its key), nothing else",
            );
        }
    }
    Ok(seed)
}

fn load_space_dir(dir: &Path) -> Result<SeedSpace, SeedError> {
    let key = file_name(dir);
    let space_toml = dir.join("space.toml");
    let meta: SpaceToml = if space_toml.is_file() {
        toml::from_str(&read_text(&space_toml)?).map_err(|e| SeedError {
            path: space_toml.clone(),
            message: e.to_string(),
        })?
    } else {
        SpaceToml::default()
    };
    let mut pages = Vec::new();
    for entry in entries(dir)? {
        if entry == space_toml {
            continue;
        }
        if is_page_file(&entry) {
            load_page_tree(&entry, None, &mut pages)?;
        } else if entry.is_dir() {
            if !has_page_file(&entry) {
                return err(
                    &entry,
                    format!(
                        "a folder in a space holds a page's children and attachments; add {0}.xml or {0}.html next to it",
                        file_name(&entry)
                    ),
                );
            }
        } else {
            return err(
                &entry,
                "a file at the top of a space folder must be a page (.xml or .html) or space.toml; attachments go in the page's folder",
            );
        }
    }
    for (title, labels) in meta.labels {
        match pages.iter_mut().find(|p| p.title == title) {
            Some(p) => p.labels = labels,
            None => {
                return err(
                    &space_toml,
                    format!("[labels] names {title:?}, which is not a page of the space"),
                )
            }
        }
    }
    Ok(SeedSpace {
        name: meta.name.unwrap_or_else(|| key.clone()),
        key,
        description: meta.description,
        homepage: meta.homepage,
        pages,
    })
}

fn has_page_file(dir: &Path) -> bool {
    ["xml", "html"]
        .iter()
        .any(|ext| with_ext(dir, ext).is_file())
}

/// `dir` + `.ext` (not `with_extension`, which would cut a title containing a dot).
fn with_ext(dir: &Path, ext: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// One page file, then its folder (children and attachments), depth first.
fn load_page_tree(
    file: &Path,
    parent: Option<&str>,
    pages: &mut Vec<SeedPage>,
) -> Result<(), SeedError> {
    let title = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let body = read_text(file)?;
    let folder = file.with_file_name(&title);
    let mut attachments = Vec::new();
    let mut children = Vec::new();
    if folder.is_dir() {
        for entry in entries(&folder)? {
            if is_page_file(&entry) {
                children.push(entry);
            } else if entry.is_dir() {
                if !has_page_file(&entry) {
                    return err(
                        &entry,
                        format!(
                            "a folder in a page folder holds a child page's children; add {0}.xml or {0}.html next to it",
                            file_name(&entry)
                        ),
                    );
                }
            } else {
                let name = file_name(&entry);
                attachments.push(SeedAttachment {
                    media_type: media_type(&name).into(),
                    data: read_bytes(&entry)?,
                    name,
                });
            }
        }
    }
    pages.push(SeedPage {
        title: title.clone(),
        kind: "page".into(),
        body,
        parent: parent.map(str::to_string),
        labels: vec![],
        author: None,
        attachments,
    });
    for child in children {
        load_page_tree(&child, Some(&title), pages)?;
    }
    Ok(())
}

/// The media type Confluence would record for a file name (the common ones; others are bytes).
fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        Some("txt" | "log") => "text/plain",
        Some("md") => "text/markdown",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("html" | "htm") => "text/html",
        Some("sh") => "text/x-sh",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Fills `db` (users already in) with the seed's spaces, pages and attachments. Ids are handed
/// out in file order, so the same seed always yields the same ids.
pub fn apply(db: &mut Db, seed: &Seed, now_ms: i64) {
    let default_author = db
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "admin".into());
    for (n, s) in seed.spaces.iter().enumerate() {
        let ids: HashMap<&str, ContentId> = s
            .pages
            .iter()
            .map(|p| (p.title.as_str(), db.alloc_id()))
            .collect();
        let mut siblings: HashMap<Option<ContentId>, i64> = HashMap::new();
        for p in &s.pages {
            let id = ids[p.title.as_str()];
            let parent = p.parent.as_deref().map(|t| ids[t]);
            let position = siblings.entry(parent).or_default();
            let author = p.author.clone().unwrap_or_else(|| default_author.clone());
            db.content.insert(
                id,
                Content {
                    id,
                    kind: p.kind.clone(),
                    status: "current".into(),
                    title: p.title.clone(),
                    space_key: s.key.clone(),
                    parent_id: parent,
                    body_storage: p.body.clone(),
                    version: 1,
                    created_at: now_ms,
                    updated_at: now_ms,
                    author: author.clone(),
                    last_modifier: author.clone(),
                    labels: p.labels.clone(),
                    position: *position,
                },
            );
            *position += 1;
            for a in &p.attachments {
                let att = db.alloc_id();
                db.attachments.insert(
                    att,
                    Attachment {
                        id: att,
                        container_id: id,
                        title: a.name.clone(),
                        media_type: a.media_type.clone(),
                        comment: String::new(),
                        data: a.data.clone(),
                        version: 1,
                        created_at: now_ms,
                        author: author.clone(),
                    },
                );
            }
        }
        let homepage = match &s.homepage {
            Some(t) => Some(ids[t.as_str()]),
            None => s
                .pages
                .iter()
                .find(|p| p.parent.is_none() && p.kind == "page")
                .map(|p| ids[p.title.as_str()]),
        };
        db.spaces.insert(
            s.key.clone(),
            Space {
                id: 98_304 + n as u64,
                key: s.key.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                homepage_id: homepage,
                created_at: now_ms,
            },
        );
    }
}
