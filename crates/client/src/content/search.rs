//! CQL search through `/rest/api/content/search` (content objects, so results have the same
//! shape as page lists), following every next link up to the limit.

use super::{query, Content, Page};

impl Content<'_> {
    pub async fn search(&self, cql: &str, limit: Option<usize>) -> crate::error::Result<Vec<Page>> {
        if cql.trim().is_empty() {
            crate::error::invalid!(
                "empty CQL query; e.g. cfl search 'space = DEV and type = page'"
            );
        }
        let path = format!(
            "/rest/api/content/search?{}",
            query(&[("cql", cql), ("expand", "space,version")])
        );
        let all = self.collect(&path, limit).await?;
        Ok(all.iter().map(|v| self.page_from(v)).collect())
    }
}
