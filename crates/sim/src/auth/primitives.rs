//! Small helpers the credential stores share: poison-tolerant locking, constant-time comparison and
//! case-insensitive prefixes. A leaf, so `auth` can call the stores and the stores these helpers.

use std::sync::{Mutex, MutexGuard};

/// Locks an auth map; a poisoned lock only means a handler panicked, the data is still usable.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn starts_with_ci(h: &str, prefix: &str) -> bool {
    h.len() >= prefix.len()
        && h.is_char_boundary(prefix.len())
        && h[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Constant-time string comparison (the simulator should not be a timing oracle either).
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
