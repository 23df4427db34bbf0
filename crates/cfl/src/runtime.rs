//! The async runtime the client commands run on: one thread is plenty for a CLI request.

use anyhow::Context;

/// A current-thread runtime with I/O and timers enabled.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
