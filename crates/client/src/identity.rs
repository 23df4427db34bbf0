//! Who the server says we are (`GET /rest/api/user/current`). An anonymous answer is a failure:
//! Cloud with anonymous access answers bad credentials without a challenge, and DC answers an
//! invalid PAT as anonymous when anonymous access is on (CONFSERVER-98199).

use crate::http::Client;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Identity {
    pub display_name: String,
    /// DC `username`, Cloud `email` or `accountId`.
    pub login: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

pub async fn whoami(client: &Client) -> crate::error::Result<Identity> {
    let url = client.url("/rest/api/user/current")?;
    let r = client.send("GET", &url, &[], None).await?;
    if !r.is_success() {
        return Err(client.refusal(&r, ""));
    }
    let v = r.json()?;
    if v["type"].as_str() == Some("anonymous") {
        // Anonymous is how a refused credential looks on such a site: a refusal, like a 401.
        return Err(crate::Error::Http {
            status: 401,
            explanation: format!(
                "the server answered as an anonymous user, so the credential was not accepted \
                 (this site allows anonymous access, which hides the refusal).\n{}",
                client.explain_401(None, None)
            ),
        });
    }
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let login = s("username")
        .or_else(|| s("email"))
        .or_else(|| s("accountId"))
        .unwrap_or_default();
    Ok(Identity {
        display_name: s("displayName").unwrap_or_else(|| login.clone()),
        login,
        account_id: s("accountId"),
    })
}
