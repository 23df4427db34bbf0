//! What a seed holds once read and checked, and the error that names the file at fault.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::config::users::UserConfig;

/// A seed read from disk and checked: what `world::build` builds the world from.
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

pub(super) fn err<T>(path: &Path, message: impl Into<String>) -> Result<T, SeedError> {
    Err(SeedError {
        path: path.to_path_buf(),
        message: message.into(),
    })
}
