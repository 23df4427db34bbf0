//! The simulator's in-memory world: users, spaces, content, attachments and issued credentials.
//!
//! One `Db` behind one mutex: the simulator favours obviously-correct state over throughput.
//! Handlers lock, read or mutate, and unlock before any `.await`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::{Flavor, SeedConfig, SimConfig, UserConfig};

pub type ContentId = u64;

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// DC user key (stable, opaque).
    pub key: String,
    /// Cloud account id.
    pub account_id: String,
    pub display_name: String,
    pub email: String,
    pub password: Option<String>,
    pub admin: bool,
    pub api_tokens: Vec<String>,
    pub scoped_tokens: Vec<(String, Vec<String>)>,
}

impl User {
    fn from_config(c: &UserConfig) -> User {
        let digest = hex(&Sha256::digest(c.name.to_lowercase().as_bytes()));
        User {
            name: c.name.clone(),
            key: format!("8a7f808a{}", &digest[..24]),
            account_id: format!(
                "557058:{}-{}-{}-{}-{}",
                &digest[0..8],
                &digest[8..12],
                &digest[12..16],
                &digest[16..20],
                &digest[20..32]
            ),
            display_name: c.display_name.clone(),
            email: c.email.clone(),
            password: c.password.clone(),
            admin: c.admin,
            api_tokens: c.api_tokens.clone(),
            scoped_tokens: c
                .scoped_tokens
                .iter()
                .map(|t| (t.token.clone(), t.scopes.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Space {
    pub id: u64,
    pub key: String,
    pub name: String,
    pub description: String,
    pub homepage_id: Option<ContentId>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Content {
    pub id: ContentId,
    /// "page", "blogpost" or (Cloud) "folder". A page's or folder's parent may be a page or a
    /// folder; folders have no body.
    pub kind: String,
    pub status: String,
    pub title: String,
    pub space_key: String,
    pub parent_id: Option<ContentId>,
    pub body_storage: String,
    pub version: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub author: String,
    pub last_modifier: String,
    pub labels: Vec<String>,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: ContentId,
    pub container_id: ContentId,
    pub title: String,
    pub media_type: String,
    pub comment: String,
    pub data: Bytes,
    pub version: u32,
    pub created_at: i64,
    pub author: String,
}

/// A comment on a page or blog post (v1 `type: comment`; v2 footer or inline comment).
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: ContentId,
    pub container_id: ContentId,
    /// A reply's parent comment.
    pub parent_comment: Option<ContentId>,
    pub body_storage: String,
    /// "footer" or "inline".
    pub location: String,
    /// An inline comment's selected text (empty for footer comments).
    pub selection: String,
    pub version: u32,
    pub created_at: i64,
    pub author: String,
}

/// A content or space property: a JSON value under a key, versioned like Confluence's.
#[derive(Debug, Clone)]
pub struct Property {
    pub id: u64,
    pub value: serde_json::Value,
    pub version: u32,
    pub updated_at: i64,
    pub author: String,
}

/// A page version that has been replaced by an update, for history and version lists.
#[derive(Debug, Clone)]
pub struct OldVersion {
    pub number: u32,
    pub when: i64,
    pub by: String,
    pub title: String,
    pub message: String,
}

/// A finished background job (Cloud's archive), for `GET /rest/api/longtask/{id}`.
#[derive(Debug, Clone)]
pub struct LongTask {
    /// The job's name key, e.g. `com.atlassian.confluence.pages.archive.longtask`.
    pub key: String,
    pub started_ms: i64,
    pub finished_ms: i64,
}

/// A DC personal access token, stored hashed like the real one.
#[derive(Debug, Clone)]
pub struct Pat {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: i64,
    /// None: an eternal token.
    pub expiring_at: Option<i64>,
    pub last_accessed_at: Option<i64>,
}

/// Everything that changes while the simulator runs.
#[derive(Debug, Default)]
pub struct Db {
    pub users: Vec<User>,
    pub spaces: BTreeMap<String, Space>,
    pub content: BTreeMap<ContentId, Content>,
    pub attachments: BTreeMap<ContentId, Attachment>,
    pub pats: Vec<Pat>,
    pub comments: BTreeMap<ContentId, Comment>,
    /// Content properties by (content id, key).
    pub properties: BTreeMap<(ContentId, String), Property>,
    /// Space properties by (space key, key).
    pub space_properties: BTreeMap<(String, String), Property>,
    /// Replaced versions of each page, oldest first (the current one lives on the page).
    pub old_versions: HashMap<ContentId, Vec<OldVersion>>,
    /// Long tasks by id.
    pub long_tasks: BTreeMap<String, LongTask>,
    pub next_id: u64,
    pub next_pat_id: u64,
    /// Free-form per-feature state (sessions, OAuth grants, nonces) lives in the auth modules'
    /// own stores; this map lets them stay out of this file.
    pub counters: HashMap<&'static str, u64>,
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hash used for every stored secret (PATs, issued OAuth tokens): the simulator never keeps raw ones.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

impl Db {
    /// The accounts from the config (users and their PATs), no content yet; [`crate::world::build`]
    /// adds the content.
    pub fn with_accounts(config: &SimConfig, now_ms: i64) -> Db {
        let mut db = Db {
            users: config.users.iter().map(User::from_config).collect(),
            next_id: 65_536,
            next_pat_id: 1,
            ..Db::default()
        };
        for user in &config.users {
            for pat in &user.pats {
                let id = db.next_pat_id;
                db.next_pat_id += 1;
                db.pats.push(Pat {
                    id,
                    owner: user.name.clone(),
                    name: pat.name.clone(),
                    token_hash: secret_hash(&pat.token),
                    created_at: now_ms,
                    expiring_at: pat.expires_in_days.map(|d| now_ms + d * 86_400_000),
                    last_accessed_at: None,
                });
            }
        }
        db
    }

    /// The generated demo content (spaces, pages; folders on Cloud), for a simulator without a seed.
    pub fn seed_demo(&mut self, config: &SimConfig, now_ms: i64) {
        seed(self, &config.seed, now_ms);
        if config.flavor == Flavor::Cloud {
            seed_folders(self, now_ms);
        }
    }

    pub fn alloc_id(&mut self) -> ContentId {
        self.next_id += 1;
        self.next_id
    }

    /// Finds a user by username (DC) — case-insensitive like Confluence.
    pub fn user_by_name(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }

    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn user_by_account_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == id)
    }

    pub fn user_by_key(&self, key: &str) -> Option<&User> {
        self.users.iter().find(|u| u.key == key)
    }

    /// The kind of a content id (`page`, `folder`, ...), for v2's `parentType`.
    pub fn kind_of(&self, id: ContentId) -> Option<&str> {
        self.content.get(&id).map(|c| c.kind.as_str())
    }

    /// Direct children of any kind (pages and folders), siblings by position.
    pub fn children_of(&self, parent: ContentId) -> Vec<&Content> {
        let mut v: Vec<&Content> = self
            .content
            .values()
            .filter(|c| c.parent_id == Some(parent) && c.status == "current")
            .collect();
        v.sort_by_key(|c| (c.position, c.id));
        v
    }

    /// Ancestors from the root down to the direct parent.
    pub fn ancestors_of(&self, id: ContentId) -> Vec<&Content> {
        let mut chain = Vec::new();
        let mut cur = self.content.get(&id).and_then(|c| c.parent_id);
        while let Some(pid) = cur {
            match self.content.get(&pid) {
                Some(p) if chain.len() < 1000 => {
                    chain.push(p);
                    cur = p.parent_id;
                }
                _ => break,
            }
        }
        chain.reverse();
        chain
    }
}

const WORDS: &[&str] = &[
    "deploy",
    "gateway",
    "token",
    "rotation",
    "cluster",
    "backup",
    "release",
    "incident",
    "schema",
    "upgrade",
    "metrics",
    "latency",
    "storage",
    "network",
    "policy",
    "audit",
    "review",
    "budget",
    "roadmap",
    "onboarding",
];

/// Generates `spaces x pages_per_space` pages in a tree of the configured fan-out. The same
/// config always yields the same ids, titles, bodies, labels and attachments.
fn seed(db: &mut Db, seed: &SeedConfig, now_ms: i64) {
    let author = db
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "admin".into());
    for s in 0..seed.spaces {
        let key = space_key(s);
        let home_id = seed_space(db, s, &key, &author, now_ms);
        // Page i's parent is page (i-1)/fanout, page 0's parent the home page: a balanced tree.
        let mut ids: Vec<ContentId> = Vec::with_capacity(seed.pages_per_space);
        for i in 0..seed.pages_per_space {
            let id = db.alloc_id();
            let parent = if i == 0 || seed.fanout == 0 {
                home_id
            } else {
                ids[(i - 1) / seed.fanout]
            };
            let w1 = WORDS[(s * 7 + i) % WORDS.len()];
            let w2 = WORDS[(s * 3 + i * 5 + 1) % WORDS.len()];
            let labels = if seed.labels.is_empty() || i % 2 == 1 {
                vec![]
            } else {
                vec![seed.labels[i / 2 % seed.labels.len()].clone()]
            };
            db.content.insert(
                id,
                Content {
                    id,
                    kind: "page".into(),
                    status: "current".into(),
                    title: format!("{} {} {}", capitalise(w1), w2, i + 1),
                    space_key: key.clone(),
                    parent_id: Some(parent),
                    body_storage: format!(
                        "<h1>{t}</h1><p>Notes about {w1} and {w2} for page {n} of {key}.</p>\
                         <ul><li>{w1}</li><li>{w2}</li></ul>\
                         <ac:structured-macro ac:name=\"code\"><ac:parameter ac:name=\"language\">bash</ac:parameter>\
                         <ac:plain-text-body><![CDATA[echo {w1}-{n}]]></ac:plain-text-body></ac:structured-macro>",
                        t = capitalise(w1),
                        n = i + 1
                    ),
                    version: 1 + (i % 3) as u32,
                    created_at: now_ms,
                    updated_at: now_ms,
                    author: author.clone(),
                    last_modifier: author.clone(),
                    labels,
                    position: i as i64,
                },
            );
            ids.push(id);
            if seed.attachment_every > 0 && i % seed.attachment_every == 0 {
                let att_id = db.alloc_id();
                let data = format!("attachment of page {id}: {w1} {w2}\n").repeat(8);
                db.attachments.insert(
                    att_id,
                    Attachment {
                        id: att_id,
                        container_id: id,
                        title: format!("{w1}-{}.txt", i + 1),
                        media_type: "text/plain".into(),
                        comment: String::new(),
                        data: Bytes::from(data),
                        version: 1,
                        created_at: now_ms,
                        author: author.clone(),
                    },
                );
            }
        }
    }
}

/// Generated space number `s` with its home page; returns the home page's id.
fn seed_space(db: &mut Db, s: usize, key: &str, author: &str, now_ms: i64) -> ContentId {
    let space_id = 98_304 + s as u64;
    let home_id = db.alloc_id();
    let home = Content {
        id: home_id,
        kind: "page".into(),
        status: "current".into(),
        title: format!("{key} Home"),
        space_key: key.to_string(),
        parent_id: None,
        body_storage: format!(
            "<p>Welcome to the <strong>{key}</strong> space.</p><ac:structured-macro ac:name=\"children\" />"
        ),
        version: 1,
        created_at: now_ms,
        updated_at: now_ms,
        author: author.to_string(),
        last_modifier: author.to_string(),
        labels: vec![],
        position: 0,
    };
    db.content.insert(home_id, home);
    db.spaces.insert(
        key.to_string(),
        Space {
            id: space_id,
            key: key.to_string(),
            name: format!("Space {}", s + 1),
            description: format!("Seeded space number {}", s + 1),
            homepage_id: Some(home_id),
            created_at: now_ms,
        },
    );
    home_id
}

/// Cloud's content tree also holds folders: in the first space, a folder under the home page
/// with two pages and a nested folder holding one more page; three of those pages carry an
/// attachment (one binary). Allocated after the generated pages so their ids stay as they were.
fn seed_folders(db: &mut Db, now_ms: i64) {
    let Some(space) = db.spaces.values().next().cloned() else {
        return;
    };
    let author = db
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "admin".into());
    let add = |db: &mut Db, kind: &str, title: &str, parent: Option<ContentId>, body: &str| {
        let id = db.alloc_id();
        let position = parent.map(|p| db.children_of(p).len() as i64).unwrap_or(0);
        db.content.insert(
            id,
            Content {
                id,
                kind: kind.into(),
                status: "current".into(),
                title: title.into(),
                space_key: space.key.clone(),
                parent_id: parent,
                body_storage: body.into(),
                version: 1,
                created_at: now_ms,
                updated_at: now_ms,
                author: author.clone(),
                last_modifier: author.clone(),
                labels: vec![],
                position,
            },
        );
        id
    };
    let folder = add(db, "folder", "Runbooks", space.homepage_id, "");
    let restart = add(
        db,
        "page",
        "Restart the gateway",
        Some(folder),
        "<p>Restart with <code>systemctl restart cfl</code>.</p>",
    );
    let rotate = add(
        db,
        "page",
        "Rotate tokens",
        Some(folder),
        "<p>Rotate every 90 days.</p>",
    );
    let archive = add(db, "folder", "Archive", Some(folder), "");
    let old = add(
        db,
        "page",
        "Old runbook",
        Some(archive),
        "<p>Kept for reference.</p>",
    );
    // A tiny PNG signature plus bytes that are not UTF-8, so binary handling is exercised.
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0u8..=255).rev())
        .collect();
    for (page, name, media, data) in [
        (
            restart,
            "restart.sh",
            "text/x-sh",
            b"systemctl restart cfl\n".to_vec(),
        ),
        (rotate, "rotation.png", "image/png", png),
        (old, "old notes.txt", "text/plain", b"superseded\n".to_vec()),
    ] {
        let id = db.alloc_id();
        db.attachments.insert(
            id,
            Attachment {
                id,
                container_id: page,
                title: name.into(),
                media_type: media.into(),
                comment: String::new(),
                data: Bytes::from(data),
                version: 1,
                created_at: now_ms,
                author: author.clone(),
            },
        );
    }
}

/// SPACE1 → "DEV", "OPS", … then "S10", "S11": short, valid Confluence keys.
fn space_key(i: usize) -> String {
    const KEYS: &[&str] = &[
        "DEV", "OPS", "HR", "DOCS", "SEC", "QA", "DATA", "MKT", "SALES",
    ];
    KEYS.get(i)
        .map(|k| k.to_string())
        .unwrap_or_else(|| format!("S{i}"))
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_deterministic_and_shaped_as_configured() {
        let cfg =
            SimConfig::parse("flavor = \"dc\"\n[seed]\nspaces = 3\npages_per_space = 20").unwrap();
        let a = crate::world::build(&cfg, 0);
        let b = crate::world::build(&cfg, 0);
        assert_eq!(a.spaces.len(), 3);
        // 20 pages + 1 home page per space
        assert_eq!(a.content.len(), 63);
        let titles = |db: &Db| {
            db.content
                .values()
                .map(|c| c.title.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(titles(&a), titles(&b));
        // Every page except the home pages has an existing parent in the same space.
        for c in a.content.values() {
            if let Some(p) = c.parent_id {
                assert_eq!(a.content[&p].space_key, c.space_key);
            }
        }
    }
}
