//! The one place where the tests and the benchmarks start Coprod's HTTP server in their own
//! process: on 127.0.0.1, on a port of its own, until it is stopped (or dropped).

use std::net::SocketAddr;
use std::time::Duration;

use coprod::store::Store;
use coprod::{serve_on_with, AppState, ConnectionLimits};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running on a task of the current runtime.
pub struct Server {
    pub address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serves `store` (on the store's own clock), with the metrics recorder installed first, as
    /// `coprod serve` does.
    pub async fn start(store: Store) -> std::io::Result<Server> {
        coprod::http::metrics::handle();
        Server::start_without_metrics(store).await
    }

    /// Serves `store`, recording no metrics (the benchmarks measure without them).
    pub async fn start_without_metrics(store: Store) -> std::io::Result<Server> {
        Server::start_app(AppState::new(store)).await
    }

    /// Serves `store` under `limits` (the tests of the limits make them short and small).
    pub async fn start_with_limits(
        store: Store,
        limits: ConnectionLimits,
    ) -> std::io::Result<Server> {
        Server::start_app_with_limits(AppState::new(store), limits).await
    }

    /// Serves the application as given (the demo's, say), recording no metrics.
    pub async fn start_app(state: AppState) -> std::io::Result<Server> {
        Server::start_app_with_limits(state, ConnectionLimits::default()).await
    }

    /// [`Server::start_app`] under `limits`.
    pub async fn start_app_with_limits(
        state: AppState,
        limits: ConnectionLimits,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_on_with(listener, state, limits, async {
            let _ = stopped.await;
        }));
        Ok(Server {
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops taking requests and waits up to `patience` for those in flight to finish; why the
    /// server did not stop cleanly, if it did not.
    pub async fn stop(mut self, patience: Duration) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(patience, task).await {
            Err(_) => Err(format!("the server did not stop within {patience:?}")),
            Ok(Err(joined)) => Err(format!("the server task: {joined}")),
            Ok(Ok(Err(served))) => Err(format!("the server: {served}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }
}

/// A server that was not stopped (its test panicked) stops at once.
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
