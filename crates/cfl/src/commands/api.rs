//! `cfl api PATH`: an authenticated request to the profile's REST base, like `gh api`. PATH is
//! relative to the API base (Cloud `SITE/wiki`, scoped `GATEWAY/ex/confluence/ID/wiki`, DC base
//! with its context path): `cfl api /rest/api/space` on Data Center, `cfl api /api/v2/spaces` on
//! Cloud. A path as Atlassian's docs write it (`/wiki/api/v2/…`, or DC's `/CONTEXT/rest/…`)
//! lands on the same base. `--paginate` follows `Link` headers and `_links.next` (v1 offsets,
//! v2 cursors).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cfl_client::http::Response;
use cfl_client::paginate;
use serde_json::{Map, Value};

use super::Globals;
use crate::runtime::runtime;

#[derive(clap::Args)]
pub struct ApiArgs {
    /// Path relative to the API base: e.g. /api/v2/spaces on Cloud (also written /wiki/api/v2/…),
    /// /rest/api/space on Data Center.
    pub path: String,
    /// HTTP method (default GET, or POST when fields or --input are given).
    #[arg(short = 'X', long = "method")]
    pub method: Option<String>,
    /// A string field: key=value (query string for GET, JSON body otherwise).
    #[arg(short = 'f', long = "raw-field", value_name = "KEY=VALUE")]
    pub raw_fields: Vec<String>,
    /// A typed field: numbers, true/false, null, or @file for a file's contents.
    #[arg(short = 'F', long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Request body from a file, or - for standard input.
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    /// An extra request header, 'Name: value'.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Follow next links and print every page (one JSON document per page).
    #[arg(long)]
    pub paginate: bool,
    /// With --paginate: print one JSON array holding every page.
    #[arg(long, requires = "paginate")]
    pub slurp: bool,
    /// Print the status line and response headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
}

/// Parses a typed `-F` value the way gh does.
pub fn typed_value(raw: &str) -> anyhow::Result<Value> {
    Ok(match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ if raw.starts_with('@') => {
            let path = &raw[1..];
            let text = if path == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
            };
            Value::String(text)
        }
        _ => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => Value::from(f),
                _ => Value::String(raw.to_string()),
            },
        },
    })
}

fn split_field(f: &str) -> anyhow::Result<(&str, &str)> {
    f.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .with_context(|| format!("field {f:?} is not key=value"))
}

fn print_response(r: &Response, include: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if include {
        writeln!(out, "HTTP {} {}", r.status, r.reason)?;
        for (k, v) in &r.headers {
            writeln!(out, "{}: {}", k, v.to_str().unwrap_or("<binary>"))?;
        }
        writeln!(out)?;
    }
    out.write_all(&r.body)?;
    if !r.body.is_empty() && !r.body.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(())
}

pub fn run(a: ApiArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(a, g))
}

/// `-f` and `-F` fields, in order.
fn fields(a: &ApiArgs) -> anyhow::Result<Vec<(String, Value)>> {
    let mut params: Vec<(String, Value)> = Vec::new();
    for f in &a.raw_fields {
        let (k, v) = split_field(f)?;
        params.push((k.to_string(), Value::String(v.to_string())));
    }
    for f in &a.fields {
        let (k, v) = split_field(f)?;
        params.push((k.to_string(), typed_value(v)?));
    }
    Ok(params)
}

/// `-H 'Name: value'` headers.
fn headers(a: &ApiArgs) -> anyhow::Result<Vec<(String, String)>> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("header {h:?} is not 'Name: value'"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(headers)
}

async fn run_async(a: ApiArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let client = super::connect::client(g)?;

    let params = fields(&a)?;
    let has_body = !params.is_empty() || a.input.is_some();
    let method = a
        .method
        .clone()
        .unwrap_or_else(|| if has_body { "POST" } else { "GET" }.to_string())
        .to_ascii_uppercase();

    let mut headers = headers(&a)?;
    let mut url = if a.path.starts_with("http://") || a.path.starts_with("https://") {
        client.url(&a.path)?
    } else {
        client.url(&paginate::resolve(client.api_base(), &a.path))?
    };
    let mut body: Option<Vec<u8>> = None;
    if let Some(input) = &a.input {
        let mut bytes = Vec::new();
        if input == "-" {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
        } else {
            bytes = std::fs::read(PathBuf::from(input))
                .with_context(|| format!("cannot read {input}"))?;
        }
        body = Some(bytes);
        // With --input, fields go to the query string (as gh does).
        append_query(&mut url, &params)?;
    } else if method == "GET" || method == "HEAD" || method == "DELETE" {
        append_query(&mut url, &params)?;
    } else if !params.is_empty() {
        let obj: Map<String, Value> = params.into_iter().collect();
        body = Some(serde_json::to_vec(&Value::Object(obj))?);
    }
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut pages: Vec<Value> = Vec::new();
    loop {
        let r = client.send(&method, &url, &headers, body.clone()).await?;
        if !r.is_success() {
            if a.include {
                print_response(&r, true, &mut out)?;
            }
            let mut err = std::io::stderr().lock();
            // A 410's body is Atlassian's exception text; the explanation says what it means.
            if r.status != 410 {
                err.write_all(&r.body)?;
                if !r.body.ends_with(b"\n") {
                    writeln!(err)?;
                }
            }
            return Err(client.refusal(&r, "").into());
        }
        let next = if a.paginate {
            let json: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let next = paginate::next_link(r.header("link"), &json);
            if a.slurp {
                pages.push(json);
            }
            next
        } else {
            None
        };
        if !a.slurp {
            print_response(&r, a.include, &mut out)?;
        }
        match next {
            Some(n) => {
                url = client.url(&paginate::resolve(client.api_base(), &n))?;
            }
            None => break,
        }
    }
    if a.slurp {
        writeln!(out, "{}", serde_json::to_string(&Value::Array(pages))?)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn append_query(url: &mut String, params: &[(String, Value)]) -> anyhow::Result<()> {
    if params.is_empty() {
        return Ok(());
    }
    let mut u = url::Url::parse(url)?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in params {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            q.append_pair(k, &s);
        }
    }
    *url = u.to_string();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields() {
        assert_eq!(typed_value("42").unwrap(), Value::from(42));
        assert_eq!(typed_value("1.5").unwrap(), Value::from(1.5));
        assert_eq!(typed_value("true").unwrap(), Value::Bool(true));
        assert_eq!(typed_value("null").unwrap(), Value::Null);
        assert_eq!(typed_value("abc").unwrap(), Value::from("abc"));
        assert!(typed_value("@/nonexistent/file").is_err());
        assert!(split_field("=x").is_err());
    }
}
