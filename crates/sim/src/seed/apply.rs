//! Builds the simulator's world from a checked [`Seed`].

use std::collections::HashMap;

use super::Seed;
use crate::model::{Attachment, Content, ContentId, Db, Space};

/// Fills `db` (users already in) with the seed's spaces, pages and attachments. Ids are handed
/// out in file order, so the same seed always yields the same ids.
pub fn apply(db: &mut Db, seed: &Seed, now_ms: i64) {
    let default_author = db
        .users
        .first()
        .map(|u| u.name.clone())
        .unwrap_or_else(|| "admin".into());
    for (n, s) in seed.spaces.iter().enumerate() {
        let ids: HashMap<&str, ContentId> = s
            .pages
            .iter()
            .map(|p| (p.title.as_str(), db.alloc_id()))
            .collect();
        let mut siblings: HashMap<Option<ContentId>, i64> = HashMap::new();
        for p in &s.pages {
            let id = ids[p.title.as_str()];
            let parent = p.parent.as_deref().map(|t| ids[t]);
            let position = siblings.entry(parent).or_default();
            let author = p.author.clone().unwrap_or_else(|| default_author.clone());
            db.content.insert(
                id,
                Content {
                    id,
                    kind: p.kind.clone(),
                    status: "current".into(),
                    title: p.title.clone(),
                    space_key: s.key.clone(),
                    parent_id: parent,
                    body_storage: p.body.clone(),
                    version: 1,
                    created_at: now_ms,
                    updated_at: now_ms,
                    author: author.clone(),
                    last_modifier: author.clone(),
                    labels: p.labels.clone(),
                    position: *position,
                },
            );
            *position += 1;
            for a in &p.attachments {
                let att = db.alloc_id();
                db.attachments.insert(
                    att,
                    Attachment {
                        id: att,
                        container_id: id,
                        title: a.name.clone(),
                        media_type: a.media_type.clone(),
                        comment: String::new(),
                        data: a.data.clone(),
                        version: 1,
                        created_at: now_ms,
                        author: author.clone(),
                    },
                );
            }
        }
        let homepage = match &s.homepage {
            Some(t) => Some(ids[t.as_str()]),
            None => s
                .pages
                .iter()
                .find(|p| p.parent.is_none() && p.kind == "page")
                .map(|p| ids[p.title.as_str()]),
        };
        db.spaces.insert(
            s.key.clone(),
            Space {
                id: 98_304 + n as u64,
                key: s.key.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                homepage_id: homepage,
                created_at: now_ms,
            },
        );
    }
}
