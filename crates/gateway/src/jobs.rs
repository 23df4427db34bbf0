//! Periodic background jobs (usage flushes, checkpoints) and how their failures are logged.

use std::time::Duration;

use crate::state::Shared;

/// How often a job that keeps failing is logged again.
const REPEAT_FAILURE_LOG: Duration = Duration::from_secs(60);

/// Keeps a periodic job's failures from flooding the log: the first failure is logged, then one
/// line a minute while it keeps failing, and one when it works again.
#[derive(Default)]
struct FailureLog {
    /// When the last failure line was written, while failing.
    logged_at: Option<std::time::Instant>,
    /// Failures since then, not yet logged.
    unlogged: u64,
    failures: u64,
}

impl FailureLog {
    /// A failure: `Some(n)` when it should be logged, `n` counting the unlogged ones before it.
    fn failed(&mut self, now: std::time::Instant) -> Option<u64> {
        self.failures += 1;
        match self.logged_at {
            Some(at) if now.duration_since(at) < REPEAT_FAILURE_LOG => {
                self.unlogged += 1;
                None
            }
            _ => {
                self.logged_at = Some(now);
                Some(std::mem::take(&mut self.unlogged))
            }
        }
    }

    /// A success: `Some(failures)` when it ends a run of failures.
    fn succeeded(&mut self) -> Option<u64> {
        self.logged_at = None;
        self.unlogged = 0;
        Some(std::mem::take(&mut self.failures)).filter(|&n| n > 0)
    }
}

/// Runs `job` every `period` until aborted; a failure is logged (see [`FailureLog`]) and the next
/// tick tries again.
pub(crate) fn spawn_every<F>(
    period: Duration,
    what: &'static str,
    gw: Shared,
    job: impl Fn(Shared) -> F + Send + 'static,
) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        let mut log = FailureLog::default();
        loop {
            tick.tick().await;
            match job(gw.clone()).await {
                Ok(()) => {
                    if let Some(n) = log.succeeded() {
                        tracing::info!(failures = n, "{what} works again");
                    }
                }
                Err(e) => {
                    if let Some(unlogged) = log.failed(std::time::Instant::now()) {
                        tracing::warn!(error = %e, unlogged_failures = unlogged, "{what} failed; will retry");
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_failing_every_tick_is_logged_once_a_minute_and_when_it_recovers() {
        let mut log = FailureLog::default();
        let t0 = std::time::Instant::now();
        assert_eq!(log.failed(t0), Some(0), "the first failure is logged");
        // Every 100 ms for the next minute: nothing more.
        for i in 1..600 {
            assert_eq!(log.failed(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(log.failed(t0 + Duration::from_secs(60)), Some(599));
        assert_eq!(log.succeeded(), Some(601));
        assert_eq!(
            log.succeeded(),
            None,
            "a success after a success says nothing"
        );
        assert_eq!(
            log.failed(t0 + Duration::from_secs(61)),
            Some(0),
            "a new run of failures is logged at once"
        );
    }
}
