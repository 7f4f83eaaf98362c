//! Concurrent appends to one project through two server instances sharing one database: nothing
//! lost, no gap, no duplicate, and every receipt verifies.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinSet;

use crate::helpers::*;

const WRITERS: usize = 40;

/// Posts `body` until it is accepted; a 409 `conflict` (another process kept winning the race)
/// is retried, as docs/api.md asks of clients. Returns the receipt and how many conflicts were seen.
async fn post_until_accepted(
    client: reqwest::Client,
    url: String,
    token: String,
    body: Value,
) -> (Value, u32) {
    let mut conflicts = 0;
    loop {
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        match status {
            201 => return (serde_json::from_str(&text).expect("receipt"), conflicts),
            409 if text.contains("\"code\":\"conflict\"") && conflicts < 50 => {
                conflicts += 1;
                tokio::time::sleep(Duration::from_millis(5 * u64::from(conflicts))).await;
            }
            _ => panic!("POST {url}: {status} {text}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_concurrent_appends_through_two_servers_all_land_in_one_gapless_verified_chain() {
    each_backend(async |first| {
        // SQLite shares one file between the two pools (WAL mode, busy timeout): it runs the same
        // scenario; the store maps a lost race (unique key) to a retry there too.
        let second = first.another_server().await;
        let id = first.new_project().await;

        let mut writers = JoinSet::new();
        for i in 1..=WRITERS {
            let server = if i % 2 == 0 { first } else { &second };
            writers.spawn(post_until_accepted(
                server.client.clone(),
                format!("{}/api/v1/projects/{id}/events", server.base),
                server.tokens.recorder.clone(),
                joined(&format!("p{i}"), "lived_experience", &[]),
            ));
        }
        let mut receipts = Vec::new();
        let mut conflicts = 0;
        while let Some(done) = writers.join_next().await {
            let (receipt, seen) = done.expect("writer task");
            conflicts += seen;
            receipts.push(receipt);
        }
        eprintln!(
            "[{}] {WRITERS} concurrent appends through two servers: {conflicts} client retries",
            first.backend
        );
        assert_eq!(receipts.len(), WRITERS);

        // Every receipt names one entry, and together they are 2..=41.
        let mut sequences: Vec<u64> = receipts
            .iter()
            .map(|r| {
                assert_eq!(r["first_sequence"], r["last_sequence"], "{r}");
                r["first_sequence"].as_u64().unwrap()
            })
            .collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (2..=WRITERS as u64 + 1).collect::<Vec<_>>());

        // The trail, read through either server, is 1..=41 with every participant once.
        for app in [first, &second] {
            let trail = app.trail(&id).await;
            let trail_sequences: Vec<u64> = trail
                .iter()
                .map(|e| e["sequence"].as_u64().unwrap())
                .collect();
            assert_eq!(
                trail_sequences,
                (1..=WRITERS as u64 + 1).collect::<Vec<_>>()
            );
            let participants: BTreeSet<String> = trail[1..]
                .iter()
                .map(|e| e["data"]["participant_id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(participants.len(), WRITERS);
            // Each receipt's digest is the one stored with its entry.
            for receipt in &receipts {
                let sequence = receipt["last_sequence"].as_u64().unwrap() as usize;
                assert_eq!(trail[sequence - 1]["digest"], receipt["digest"]);
                assert_eq!(trail[sequence - 1]["recorded_at"], receipt["recorded_at"]);
            }
        }

        // Every acknowledged receipt verifies, and so does the whole chain.
        for (i, receipt) in receipts.iter().enumerate() {
            let app = if i % 2 == 0 { first } else { &second };
            let check = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!(
                        "/projects/{id}/verify?sequence={}&digest={}",
                        receipt["last_sequence"],
                        receipt["digest"].as_str().unwrap()
                    ),
                )
                .await
                .json_with(200);
            assert_eq!(
                check["valid"], true,
                "[{}] {receipt} → {check}",
                first.backend
            );
        }
        for app in [first, &second] {
            let whole = app
                .get(
                    Some(&app.tokens.assurance),
                    &format!("/projects/{id}/verify"),
                )
                .await
                .json_with(200);
            assert_eq!(whole["valid"], true, "{whole}");
            assert_eq!(whole["sequence"], WRITERS as u64 + 1);
            assert_eq!(whole["first_divergence"], Value::Null);
        }

        // Both servers' views caught up with every append.
        for app in [first, &second] {
            let summary = app.summary(&id).await;
            assert_eq!(summary["sequence"], WRITERS as u64 + 1);
            assert_eq!(
                summary["participants_by_kind"]["lived_experience"]["count"],
                WRITERS as u64
            );
            let listed = app
                .get(Some(&app.tokens.admin), "/projects")
                .await
                .json_with(200);
            assert_eq!(listed["projects"][0]["sequence"], WRITERS as u64 + 1);
        }
        second.stop().await;
    })
    .await;
}

/// Sends the same POST with the same `Idempotency-Key` from many tasks at once, spread over
/// `apps`; returns every (status, body).
async fn same_key_at_once(
    apps: &[&TestApp],
    id: &str,
    key: &str,
    copies: usize,
) -> Vec<(u16, String)> {
    let mut tasks = JoinSet::new();
    for i in 0..copies {
        let app = apps[i % apps.len()];
        let request = app
            .client
            .post(format!("{}/api/v1/projects/{id}/events", app.base))
            .bearer_auth(&app.tokens.recorder)
            .header("idempotency-key", key)
            // A fact the rules let be recorded twice: only the key can stop a second append.
            .json(&role_taken("p1", "learner"));
        tasks.spawn(async move {
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("task"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_retries_with_one_idempotency_key_append_once_and_get_one_answer() {
    each_backend(async |app| {
        let id = app.new_project().await;
        app.record(&id, joined("p1", "professional", &[])).await;
        let answers = same_key_at_once(&[app], &id, "retry-storm", 12).await;
        let first = &answers[0];
        assert_eq!(first.0, 201, "{}", first.1);
        for answer in &answers {
            assert_eq!(
                answer, first,
                "[{}] every retry gets the first answer",
                app.backend
            );
        }
        app.assert_sequence(&id, 3, "12 simultaneous retries").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_retries_through_two_servers_append_once() {
    each_backend(async |first| {
        let second = first.another_server().await;
        let id = first.new_project().await;
        first.record(&id, joined("p1", "professional", &[])).await;
        let answers = same_key_at_once(&[first, &second], &id, "retry-storm", 12).await;
        let sequence = first.sequence(&id).await;
        assert_eq!(
            sequence,
            3,
            "[{}] 12 simultaneous retries through two servers appended {} entries: {answers:?}",
            first.backend,
            sequence - 2
        );
        for answer in &answers {
            assert_eq!(
                answer, &answers[0],
                "[{}] one answer for one key",
                first.backend
            );
        }
        second.stop().await;
    })
    .await;
}
