//! Who is on the other end: a connection's TCP peer, and the client a trusted proxy in front of
//! the gateway names in `X-Forwarded-For`, as the audit log writes it and the forwarding headers
//! name it to Confluence.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue};

use crate::state::Shared;
use crate::token::canonical_ip;

/// A connection's TCP peer, with what the gateway says about it (its address as the audit log
/// writes it, the forwarding headers) built once per connection instead of for each request.
pub struct Peer {
    pub addr: SocketAddr,
    ip: IpAddr,
    text: String,
    /// Whether the client connected over TLS (the scheme the forwarding headers name).
    https: bool,
    forwarding: Forwarding,
}

/// The client as the current request's audit record and forwarding headers name it.
pub struct Client {
    pub ip: IpAddr,
    pub text: String,
    pub forwarding: Forwarding,
}

/// `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` for one client.
#[derive(Clone)]
pub struct Forwarding {
    pub for_: HeaderValue,
    pub forwarded: HeaderValue,
    pub proto: HeaderValue,
}

impl Forwarding {
    fn new(ip: IpAddr, text: &str, https: bool) -> Forwarding {
        let proto = if https { "https" } else { "http" };
        // RFC 7239: an IPv6 node is quoted and bracketed.
        let forwarded = match ip {
            IpAddr::V4(_) => format!("for={text};proto={proto}"),
            IpAddr::V6(_) => format!("for=\"[{text}]\";proto={proto}"),
        };
        // An address's text is always a valid header value; "unknown" is RFC 7239's word for
        // a client the proxy can't name.
        let value = |v: String| {
            HeaderValue::try_from(v).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
        };
        Forwarding {
            for_: value(text.to_string()),
            forwarded: value(forwarded),
            proto: HeaderValue::from_static(proto),
        }
    }
}

impl Peer {
    pub fn new(addr: SocketAddr, https: bool) -> Peer {
        let ip = canonical_ip(addr.ip());
        let text = ip.to_string();
        Peer {
            addr,
            ip,
            forwarding: Forwarding::new(ip, &text, https),
            text,
            https,
        }
    }

    /// The client (see [`client_ip`]): this peer, or the client a trusted proxy names.
    pub fn client(&self, gw: &Shared, headers: &HeaderMap) -> Client {
        let ip = client_ip(gw, self.ip, headers);
        if ip == self.ip {
            return Client {
                ip,
                text: self.text.clone(),
                forwarding: self.forwarding.clone(),
            };
        }
        let text = ip.to_string();
        Client {
            ip,
            forwarding: Forwarding::new(ip, &text, self.https),
            text,
        }
    }
}

/// What a trusted proxy in front of the gateway says the client reached: the scheme
/// (`X-Forwarded-Proto`) and host (`X-Forwarded-Host`), each only if the proxy set it. A TLS-
/// terminating load balancer makes the gateway's public origin https although it is reached over
/// plain HTTP. From any other peer both are ignored: a client could name any origin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardedOrigin {
    pub https: Option<bool>,
    pub host: Option<String>,
}

pub fn forwarded_origin(gw: &Shared, peer: IpAddr, headers: &HeaderMap) -> ForwardedOrigin {
    if !is_trusted_proxy(gw, canonical_ip(peer)) {
        return ForwardedOrigin::default();
    }
    // The last value is the one the trusted peer itself set (a proxy that appends keeps what
    // the client sent before it).
    let last = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .map(str::to_string)
    };
    let https = last("x-forwarded-proto").and_then(|p| match p.to_ascii_lowercase().as_str() {
        "https" => Some(true),
        "http" => Some(false),
        _ => None,
    });
    // Only a plain `host[:port]`: it becomes part of an origin and a URL.
    let host = last("x-forwarded-host").filter(|h| {
        url::Url::parse(&format!("http://{h}/"))
            .is_ok_and(|u| u.host_str().is_some() && u.path() == "/" && u.username().is_empty())
            && !h.contains(['/', '@', '?', '#', '\\'])
    });
    ForwardedOrigin { https, host }
}

fn is_trusted_proxy(gw: &Shared, ip: IpAddr) -> bool {
    gw.config
        .proxy
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&ip))
}

/// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer
/// is a trusted proxy.
pub fn client_ip(gw: &Shared, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = canonical_ip(peer);
    let trusted = |ip: &IpAddr| {
        gw.config
            .proxy
            .trusted_proxies
            .iter()
            .any(|n| n.contains(ip))
    };
    if !trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok().map(canonical_ip))
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}
