//! A seed file: TOML or JSON, its `body_file`s and attachments relative to it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    err, file_name, media_type, read_bytes, read_text, Seed, SeedAttachment, SeedError, SeedPage,
    SeedSpace,
};
use crate::config::users::UserConfig;

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

pub(super) fn load_file(path: &Path) -> Result<Seed, SeedError> {
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
