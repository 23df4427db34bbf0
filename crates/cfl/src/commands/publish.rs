//! `cfl publish FILE.md [--space KEY] [--parent ID|TITLE] [--title T]`: Markdown to a Confluence
//! page. The title comes from the flag, the front matter (`title:`), the first `# heading`
//! (which then leaves the body, as Confluence shows the title itself) or the file name; the space
//! and parent from flags or front matter. A page with that title in the space is updated
//! (version + 1), else created. Local images become attachments of the page (uploaded when new or
//! their size changed). Everything is checked (front matter, images, parent) before any write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cfl_client::Client;
use serde_json::{json, Value};

use super::Globals;

#[derive(clap::Args)]
pub struct PublishArgs {
    /// The Markdown file (CommonMark with tables; optional `---` front matter).
    pub file: PathBuf,
    /// Space key (else `space:` from the front matter).
    #[arg(long)]
    pub space: Option<String>,
    /// Parent page, by id or by title in the space (else `parent:` from the front matter).
    #[arg(long)]
    pub parent: Option<String>,
    /// Page title (else `title:`, the first `# heading`, or the file name).
    #[arg(long)]
    pub title: Option<String>,
    /// Print the storage format and the images that would be uploaded; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The title from a leading `# heading`, and the body without it.
fn leading_heading(body: &str) -> Option<(String, String)> {
    let trimmed = body.trim_start_matches(['\n', '\r', ' ']);
    let first = trimmed.lines().next()?;
    let title = first
        .strip_prefix("# ")?
        .trim()
        .trim_end_matches('#')
        .trim();
    if title.is_empty() {
        return None;
    }
    let rest = trimmed[first.len()..].trim_start_matches(['\n', '\r']);
    Some((title.to_string(), rest.to_string()))
}

fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// A multipart/form-data body with one `file` part.
fn multipart(name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("cfl-{:032x}", rand::random::<u128>());
    let safe = name.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(data.len() + 256);
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{safe}\"\r\nContent-Type: {}\r\n\r\n",
            media_type(name)
        )
        .as_bytes(),
    );
    body.extend(data);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub fn run(a: PublishArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let raw =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let text = String::from_utf8(raw)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", a.file.display()))?;
    let (fm, body) = cfl_markdown::front_matter(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.file.display()))?;
    let mut body = body.to_string();
    let title = match a
        .title
        .clone()
        .or_else(|| fm.get("title").map(str::to_string))
    {
        Some(t) => t,
        None => match leading_heading(&body) {
            Some((t, rest)) => {
                body = rest;
                t
            }
            None => a
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
    };
    let title = title.trim().to_string();
    if title.is_empty() {
        anyhow::bail!("the page needs a title: pass --title, or start the file with `# Title`");
    }
    let space = a
        .space
        .clone()
        .or_else(|| fm.get("space").map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        .with_context(|| {
            format!(
                "which space? Pass --space KEY, or add `space: KEY` to the front matter of {}",
                a.file.display()
            )
        })?;
    let parent = a
        .parent
        .clone()
        .or_else(|| fm.get("parent").map(str::to_string));

    let storage = cfl_markdown::to_storage(&body);
    // Images are resolved against the file's directory and must all exist before any write.
    let base = a.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    let mut missing = Vec::new();
    for img in &storage.images {
        let path = base.join(img);
        let name = cfl_markdown::file_name(img).to_string();
        if !path.is_file() {
            missing.push(img.clone());
            continue;
        }
        if let Some((_, other)) = images.iter().find(|(n, _)| n == &name) {
            anyhow::bail!(
                "two different images are both called {name:?} ({} and {}); Confluence attachments of one page need distinct names",
                other.display(),
                path.display()
            );
        }
        images.push((name, path));
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "image file(s) not found (paths are relative to {}): {}",
            base.display(),
            missing.join(", ")
        );
    }
    if a.dry_run {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", storage.body)?;
        for (name, path) in &images {
            writeln!(out, "attachment\t{name}\t{}", path.display())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    super::auth::runtime()?.block_on(publish(
        g,
        &space,
        parent.as_deref(),
        &title,
        &storage.body,
        &images,
    ))
}

async fn json_ok(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let url = client.url(path)?;
    let headers = [("Content-Type".to_string(), "application/json".to_string())];
    let r = client
        .send(
            method,
            &url,
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await?;
    if !r.is_success() {
        anyhow::bail!("{method} {path}: {}", client.explain(&r));
    }
    r.json()
}

async fn publish(
    g: &Globals,
    space: &str,
    parent: Option<&str>,
    title: &str,
    storage: &str,
    images: &[(String, PathBuf)],
) -> anyhow::Result<ExitCode> {
    let client = super::connect::client(g)?;

    let find = |t: String| {
        let client = &client;
        async move {
            let v = json_ok(
                client,
                "GET",
                &format!(
                    "/rest/api/content?spaceKey={}&title={}&type=page&expand=version",
                    q(space),
                    q(&t)
                ),
                None,
            )
            .await?;
            Ok::<Option<Value>, anyhow::Error>(
                v["results"].as_array().and_then(|r| r.first()).cloned(),
            )
        }
    };
    let parent_id = match parent.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => Some(p.to_string()),
        Some(p) => Some(
            find(p.to_string())
                .await?
                .and_then(|v| v["id"].as_str().map(str::to_string))
                .with_context(|| {
                    format!("there is no page titled {p:?} in space {space} to publish under")
                })?,
        ),
    };
    let existing = find(title.to_string()).await?;
    let mut page = json!({
        "type": "page",
        "title": title,
        "space": {"key": space},
        "body": {"storage": {"value": storage, "representation": "storage"}},
    });
    if let Some(p) = &parent_id {
        page["ancestors"] = json!([{"id": p}]);
    }
    let (verb, saved) = match existing {
        Some(cur) => {
            let id = cur["id"]
                .as_str()
                .context("the existing page has no id")?
                .to_string();
            let v = cur
                .pointer("/version/number")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            page["id"] = json!(id);
            page["version"] = json!({"number": v + 1});
            (
                "updated",
                json_ok(
                    &client,
                    "PUT",
                    &format!("/rest/api/content/{id}"),
                    Some(page),
                )
                .await?,
            )
        }
        None => (
            "created",
            json_ok(&client, "POST", "/rest/api/content", Some(page)).await?,
        ),
    };
    let id = saved["id"]
        .as_str()
        .context("Confluence answered no page id")?
        .to_string();
    let version = saved
        .pointer("/version/number")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{verb}\t{id}\t{version}\t{title}")?;

    for (name, path) in images {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let listed = json_ok(
            &client,
            "GET",
            &format!(
                "/rest/api/content/{id}/child/attachment?filename={}",
                q(name)
            ),
            None,
        )
        .await?;
        let current = listed["results"]
            .as_array()
            .and_then(|r| r.first())
            .cloned();
        let target = match &current {
            Some(att) => {
                let size = att.pointer("/extensions/fileSize").and_then(Value::as_u64);
                if size == Some(data.len() as u64) {
                    writeln!(out, "attachment\t{name}\tunchanged")?;
                    continue;
                }
                let aid = att["id"].as_str().context("attachment without id")?;
                format!("/rest/api/content/{id}/child/attachment/{aid}/data")
            }
            None => format!("/rest/api/content/{id}/child/attachment"),
        };
        let (ctype, body) = multipart(name, &data);
        let url = client.url(&target)?;
        let r = client
            .send("POST", &url, &[("Content-Type".into(), ctype)], Some(body))
            .await?;
        if !r.is_success() {
            anyhow::bail!(
                "the page was {verb}, but uploading {name} failed: {}",
                client.explain(&r)
            );
        }
        writeln!(out, "attachment\t{name}\tuploaded")?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_from_the_first_heading() {
        assert_eq!(
            leading_heading("\n# Hello world\n\nBody\n"),
            Some(("Hello world".into(), "Body\n".into()))
        );
        assert_eq!(leading_heading("Intro\n# Later\n"), None);
        assert_eq!(leading_heading("## Second level\n"), None);
    }

    #[test]
    fn multipart_body_names_the_file() {
        let (ct, body) = multipart("a\"b.png", b"PNG");
        assert!(ct.starts_with("multipart/form-data; boundary=cfl-"));
        let s = String::from_utf8_lossy(&body);
        assert!(s.contains("filename=\"a_b.png\""));
        assert!(s.contains("Content-Type: image/png"));
    }
}
