//! Adaptive concurrency for `cfl export` (AIMD, as TCP does): start at a few requests in flight,
//! add one slot per window of successful requests, halve on a 429, cut by a quarter when the
//! server says the budget is nearly spent (`X-RateLimit-Remaining` below the window, Cloud's
//! `X-RateLimit-NearLimit`), and pause everyone for the server's `Retry-After`. Bounded by
//! `--concurrency`.
//!
//! Slots are semaphore permits: growing adds one; shrinking forgets free permits at once and
//! swallows busy ones as they come back (`debt`), so in-flight requests finish undisturbed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Two halvings are at least this far apart, so one burst of 429s counts once.
const DECREASE_COOLDOWN: Duration = Duration::from_millis(1000);

pub struct Limiter {
    sem: Arc<Semaphore>,
    st: Mutex<State>,
}

struct State {
    /// The target number of slots, fractional for additive increase.
    limit: f64,
    /// Slots that exist (free permits + busy ones not owed back).
    slots: usize,
    /// Busy permits to forget when they are released.
    debt: usize,
    max: usize,
    last_decrease: Option<Instant>,
    paused_until: Option<Instant>,
    decreases: u64,
}

/// A slot; released on drop.
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    limiter: Arc<Limiter>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.limiter.state();
        if let Some(p) = self.permit.take() {
            if st.debt > 0 {
                st.debt -= 1;
                p.forget();
            }
        }
    }
}

/// What one response said about the rate budget.
#[derive(Debug, Default, Clone, Copy)]
pub struct Signal {
    pub throttled: bool,
    pub retry_after: Option<Duration>,
    pub remaining: Option<u64>,
    pub near_limit: bool,
}

impl Signal {
    pub fn from_headers(status: u16, h: &reqwest::header::HeaderMap) -> Signal {
        let num = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Signal {
            throttled: status == 429,
            retry_after: None,
            remaining: num("x-ratelimit-remaining"),
            near_limit: h
                .get("x-ratelimit-nearlimit")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

impl Limiter {
    pub fn new(start: usize, max: usize) -> Arc<Limiter> {
        let max = max.max(1);
        let start = start.clamp(1, max);
        Arc::new(Limiter {
            sem: Arc::new(Semaphore::new(start)),
            st: Mutex::new(State {
                limit: start as f64,
                slots: start,
                debt: 0,
                max,
                last_decrease: None,
                paused_until: None,
                decreases: 0,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits out a pause, then for a free slot.
    pub async fn acquire(self: &Arc<Self>) -> Slot {
        loop {
            let until = self.state().paused_until;
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        let permit = self
            .sem
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Slot {
            permit: Some(permit),
            limiter: self.clone(),
        }
    }

    /// Feeds one response's signal back.
    pub fn observe(&self, s: Signal) {
        let mut st = self.state();
        // Less budget left than one window of requests: the next window would run dry.
        let low = s.near_limit || s.remaining.is_some_and(|r| (r as usize) < st.slots);
        if s.throttled {
            if let Some(d) = s.retry_after {
                let until = Instant::now() + d;
                if st.paused_until.is_none_or(|p| p < until) {
                    st.paused_until = Some(until);
                }
            }
        }
        if s.throttled || low {
            let now = Instant::now();
            if st
                .last_decrease
                .is_none_or(|t| now.duration_since(t) >= DECREASE_COOLDOWN)
            {
                st.last_decrease = Some(now);
                st.decreases += 1;
                // A 429 halves; a warning (budget low, not yet refused) cuts by a quarter.
                let factor = if s.throttled { 0.5 } else { 0.75 };
                let target = ((st.limit * factor).floor() as usize).max(1);
                st.limit = target as f64;
                self.shrink_to(&mut st, target);
            }
        } else {
            // One more slot per `limit` successes: +1 per round trip of the whole window.
            st.limit = (st.limit + 1.0 / st.limit).min(st.max as f64);
            let target = st.limit.floor() as usize;
            while st.slots < target {
                st.slots += 1;
                if st.debt > 0 {
                    st.debt -= 1;
                } else {
                    self.sem.add_permits(1);
                }
            }
        }
    }

    fn shrink_to(&self, st: &mut State, target: usize) {
        if st.slots <= target {
            return;
        }
        let cut = st.slots - target;
        st.slots = target;
        let forgotten = self.sem.forget_permits(cut);
        st.debt += cut - forgotten;
    }

    /// The current number of slots, and how often it was cut.
    pub fn snapshot(&self) -> (usize, u64) {
        let st = self.state();
        (st.slots, st.decreases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Signal {
        Signal::default()
    }

    #[tokio::test]
    async fn grows_additively_and_halves_on_throttling() {
        let l = Limiter::new(4, 10);
        // +1/limit per success: 4 successes reach 4.92, the fifth crosses 5.
        for _ in 0..4 {
            l.observe(ok());
        }
        assert_eq!(l.snapshot().0, 4);
        l.observe(ok());
        assert_eq!(l.snapshot().0, 5);
        // Bounded by max.
        for _ in 0..200 {
            l.observe(ok());
        }
        assert_eq!(l.snapshot().0, 10);
        l.observe(Signal {
            throttled: true,
            ..ok()
        });
        assert_eq!(l.snapshot(), (5, 1));
        // A burst of 429s halves once.
        l.observe(Signal {
            throttled: true,
            ..ok()
        });
        assert_eq!(l.snapshot(), (5, 1));
    }

    #[tokio::test]
    async fn low_remaining_budget_shrinks_and_busy_slots_are_returned_late() {
        let l = Limiter::new(8, 8);
        let mut busy = Vec::new();
        for _ in 0..8 {
            busy.push(l.acquire().await);
        }
        l.observe(Signal {
            remaining: Some(3),
            ..ok()
        });
        assert_eq!(l.snapshot().0, 6);
        drop(busy);
        // Only 6 can be held at once now.
        let mut held = Vec::new();
        for _ in 0..6 {
            held.push(l.acquire().await);
        }
        assert!(tokio::time::timeout(Duration::from_millis(50), l.acquire())
            .await
            .is_err());
        drop(held);
    }

    #[tokio::test]
    async fn retry_after_pauses_new_requests() {
        let l = Limiter::new(2, 2);
        l.observe(Signal {
            throttled: true,
            retry_after: Some(Duration::from_millis(150)),
            ..ok()
        });
        let t = Instant::now();
        drop(l.acquire().await);
        assert!(t.elapsed() >= Duration::from_millis(140));
    }
}
