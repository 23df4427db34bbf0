//! Labels on a page: list (Cloud: v2), add (several at once) and remove (v1 on both: Cloud has
//! no v2 for them).

use serde::Serialize;
use serde_json::{json, Value};

use super::{id_string, segment, Api, Content, ContentError, V2};

/// A label, as `cfl label list --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    pub id: String,
    pub name: String,
    /// `global`, `my` or `team`.
    pub prefix: String,
}

fn label_from(v: &Value) -> Label {
    Label {
        id: id_string(&v["id"]),
        name: v["name"].as_str().unwrap_or("").to_string(),
        prefix: v["prefix"].as_str().unwrap_or("global").to_string(),
    }
}

/// Checks a label name before sending it (Confluence refuses spaces and these characters).
pub fn check_label(name: &str) -> Result<(), ContentError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ContentError::Invalid("a label cannot be empty".into()));
    }
    if let Some(c) = n
        .chars()
        .find(|c| c.is_whitespace() || ":;,.?&[]()#^*@!<>'\"".contains(*c))
    {
        return Err(ContentError::Invalid(format!(
            "label {name:?} contains {c:?}; labels are single words without punctuation (use - or _)"
        )));
    }
    Ok(())
}

impl Content<'_> {
    pub async fn labels(&self, page_id: &str) -> crate::error::Result<Vec<Label>> {
        let path = match self.api {
            Api::V1 => format!("/rest/api/content/{}/label", segment(page_id)),
            Api::CloudV2 => format!("{V2}/pages/{}/labels", segment(page_id)),
        };
        let all = self.collect(&path, None).await?;
        Ok(all.iter().map(label_from).collect())
    }

    /// Adds labels; returns the page's labels afterwards.
    pub async fn add_labels(
        &self,
        page_id: &str,
        names: &[String],
    ) -> crate::error::Result<Vec<Label>> {
        for n in names {
            check_label(n)?;
        }
        let body: Vec<Value> = names
            .iter()
            .map(|n| json!({"prefix": "global", "name": n.trim()}))
            .collect();
        self.call(
            "POST",
            &format!("/rest/api/content/{}/label", segment(page_id)),
            Some(&Value::Array(body)),
        )
        .await?;
        self.labels(page_id).await
    }

    pub async fn remove_label(&self, page_id: &str, name: &str) -> crate::error::Result<()> {
        self.call(
            "DELETE",
            &format!(
                "/rest/api/content/{}/label/{}",
                segment(page_id),
                segment(name.trim())
            ),
            None,
        )
        .await?;
        Ok(())
    }
}
