//! What the admin API takes and answers, as types: the handlers (de)serialize exactly these, and
//! `/admin/v1/openapi.json` is derived from them, so the document can't drift from the wire.
//! Each view is built by taking its record apart field by field: a field added to a record
//! doesn't compile until it is shown here (or deliberately left out).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{AuditRecord, Word};
use crate::token::{NewToken, Token, Unusable};

/// Every refusal: a stable code for scripts and a message saying what was wrong and how to fix
/// it (`proxy::refusal::Refusal` writes it).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// e.g. `invalid_json`, `token_not_found`, `admin_required`
    pub error: String,
    pub message: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Revoked,
    Expired,
}

/// A token as the API shows it (never its secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Token)]
pub struct TokenView {
    #[schema(example = "tok_3kF9aZ1qLm0P")]
    pub id: String,
    pub label: String,
    /// The Confluence user the token acts as; null: any user (static identity only).
    pub user: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub created_by: String,
    /// Epoch milliseconds; null: never.
    pub expires_at: Option<i64>,
    /// Restriction rules, one per entry.
    pub restrictions: Vec<String>,
    /// Addresses and CIDR blocks; empty: any.
    pub ip_allowlist: Vec<String>,
    /// null: no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// Requests made with the token, including those not yet flushed to the store.
    pub use_count: i64,
    /// Epoch milliseconds; null: never used.
    pub last_used_at: Option<i64>,
    /// Epoch milliseconds; null: not revoked.
    pub revoked_at: Option<i64>,
    pub status: TokenStatus,
}

impl TokenView {
    /// `pending`: uses and the last use not yet flushed to the store; `now`: epoch ms.
    pub fn new(token: &Token, pending: (i64, i64), now: i64) -> TokenView {
        let status = match token.usable_at(now) {
            Ok(()) => TokenStatus::Active,
            Err(Unusable::Revoked) => TokenStatus::Revoked,
            Err(Unusable::Expired) => TokenStatus::Expired,
        };
        let Token {
            id,
            label,
            user,
            secret_hash: _,
            created_at,
            created_by,
            expires_at,
            restrictions,
            ip_allowlist,
            rate_limit_per_minute,
            use_count,
            last_used_at,
            revoked_at,
        } = token.clone();
        let (pending_uses, pending_last) = pending;
        TokenView {
            id,
            label,
            user,
            created_at,
            created_by,
            expires_at,
            restrictions,
            ip_allowlist,
            rate_limit_per_minute,
            use_count: use_count + pending_uses,
            last_used_at: if pending_last > last_used_at.unwrap_or(0) {
                Some(pending_last)
            } else {
                last_used_at
            },
            revoked_at,
            status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// A new token. Give `expiresAt` or `daysUntilExpiry`, not both; neither: it never expires.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewToken)]
pub struct CreateTokenRequest {
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub label: String,
    /// The Confluence username the token acts as (no `:` or control characters).
    #[serde(default)]
    #[schema(pattern = r"^[^:\x00-\x1F\x7F-\x9F]*$")]
    pub user: Option<String>,
    /// Epoch milliseconds, in the future: a past one is refused (400 `invalid_token_request`).
    #[serde(default)]
    #[schema(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub days_until_expiry: Option<i64>,
    /// Rule lines: `[METHOD]URL-REGEX[QueryParam::name==regex][JsonData::node==regex]`; one that
    /// doesn't parse is refused (400 `invalid_token_request`, naming the line).
    #[serde(default)]
    pub restrictions: Vec<String>,
    /// Addresses or CIDR blocks, v4 or v6; anything else is refused (400).
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4294967295i64)]
    pub rate_limit_per_minute: Option<u32>,
    /// An admin-chosen secret (Extender compatibility): at least 20 characters, no `:` or
    /// white space. Omit it for a generated one.
    #[serde(default)]
    #[schema(min_length = 20, pattern = r"^[^:\s]*$")]
    pub token: Option<String>,
}

impl From<CreateTokenRequest> for NewToken {
    fn from(r: CreateTokenRequest) -> NewToken {
        let CreateTokenRequest {
            label,
            user,
            expires_at,
            days_until_expiry,
            restrictions,
            ip_allowlist,
            rate_limit_per_minute,
            token,
        } = r;
        NewToken {
            label,
            user,
            expires_at,
            days_until_expiry,
            restrictions,
            ip_allowlist,
            rate_limit_per_minute,
            token,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenView,
    /// The token's secret: shown this once, never again.
    pub secret: String,
    pub note: String,
    /// Present when Confluence says it does not know the token's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// `GET /admin/v1/audit`'s filters.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records at or after this time (epoch ms).
    #[param(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub from: Option<i64>,
    /// Records before this time (epoch ms).
    #[param(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub to: Option<i64>,
    pub token_id: Option<String>,
    /// The bound user or the actor.
    pub user: Option<String>,
    /// `allow` or `deny`.
    pub decision: Option<String>,
    /// `proxy` or `admin`.
    pub kind: Option<String>,
    /// Records with `seq` below this (paging backwards: pass the last page's `nextBefore`).
    #[param(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub before: Option<i64>,
    /// Records per page, 1 to 1000 (default 100; out of range values are clamped).
    #[param(minimum = -9223372036854775808i64, maximum = 9223372036854775807i64)]
    pub limit: Option<i64>,
    /// `json` (default) or `jsonl` (one record a line, `application/x-ndjson`).
    #[param(inline)]
    pub format: Option<AuditFormat>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    Json,
    Jsonl,
}

impl AuditQuery {
    pub fn filter(&self) -> crate::store::audit::AuditFilter {
        crate::store::audit::AuditFilter {
            from: self.from,
            to: self.to,
            token_id: self.token_id.clone(),
            user: self.user.clone(),
            decision: self.decision.clone(),
            kind: self.kind.clone(),
            before: self.before,
            limit: self.limit,
        }
    }
}

/// One audit record, linked to the one before by `prevHash`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditRecord)]
pub struct AuditRecordView {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Epoch milliseconds.
    pub at: i64,
    /// `proxy` or `admin`.
    #[schema(value_type = String)]
    pub kind: Word,
    /// The bound user for proxied calls, the admin for admin actions.
    #[schema(value_type = String)]
    pub actor: Word,
    /// null: no token was involved.
    pub token_id: Option<String>,
    pub bound_user: Option<String>,
    #[schema(value_type = String)]
    pub method: Word,
    /// The normalised path, or the admin action (e.g. `token.create`).
    pub path: String,
    /// `allow` or `deny`.
    #[schema(value_type = String)]
    pub decision: Word,
    #[schema(value_type = String)]
    pub reason: Word,
    pub status: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub latency_us: i64,
    pub client_ip: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> AuditRecordView {
        let AuditRecord {
            seq,
            at,
            kind,
            actor,
            token_id,
            bound_user,
            method,
            path,
            decision,
            reason,
            status,
            request_bytes,
            response_bytes,
            latency_us,
            client_ip,
            prev_hash,
            hash,
        } = r;
        AuditRecordView {
            seq,
            at,
            kind: kind.as_str().into(),
            actor,
            token_id,
            bound_user,
            method,
            path,
            decision: decision.as_str().into(),
            reason,
            status,
            request_bytes,
            response_bytes,
            latency_us,
            client_ip,
            prev_hash,
            hash,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    /// Newest first.
    pub records: Vec<AuditRecordView>,
    /// Pass as `before` for the next (older) page; null: this was the last.
    pub next_before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyReport {
    /// Whether every record's hash and link to the one before hold.
    pub ok: bool,
    /// Records checked (up to the first problem).
    pub checked: u64,
    /// The first problem found; absent when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A request to try against rules: a token's (`tokenId`) or rules given here (`restrictions`,
/// the admin page's tester); one of the two is required, and `tokenId` wins.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckRequest {
    pub token_id: Option<String>,
    pub restrictions: Option<Vec<String>>,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The path with its query, as a client would send it.
    pub path: String,
    /// A JSON body, for `JsonData` conditions.
    pub body: Option<Value>,
}

#[derive(Serialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckAnswer {
    pub decision: Verdict,
    /// The rule that allows it (1-based); null when denied or when there are no rules.
    pub rule: Option<usize>,
    /// Why not. Only with `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The path as the proxy checks it; absent when the path itself is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized_path: Option<String>,
}

/// Who this admin request runs as (`GET /admin/v1/session`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Session)]
pub struct SessionView {
    /// How the admin proved who they are: `oidc` (a sign-in), `token` (a gateway admin token)
    /// or `confluence` (a Confluence admin's Basic credentials).
    #[schema(example = "oidc")]
    pub via: String,
    /// The provider's subject, the admin token's id, or the Confluence user.
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub role: crate::admin::roles::Role,
    /// What the role may do: `tokens:read`, `tokens:write`, `audit:read`, `admin`.
    #[schema(example = json!(["tokens:read", "tokens:write"]))]
    pub permissions: Vec<String>,
    /// For a session sent as a cookie: the `X-CSRF-Token` every request but GET/HEAD/OPTIONS
    /// must carry (with an `Origin` of this gateway).
    pub csrf_token: Option<String>,
    /// When a session ends (Unix seconds); null for admin tokens and Confluence credentials.
    pub expires_at: Option<i64>,
}

/// A signed-out session.
#[derive(Serialize, ToSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}

/// A new gateway admin token (`POST /admin/v1/admin-tokens`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdminTokenRequest {
    /// Whose or what the admin token is.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: String,
    /// What the token may do; `admin` is everything.
    pub role: crate::admin::roles::Role,
}

/// A created admin token; its secret is in this answer only.
#[derive(Serialize, ToSchema)]
pub struct CreatedAdminToken {
    #[schema(example = "adm_3kF9aZ1qLm0P")]
    pub id: String,
    pub label: String,
    pub role: crate::admin::roles::Role,
    pub secret: String,
}

/// A revoked admin token.
#[derive(Serialize, ToSchema)]
pub struct RevokedAdminToken {
    pub id: String,
    pub revoked: bool,
}
