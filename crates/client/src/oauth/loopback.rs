//! The browser half of interactive sign-in: a one-shot HTTP listener on a loopback address that
//! receives the authorization server's redirect (`?code=…&state=…` or `?oauth_token=…&
//! oauth_verifier=…`), checks that it answers *our* request (the `state` / request token), and
//! opening the user's browser (or saying the URL out loud when that is not possible).

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use crate::error::{Error, Result};

/// A bound listener for `redirect_uri` (must be `http://127.0.0.1:PORT/path` or `localhost`).
pub struct Callback {
    listener: TcpListener,
    path: String,
    pub redirect_uri: String,
}

impl Callback {
    /// Binds the redirect URI's port (port 0 or none: any free port; the URI then gets it).
    pub async fn bind(redirect_uri: &str) -> Result<Callback> {
        let mut url = Url::parse(redirect_uri).map_err(|e| {
            Error::Invalid(format!("--redirect-uri {redirect_uri:?} is not a URL: {e}"))
        })?;
        let host = url.host_str().unwrap_or("").to_string();
        if url.scheme() != "http" || !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
            return Err(Error::Invalid(format!(
                "--redirect-uri must be a loopback http URL such as http://127.0.0.1:8976/callback \
                 (cfl listens there for the browser's redirect); got {redirect_uri:?}"
            )));
        }
        let addr = format!(
            "{}:{}",
            if host == "localhost" {
                "127.0.0.1"
            } else {
                &host
            },
            url.port().unwrap_or(0)
        );
        let cannot_listen = |e| {
            Error::io(
                format!("cannot listen on {addr} for the sign-in redirect (port in use? pass another --redirect-uri)"),
                e,
            )
        };
        let listener = TcpListener::bind(&addr).await.map_err(cannot_listen)?;
        let port = listener.local_addr().map_err(cannot_listen)?.port();
        url.set_port(Some(port)).ok();
        let path = url.path().to_string();
        // Keep exactly what was registered when the port was given (servers compare strings).
        let registered_port = Url::parse(redirect_uri).ok().and_then(|u| u.port());
        let redirect_uri = if registered_port.is_some_and(|p| p != 0) {
            redirect_uri.to_string()
        } else {
            url.to_string()
        };
        Ok(Callback {
            listener,
            path,
            redirect_uri,
        })
    }

    /// Waits for the redirect and returns its query. The browser is answered with a page saying
    /// whether it worked. `expect` = (parameter, value) this redirect must carry (the `state` we
    /// sent, or the request token): a mismatch is refused — it is not an answer to our request.
    pub async fn wait(
        self,
        expect: (&str, &str),
        timeout: Duration,
    ) -> Result<HashMap<String, String>> {
        let work = async {
            loop {
                let (mut sock, _) = self
                    .listener
                    .accept()
                    .await
                    .map_err(|e| Error::io("the sign-in listener failed", e))?;
                let mut buf = vec![0u8; 16 * 1024];
                let mut n = 0;
                // Read up to the end of the request head (GET has no body).
                while n < buf.len() {
                    let m = sock.read(&mut buf[n..]).await.unwrap_or(0);
                    if m == 0 {
                        break;
                    }
                    n += m;
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let target = head
                    .lines()
                    .next()
                    .and_then(|l| l.split_whitespace().nth(1))
                    .unwrap_or("/")
                    .to_string();
                let url = Url::parse(&format!("http://127.0.0.1{target}"))
                    .unwrap_or_else(|_| Url::parse("http://127.0.0.1/").unwrap());
                if url.path() != self.path {
                    respond(
                        &mut sock,
                        404,
                        "Not found",
                        "This is cfl's sign-in listener.",
                    )
                    .await;
                    continue;
                }
                let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
                let outcome = check(&q, expect);
                match &outcome {
                    Ok(()) => {
                        respond(
                            &mut sock,
                            200,
                            "Signed in",
                            "cfl received the authorization. You can close this window.",
                        )
                        .await
                    }
                    Err(e) => respond(&mut sock, 400, "Sign-in failed", &e.to_string()).await,
                }
                return outcome.map(|_| q);
            }
        };
        tokio::time::timeout(timeout, work).await.map_err(|_| {
            Error::Request(format!(
                "no sign-in redirect arrived within {} s; run the login again",
                timeout.as_secs()
            ))
        })?
    }
}

fn check(q: &HashMap<String, String>, expect: (&str, &str)) -> Result<()> {
    if let Some(err) = q.get("error").or(q.get("oauth_problem")) {
        let desc = q.get("error_description").map(String::as_str).unwrap_or("");
        return Err(Error::Request(format!(
            "the authorization server refused: {err} {desc}"
        )));
    }
    let (name, value) = expect;
    match q.get(name) {
        Some(v) if v == value => Ok(()),
        Some(_) => Err(Error::Request(format!(
            "the redirect's {name} does not match the one cfl sent, so it is not the answer to this \
             login (a stale browser tab, or someone else's link); nothing was saved — run the login again"
        ))),
        None => Err(Error::Request(format!(
            "the redirect has no {name}; nothing was saved — run the login again"
        ))),
    }
}

async fn respond(sock: &mut tokio::net::TcpStream, status: u16, title: &str, text: &str) {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>",
        t = esc(title),
        x = esc(text)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(resp.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Opens `url` in the user's browser unless `no_browser`; always prints it, so a headless
/// session (or a failed launch) can copy it. Returns whether a browser was started.
pub fn open_browser(url: &str, no_browser: bool) -> bool {
    eprintln!("Open this URL in a browser to approve access:\n  {url}");
    if no_browser {
        return false;
    }
    let launched = if let Some(b) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        std::process::Command::new(b).arg(url).spawn().is_ok()
    } else if cfg!(target_os = "macos") {
        std::process::Command::new("open").arg(url).spawn().is_ok()
    } else if cfg!(target_os = "windows") {
        std::process::Command::new("rundll32")
            .args(["url.dll,FileProtocolHandler", url])
            .spawn()
            .is_ok()
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        std::process::Command::new("xdg-open")
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    } else {
        false
    };
    if !launched {
        eprintln!("(no browser could be opened here; open the URL on any machine that can reach this one's loopback, e.g. through ssh -L)");
    }
    launched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_must_match() {
        let q: HashMap<String, String> =
            [("code".into(), "c".into()), ("state".into(), "s1".into())].into();
        assert!(check(&q, ("state", "s1")).is_ok());
        assert!(check(&q, ("state", "s2"))
            .unwrap_err()
            .to_string()
            .contains("does not match"));
        let e: HashMap<String, String> = [("error".into(), "access_denied".into())].into();
        assert!(check(&e, ("state", "s1")).is_err());
    }
}
