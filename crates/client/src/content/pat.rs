//! Data Center personal access tokens (`/rest/pat/latest/tokens`): list, create, revoke. The
//! answers come back whole, refusals included, because `cfl pat` explains the PAT API's own
//! errors (token limit, expiry bounds).

use serde_json::json;

use super::{segment, Content};
use crate::http::Response;

const TOKENS: &str = "/rest/pat/latest/tokens";

impl Content<'_> {
    /// The caller's tokens (a JSON array on success).
    pub async fn pat_list(&self) -> crate::error::Result<Response> {
        let url = self.client.url(TOKENS)?;
        self.client.send("GET", &url, &[], None).await
    }

    /// A new token called `name`, expiring after `days` (the server's default when `None`);
    /// the answer holds `rawToken`, shown only this once.
    pub async fn pat_create(
        &self,
        name: &str,
        days: Option<i64>,
    ) -> crate::error::Result<Response> {
        let url = self.client.url(TOKENS)?;
        let mut body = json!({"name": name});
        if let Some(d) = days {
            body["expirationDuration"] = d.into();
        }
        self.client
            .send(
                "POST",
                &url,
                &[("Content-Type".into(), "application/json".into())],
                Some(serde_json::to_vec(&body).map_err(|e| crate::Error::internal(&e))?),
            )
            .await
    }

    pub async fn pat_revoke(&self, id: &str) -> crate::error::Result<Response> {
        let url = self.client.url(&format!("{TOKENS}/{}", segment(id)))?;
        self.client.send("DELETE", &url, &[], None).await
    }
}
