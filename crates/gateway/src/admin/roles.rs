//! Roles and what each may do: the one place an admin request's permission is decided
//! (`require_admin` asks [`required`] for every request). A route missing from the table needs
//! `admin`, so a new endpoint is closed to the lesser roles until it is listed here.

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// What an admin credential may do, strongest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Create, revoke and list tokens (optionally only for some users).
    TokenManager,
    /// Read and verify the audit log, read tokens.
    Auditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    TokensRead,
    TokensWrite,
    AuditRead,
    /// Everything else: admin tokens, and routes not in the table.
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TokensRead => "tokens:read",
            Permission::TokensWrite => "tokens:write",
            Permission::AuditRead => "audit:read",
            Permission::Admin => "admin",
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::TokenManager => "token-manager",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "token-manager" => Some(Role::TokenManager),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[TokensRead, TokensWrite, AuditRead, Admin],
            Role::TokenManager => &[TokensRead, TokensWrite],
            Role::Auditor => &[TokensRead, AuditRead],
        }
    }

    pub fn may(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request needs; `None`: any signed-in admin (who am I, sign out).
pub fn required(method: &Method, path: &str) -> Option<Permission> {
    use Permission::*;
    let read = matches!(*method, Method::GET | Method::HEAD);
    let path = path.trim_end_matches('/');
    if let Some(rest) = path.strip_prefix("/admin/v1") {
        return match rest {
            "/session" => None,
            "/tokens" if read => Some(TokensRead),
            "/tokens" if *method == Method::POST => Some(TokensWrite),
            "/check" if *method == Method::POST => Some(TokensRead),
            "/audit" | "/audit/verify" if read => Some(AuditRead),
            p if p.starts_with("/tokens/") => {
                let sub = &p["/tokens/".len()..];
                match (sub.contains('/'), method) {
                    (false, _) if read => Some(TokensRead),
                    (false, &Method::DELETE) => Some(TokensWrite),
                    // `/tokens/{id}/rotate`
                    (true, &Method::POST) if sub.ends_with("/rotate") => Some(TokensWrite),
                    _ => Some(Admin),
                }
            }
            _ => Some(Admin),
        };
    }
    match path {
        "/rest/extender/1.0/tokenTools/get" => Some(TokensRead),
        "/rest/extender/1.0/tokenTools/set" | "/rest/extender/1.0/tokenTools/delete" => {
            Some(TokensWrite)
        }
        _ => Some(Admin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_each_role_its_routes_and_nothing_else() {
        let may =
            |role: Role, m: Method, p: &str| required(&m, p).is_none_or(|need| role.may(need));
        assert!(may(Role::Auditor, Method::GET, "/admin/v1/tokens"));
        assert!(may(Role::Auditor, Method::GET, "/admin/v1/audit/verify"));
        assert!(!may(Role::Auditor, Method::POST, "/admin/v1/tokens"));
        assert!(!may(
            Role::Auditor,
            Method::DELETE,
            "/admin/v1/tokens/tok_1"
        ));
        assert!(may(Role::TokenManager, Method::POST, "/admin/v1/tokens"));
        assert!(may(
            Role::TokenManager,
            Method::POST,
            "/admin/v1/tokens/tok_1/rotate"
        ));
        assert!(!may(Role::TokenManager, Method::GET, "/admin/v1/audit"));
        assert!(!may(
            Role::TokenManager,
            Method::POST,
            "/admin/v1/admin-tokens"
        ));
        assert!(may(Role::Auditor, Method::DELETE, "/admin/v1/session"));
        // Unlisted routes need admin.
        assert!(!may(
            Role::TokenManager,
            Method::PUT,
            "/admin/v1/something-new"
        ));
        assert!(may(Role::Admin, Method::PUT, "/admin/v1/something-new"));
    }
}
