//! The kit itself: a scenario that fails still stops its server and removes its database, and
//! its failure names the backend.

use std::sync::{Arc, Mutex};

use crate::helpers::*;
use crate::kit::{catch_unwind, panic_message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_scenario_stops_its_server_removes_its_database_and_names_the_backend() {
    let seen: Arc<Mutex<Option<(String, std::path::PathBuf)>>> = Arc::default();
    let failed = catch_unwind(each_backend(async |app| {
        let id = app.new_project().await;
        let dir = app
            .db
            .sqlite_dir()
            .expect("SQLite runs first")
            .to_path_buf();
        *seen.lock().unwrap() = Some((app.base.clone(), dir));
        app.assert_sequence(&id, 2, "a registration on purpose")
            .await;
    }))
    .await;

    let message = panic_message(failed.expect_err("the scenario fails").as_ref());
    assert!(message.starts_with("[sqlite] "), "{message}");
    assert!(message.contains("a registration on purpose"), "{message}");
    let (base, dir) = seen.lock().unwrap().clone().expect("the scenario ran");
    assert!(!dir.exists(), "{} is still there", dir.display());
    let answer = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(answer.is_err(), "the server still answers: {answer:?}");
}
