//! Running one scenario once per backend on a server of its own, and cleaning up whatever
//! happens: the server is stopped and the database dropped even when the scenario panics; the
//! panic is then raised again with the backend named.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use super::db::{backends, TestDb};

/// What a scenario runs against (a server and its client), started over a fresh database.
pub trait Harness: Sized {
    /// Stops the server, waiting for requests in flight; why it did not stop cleanly, if not.
    fn shut_down(self) -> impl Future<Output = Result<(), String>>;
}

/// Runs `body` once per backend (SQLite, and PostgreSQL when available: see [`backends`]) on
/// the harness `start` makes over a fresh database. Whether `body` returns or panics, the
/// harness is shut down and the database dropped; a panic then fails the test naming the
/// backend, and the backends after it are not run.
pub async fn run_on_each_backend<H, Start, Body>(start: Start, mut body: Body)
where
    H: Harness,
    Start: AsyncFn(Arc<TestDb>) -> H,
    Body: AsyncFnMut(&H),
{
    for db in backends().await {
        let backend = db.backend;
        let harness = start(Arc::new(db)).await;
        // The body's future (and any second server it started) is dropped before the shut-down.
        let outcome = catch_unwind(body(&harness)).await;
        let stopped = harness.shut_down().await;
        match (outcome, stopped) {
            (Err(panic), _) => panic!("[{backend}] {}", panic_message(panic.as_ref())),
            (Ok(()), Err(why)) => panic!("[{backend}] {why}"),
            (Ok(()), Ok(())) => {}
        }
    }
}

/// Awaits `future`, turning a panic in any of its polls into `Err` with the panic's payload.
pub async fn catch_unwind<F: Future>(future: F) -> std::thread::Result<F::Output> {
    let mut future = pin!(future);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    })
    .await
}

/// The message a panic was raised with.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_string()
    } else {
        "a panic without a message".to_string()
    }
}
