//! A running server with the seeded project, for the page tests and the browser tests.

#![allow(dead_code)]

use std::time::Duration;

use coprod::store::{Role, Store};
use coprod::{serve_on, AppState};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::seed::{self, Seeded, ORGANISATION};

/// One token per role of the seeded organisation, and two of other organisations.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub recorder: String,
    pub assurance: String,
    pub panel: String,
    /// A recorder of `harrow`, the other organisation.
    pub other_recorder: String,
    /// A panel member of `harrow`.
    pub other_panel: String,
}

impl Tokens {
    pub fn as_json(&self) -> serde_json::Value {
        json!({
            "admin": self.admin, "recorder": self.recorder, "assurance": self.assurance,
            "panel": self.panel, "other_recorder": self.other_recorder, "other_panel": self.other_panel,
        })
    }
}

/// One site at a time in a test process: they share the seed's clock.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Site {
    pub base: String,
    pub store: Store,
    pub tokens: Tokens,
    pub seeded: Seeded,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Site {
    /// Serves `store` (migrated) on 127.0.0.1 with the seed's clock, and seeds it.
    pub async fn start(store: Store) -> Site {
        let turn = TURN.lock().await;
        coprod::http::metrics::handle();
        let make = |role, org: &'static str, label: &'static str| {
            let store = store.clone();
            async move {
                store
                    .create_token(role, org, label)
                    .await
                    .unwrap_or_else(|e| panic!("create {label} token: {e}"))
            }
        };
        let tokens = Tokens {
            admin: make(Role::Admin, "*", "Coprod administrator").await,
            recorder: make(Role::Recorder, ORGANISATION, "Amina (carers' team)").await,
            assurance: make(Role::Assurance, ORGANISATION, "Joe (assurance)").await,
            panel: make(Role::Panel, ORGANISATION, "Cllr Ahmed (scrutiny panel)").await,
            other_recorder: make(Role::Recorder, "harrow", "Harrow recorder").await,
            other_panel: make(Role::Panel, "harrow", "Harrow panel").await,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store.clone(), seed::clock());
        let server = tokio::spawn(serve_on(listener, state, async {
            let _ = stopped.await;
        }));
        let base = format!("http://{address}");
        let seeded = seed::seed(&base, &tokens.recorder, &tokens.other_recorder).await;
        Site {
            base,
            store,
            tokens,
            seeded,
            stop: Some(stop),
            server: Some(server),
            _turn: turn,
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            // Browsers keep connections open: do not wait for them for ever.
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}
