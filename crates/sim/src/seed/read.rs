//! Reading seed files: text, bytes, names and the media type Confluence would record.

use std::path::Path;

use bytes::Bytes;

use super::spec::{err, SeedError};

pub(super) fn read_text(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path).or_else(|e| err(path, format!("cannot read it: {e}")))
}

pub(super) fn read_bytes(path: &Path) -> Result<Bytes, SeedError> {
    std::fs::read(path)
        .map(Bytes::from)
        .or_else(|e| err(path, format!("cannot read it: {e}")))
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The media type Confluence would record for a file name (the common ones; others are bytes).
pub(super) fn media_type(name: &str) -> &'static str {
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
