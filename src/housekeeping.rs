//! What a server does besides answering requests: following token revocations (see
//! `store::tokens`), and forgetting the answers to idempotency keys once they are older than
//! `store::IDEMPOTENCY_RETENTION` and the sessions past their limits, as it starts and then every
//! hour.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::Store;

/// How often a running server removes expired idempotency keys and sessions.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// Removes what has expired now (so that a server answers only after its first clean-up), then
/// every [`EVERY`], and follows token revocations, on a task of its own, which the caller aborts
/// when it stops.
pub async fn start(store: Store) -> JoinHandle<()> {
    remove_expired(&store).await;
    tokio::spawn(async move {
        let clean_up = async {
            let mut every = tokio::time::interval(EVERY);
            // The first tick is now: the clean-up just ran.
            every.tick().await;
            loop {
                every.tick().await;
                remove_expired(&store).await;
            }
        };
        tokio::join!(clean_up, store.follow_revocations());
    })
}

/// One clean-up; a failure is logged and left for the next one.
async fn remove_expired(store: &Store) {
    match store.remove_expired_idempotency_keys().await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed expired idempotency keys"),
        Err(error) => tracing::warn!(%error, "could not remove expired idempotency keys"),
    }
    match store.remove_expired_sessions().await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed expired sessions"),
        Err(error) => tracing::warn!(%error, "could not remove expired sessions"),
    }
}
