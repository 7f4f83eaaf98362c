//! What a server does besides answering requests: forgetting the answers to idempotency keys
//! once they are older than `store::IDEMPOTENCY_RETENTION`, as it starts and then every hour.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::Store;

/// How often a running server removes expired idempotency keys.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// Removes the expired idempotency keys now (so that a server answers only after its first
/// clean-up), then every [`EVERY`] on a task of its own, which the caller aborts when it stops.
pub async fn start(store: Store) -> JoinHandle<()> {
    remove_expired(&store).await;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        // The first tick is now: the clean-up just ran.
        every.tick().await;
        loop {
            every.tick().await;
            remove_expired(&store).await;
        }
    })
}

/// One clean-up; a failure is logged and left for the next one.
async fn remove_expired(store: &Store) {
    match store.remove_expired_idempotency_keys().await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed expired idempotency keys"),
        Err(error) => tracing::warn!(%error, "could not remove expired idempotency keys"),
    }
}
