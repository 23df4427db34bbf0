//! Attachments: list, upload and download, streamed both ways so a large file never sits in
//! memory. Listing is v1 on Data Center and v2 on Cloud (whose `downloadLink` says where the
//! bytes are). Uploads are v1 on both (Cloud has no v2 upload): multipart with a known length
//! (a `Content-Length`, re-opened for each retry); a file whose name the page already has gets
//! a new version through `…/{id}/data`. Downloads follow redirects — to another host (Cloud's
//! media store) without the Confluence credential — into a temporary file beside the target,
//! renamed into place only once every byte has arrived, with the permissions the umask gives.

use std::path::{Path, PathBuf};

use crate::error::Context;
use serde::Serialize;
use serde_json::Value;

use super::{id_string, query, segment, Api, Content, ContentError, V2};
use crate::http::{StreamBody, Streamed};

/// An attachment, as `cfl attachment list --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    pub title: String,
    pub media_type: String,
    /// Bytes; 0 when the server did not say.
    pub file_size: u64,
    pub version: u64,
    pub comment: String,
    /// Where the bytes are (absolute URL on the API base).
    pub download_url: String,
}

impl Content<'_> {
    /// An attachment from a v1 attachment object.
    pub(crate) fn attachment_from(&self, v: &Value) -> Attachment {
        let download = v["_links"]["download"].as_str().unwrap_or("");
        Attachment {
            id: id_string(&v["id"]),
            title: v["title"].as_str().unwrap_or("").to_string(),
            media_type: v["extensions"]["mediaType"]
                .as_str()
                .or(v["metadata"]["mediaType"].as_str())
                .unwrap_or("")
                .to_string(),
            file_size: v["extensions"]["fileSize"].as_u64().unwrap_or(0),
            version: v["version"]["number"].as_u64().unwrap_or(0),
            comment: v["extensions"]["comment"]
                .as_str()
                .or(v["metadata"]["comment"].as_str())
                .unwrap_or("")
                .to_string(),
            download_url: if download.is_empty() {
                String::new()
            } else {
                self.client.url(download).unwrap_or_default()
            },
        }
    }

    /// An attachment from a v2 attachment object.
    pub(crate) fn attachment_from_v2(&self, v: &Value) -> Attachment {
        let download = v["downloadLink"]
            .as_str()
            .or(v["_links"]["download"].as_str())
            .unwrap_or("");
        Attachment {
            id: id_string(&v["id"]),
            title: v["title"].as_str().unwrap_or("").to_string(),
            media_type: v["mediaType"].as_str().unwrap_or("").to_string(),
            file_size: v["fileSize"].as_u64().unwrap_or(0),
            version: v["version"]["number"].as_u64().unwrap_or(0),
            comment: v["comment"].as_str().unwrap_or("").to_string(),
            download_url: if download.is_empty() {
                String::new()
            } else {
                self.client.url(download).unwrap_or_default()
            },
        }
    }

    /// The page's attachments (with where to download each), up to `limit` (all when `None`).
    pub async fn attachments(
        &self,
        page_id: &str,
        limit: Option<usize>,
    ) -> crate::error::Result<Vec<Attachment>> {
        match self.api {
            Api::V1 => {
                let all = self
                    .collect(
                        &format!(
                            "/rest/api/content/{}/child/attachment?expand=version",
                            segment(page_id)
                        ),
                        limit,
                    )
                    .await?;
                Ok(all.iter().map(|v| self.attachment_from(v)).collect())
            }
            Api::CloudV2 => {
                let all = self
                    .collect(
                        &format!("{V2}/pages/{}/attachments", segment(page_id)),
                        limit,
                    )
                    .await?;
                Ok(all.iter().map(|v| self.attachment_from_v2(v)).collect())
            }
        }
    }

    /// The page's attachment called `name`, if any.
    pub async fn attachment_named(
        &self,
        page_id: &str,
        name: &str,
    ) -> crate::error::Result<Option<Attachment>> {
        let path = match self.api {
            Api::V1 => format!("/rest/api/content/{}/child/attachment", segment(page_id)),
            Api::CloudV2 => format!("{V2}/pages/{}/attachments", segment(page_id)),
        };
        let v = self
            .get_json(&format!("{path}?{}", query(&[("filename", name)])))
            .await?;
        let found = v["results"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["title"].as_str() == Some(name)));
        Ok(found.map(|x| match self.api {
            Api::V1 => self.attachment_from(x),
            Api::CloudV2 => self.attachment_from_v2(x),
        }))
    }

    /// Uploads `file` (as `name`, default its file name), streaming it from disk. A name the
    /// page already has becomes a new version of that attachment.
    pub async fn upload(
        &self,
        page_id: &str,
        file: &Path,
        name: Option<&str>,
        comment: Option<&str>,
    ) -> crate::error::Result<Attachment> {
        let meta =
            std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
        if !meta.is_file() {
            crate::error::invalid!("{} is not a file", file.display());
        }
        let name = match name {
            Some(n) => n.to_string(),
            None => file
                .file_name()
                .and_then(|n| n.to_str())
                .with_context(|| {
                    format!("{} has no usable file name; pass --name", file.display())
                })?
                .to_string(),
        };
        let existing = self.attachment_named(page_id, &name).await?;
        let path = match &existing {
            Some(a) => format!(
                "/rest/api/content/{}/child/attachment/{}/data",
                segment(page_id),
                segment(&a.id)
            ),
            None => format!("/rest/api/content/{}/child/attachment", segment(page_id)),
        };
        let url = self.client.url(&path)?;
        let len = meta.len();
        let mime = guess_mime(&name).to_string();
        let file = file.to_path_buf();
        let comment = comment.map(str::to_string);
        let make = move || -> crate::error::Result<StreamBody> {
            let f = std::fs::File::open(&file)
                .with_context(|| format!("cannot open {}", file.display()))?;
            // 64 KiB reads: the 4 KiB default makes a large upload several times slower.
            let stream = tokio_util::io::ReaderStream::with_capacity(
                tokio::fs::File::from_std(f),
                64 * 1024,
            );
            let part = reqwest::multipart::Part::stream_with_length(
                reqwest::Body::wrap_stream(stream),
                len,
            )
            .file_name(name.clone())
            .mime_str(&mime)
            .map_err(|e| crate::Error::internal(&e))?;
            let mut form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("minorEdit", "true");
            if let Some(c) = &comment {
                form = form.text("comment", c.clone());
            }
            Ok(StreamBody::Multipart(form))
        };
        let r = self
            .client
            .send_body_stream("POST", &url, &[], &make)
            .await?;
        if !r.is_success() {
            return Err(self.error(&r));
        }
        let v = r.json()?;
        // A new attachment answers a result list; new data answers the attachment itself.
        let a = v["results"]
            .as_array()
            .and_then(|a| a.first())
            .unwrap_or(&v);
        Ok(self.attachment_from(a))
    }

    /// Streams the attachment called `name` to `dest` (a file path, or an existing directory to
    /// put it in under its own name). Returns the path written and the byte count.
    pub async fn download(
        &self,
        page_id: &str,
        name: &str,
        dest: &Path,
    ) -> crate::error::Result<(PathBuf, u64)> {
        let a = self.attachment_named(page_id, name).await?.ok_or_else(|| {
            ContentError::NotFound(format!(
                "page {page_id} has no attachment named {name:?} (see `cfl attachment list {page_id}`)"
            ))
        })?;
        let target = if dest.is_dir() {
            dest.join(safe_file_name(&a.title)?)
        } else {
            dest.to_path_buf()
        };
        // Cloud: v1's download endpoint, which Cloud keeps and which works through the API
        // gateway too; it redirects to the bytes (perhaps on the media host).
        let url = match self.api {
            Api::V1 => a.download_url.clone(),
            Api::CloudV2 => self.client.url(&format!(
                "/rest/api/content/{}/child/attachment/{}/download",
                segment(page_id),
                segment(&a.id)
            ))?,
        };
        let bytes = self.download_to(&url, &target).await?;
        Ok((target, bytes))
    }

    /// Streams `url` into `target` through a temporary file in the same directory, following
    /// redirects (another host gets no credential).
    pub async fn download_to(&self, url: &str, target: &Path) -> crate::error::Result<u64> {
        use std::io::Write;
        let mut resp = match self
            .client
            .send_for_download(url, crate::http::SendPolicy::Backoff)
            .await?
        {
            Streamed::Ok(r) => r,
            Streamed::Read(r) => return Err(self.error(&r)),
        };
        let expected = resp.content_length();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".cfl-download-");
        // A downloaded file is an ordinary file: 0666 less the umask (as `cfl export` writes),
        // not the 0600 of a temporary file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut tmp = builder
            .tempfile_in(&dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        let mut written: u64 = 0;
        while let Some(chunk) = resp
            .chunk()
            .await
            .context("the download was interrupted; nothing was written to the target")?
        {
            tmp.as_file_mut()
                .write_all(&chunk)
                .with_context(|| format!("cannot write in {}", dir.display()))?;
            written += chunk.len() as u64;
        }
        if let Some(n) = expected {
            if n != written {
                crate::error::invalid!(
                    "the download stopped after {written} of {n} bytes; nothing was written to {}",
                    target.display()
                );
            }
        }
        tmp.as_file_mut()
            .flush()
            .with_context(|| format!("cannot write {}", target.display()))?;
        tmp.persist(target)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", target.display()))?;
        Ok(written)
    }
}

/// An attachment title as a local file name: no directories, nothing hidden behind `..`.
pub fn safe_file_name(title: &str) -> crate::error::Result<String> {
    let name: String = title
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        crate::error::invalid!(
            "the attachment name {title:?} is not a usable file name; pass -o FILE"
        );
    }
    Ok(name)
}

/// A media type from the file extension; Confluence stores what the upload says.
pub fn guess_mime(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "log" | "md") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("zip") => "application/zip",
        Some("gz" | "tgz") => "application/gzip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_stay_in_their_directory() {
        assert_eq!(safe_file_name("a/../b.txt").unwrap(), "a_.._b.txt");
        assert_eq!(safe_file_name("report.pdf").unwrap(), "report.pdf");
        assert!(safe_file_name("..").is_err());
        assert_eq!(guess_mime("X.PNG"), "image/png");
        assert_eq!(guess_mime("noext"), "application/octet-stream");
    }
}
