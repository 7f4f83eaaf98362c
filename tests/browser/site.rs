//! A running server with the seeded project, for the page tests and the browser tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use coprod::store::{AccessRole, Store};
use serde_json::json;

use super::seed::{self, Seeded, ORGANISATION};
use crate::kit::app::token;
use crate::kit::{run_on_each_backend, Harness, Server, TestDb};

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

pub struct Site {
    pub base: String,
    pub store: Store,
    pub tokens: Tokens,
    pub seeded: Seeded,
    /// The database, dropped once the site is gone.
    pub db: Arc<TestDb>,
    server: Server,
}

impl Site {
    /// Seeds the portfolio's projects (see [`seed::seed_portfolio`]) on this site's clock;
    /// returns how many the seeded organisation has.
    pub async fn seed_portfolio(&self) -> u64 {
        let t = &self.tokens;
        seed::seed_portfolio(
            &self.base,
            self.store.clock(),
            &t.recorder,
            &t.other_recorder,
            &t.admin,
        )
        .await
    }

    /// Serves `db` (migrated) on 127.0.0.1 with the seed's clock, and seeds it.
    pub async fn start(db: Arc<TestDb>) -> Site {
        let store = db.store_with_clock(seed::story_clock()).await;
        let tokens = Tokens {
            admin: token(&store, AccessRole::Admin, "*", "Coprod administrator").await,
            recorder: token(
                &store,
                AccessRole::Recorder,
                ORGANISATION,
                "Amina (carers' team)",
            )
            .await,
            assurance: token(
                &store,
                AccessRole::Assurance,
                ORGANISATION,
                "Joe (assurance)",
            )
            .await,
            panel: token(
                &store,
                AccessRole::Panel,
                ORGANISATION,
                "Cllr Ahmed (scrutiny panel)",
            )
            .await,
            other_recorder: token(&store, AccessRole::Recorder, "harrow", "Harrow recorder").await,
            other_panel: token(&store, AccessRole::Panel, "harrow", "Harrow panel").await,
        };
        let server = Server::start(store.clone()).await.expect("start a server");
        let base = server.base();
        let seeded = seed::seed(
            &base,
            store.clock(),
            &tokens.recorder,
            &tokens.other_recorder,
        )
        .await;
        Site {
            base,
            store,
            tokens,
            seeded,
            db,
            server,
        }
    }

    /// A one-time invitation for `participant` of the seeded project, issued by its recorder:
    /// the link's path (`/your-say/…`).
    pub async fn invite(&self, participant: &str) -> String {
        let url = format!(
            "{}/api/v1/projects/{}/participants/{participant}/invitations",
            self.base, self.seeded.project_id
        );
        let client = reqwest::Client::new();
        let issued = seed::post(&client, &url, &self.tokens.recorder, &json!({})).await;
        issued["path"]
            .as_str()
            .expect("the link's path")
            .to_string()
    }

    pub async fn stop(self) {
        let _ = self.shut_down().await;
    }
}

impl Harness for Site {
    async fn shut_down(self) -> Result<(), String> {
        // Browsers keep connections open: do not wait for them for ever.
        let _ = self.server.stop(Duration::from_secs(10)).await;
        Ok(())
    }
}

/// Runs `body` once per backend against a seeded [`Site`] of its own, stopping the server and
/// dropping the database even when `body` panics (see [`run_on_each_backend`]).
pub async fn each_site(body: impl AsyncFnMut(&Site)) {
    run_on_each_backend(Site::start, body).await;
}
