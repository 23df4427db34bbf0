//! A seed folder: `users.toml`, one folder per space, pages as `Title.xml|.html` with their
//! children and attachments in `Title/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    err, file_name, media_type, read_bytes, read_text, Seed, SeedAttachment, SeedError, SeedPage,
    SeedSpace,
};
use crate::config::users::UserConfig;

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

pub(super) fn load_dir(dir: &Path) -> Result<Seed, SeedError> {
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
