//! Expiry warnings: every `check_interval_seconds`, tokens expiring within `days_before` days are
//! announced once — a warning in the log and, when configured, a webhook POST:
//! `{"event": "token.expiring", "token": {...}, "expiresAt": ms, "daysLeft": n}`. The store's
//! conditional update decides which replica sends, so a warning goes out exactly once.

use std::time::Duration;

use serde_json::json;

use crate::state::Shared;

const DAY_MS: i64 = 86_400_000;

pub async fn run(gw: Shared) {
    let every = Duration::from_secs(gw.config.expiry_warnings.check_interval_seconds);
    let mut tick = tokio::time::interval(every);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .ok();
    loop {
        tick.tick().await;
        if let Err(e) = check_once(&gw, http.as_ref()).await {
            tracing::warn!(error = %e, "expiry warning check failed; will retry");
        }
    }
}

async fn check_once(gw: &Shared, http: Option<&reqwest::Client>) -> anyhow::Result<()> {
    let now = gw.now_ms();
    let horizon = now + gw.config.expiry_warnings.days_before * DAY_MS;
    for t in gw.store.tokens_to_warn(now, horizon).await? {
        if !gw.store.claim_expiry_warning(&t.id, now).await? {
            continue; // another replica took it
        }
        let expires = t.expires_at.unwrap_or(now);
        let days_left = ((expires - now) as f64 / DAY_MS as f64).ceil() as i64;
        tracing::warn!(token = %t.id, label = %t.label, user = t.user.as_deref().unwrap_or("(any)"), days_left, "token expires soon");
        let (Some(url), Some(http)) = (&gw.config.expiry_warnings.webhook_url, http) else {
            continue;
        };
        let body = json!({
            "event": "token.expiring",
            "token": {"id": t.id, "label": t.label, "user": t.user, "createdBy": t.created_by},
            "expiresAt": expires,
            "daysLeft": days_left,
        });
        match http.post(url).json(&body).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                tracing::warn!(token = %t.id, status = %r.status(), "expiry webhook refused the warning")
            }
            Err(e) => tracing::warn!(token = %t.id, error = %e, "expiry webhook unreachable"),
        }
    }
    Ok(())
}
