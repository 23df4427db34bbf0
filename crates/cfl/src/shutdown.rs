//! Waiting for the signal that ends a long-running command (`cfl serve`, `--demo`, `cfl sim`).

/// Ctrl-C or SIGTERM.
pub async fn wait_for_signal() -> anyhow::Result<()> {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = ctrl_c => r?,
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await?;
    Ok(())
}
