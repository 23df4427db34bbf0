//! The simulator's starting world: the config's accounts, then the seed's content or, without a
//! seed, the generated demo. Here rather than in `model` so the data model does not depend on the
//! seed loader (which builds on the model).

use crate::config::SimConfig;
use crate::model::Db;

/// A fresh database for this config (at start and on `/__sim/reset`).
pub fn build(config: &SimConfig, now_ms: i64) -> Db {
    let mut db = Db::with_accounts(config, now_ms);
    match &config.seed_content {
        Some(content) => crate::seed::apply::apply(&mut db, content, now_ms),
        None => db.seed_demo(config, now_ms),
    }
    db
}
