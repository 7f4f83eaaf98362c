//! The views are caches of the log: rebuilding them from the events gives what the live
//! catch-up gave (docs/architecture.md, invariant 1).

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuilt_views_equal_the_live_ones() {
    each_backend(async |app| {
        let rich = rich_project(app).await;
        app.record(&rich, correction(9)).await;
        app.record(
            &rich,
            batch(&[
                joined("p3", "carer", &["young carers"]),
                stage_started("design"),
                json!({"type": "stage_completed", "stage": "design", "occurred_on": DAY}),
            ]),
        )
        .await;
        let closing = app.new_project_titled("Short project").await;
        app.record(&closing, joined("p1", "elected_member", &[]))
            .await;
        app.record(&closing, closed()).await;
        let bucks = app
            .register_as(&app.tokens.bucks, &registration("Bucks carers", "bucks"))
            .await
            .json_with(201)["project_id"]
            .as_str()
            .unwrap()
            .to_string();
        app.post(
            Some(&app.tokens.bucks),
            &format!("/projects/{bucks}/events"),
            &joined("b1", "carer", &[]),
        )
        .await
        .expect(201);

        let admin = Some(app.tokens.admin.as_str());
        let live_list = app.get(admin, "/projects").await.expect(200);
        let live_filtered = app
            .get(admin, "/projects?organisation=oxfordshire&status=closed")
            .await
            .expect(200);
        let mut live_summaries = Vec::new();
        for id in [&rich, &closing, &bucks] {
            live_summaries.push(
                app.get(admin, &format!("/projects/{id}"))
                    .await
                    .expect(200)
                    .body,
            );
        }
        assert_eq!(live_list.json()["projects"].as_array().unwrap().len(), 3);

        let applied = app
            .store
            .rebuild_views(&|_, _| {})
            .await
            .expect("rebuild views");
        assert_eq!(applied, 15 + 3 + 2, "every event of every project");

        let rebuilt_list = app.get(admin, "/projects").await.expect(200);
        assert_eq!(
            rebuilt_list.text(),
            live_list.text(),
            "[{}] GET /projects",
            app.backend
        );
        let rebuilt_filtered = app
            .get(admin, "/projects?organisation=oxfordshire&status=closed")
            .await
            .expect(200);
        assert_eq!(rebuilt_filtered.text(), live_filtered.text());
        for (id, live) in [&rich, &closing, &bucks].into_iter().zip(&live_summaries) {
            let rebuilt = app.get(admin, &format!("/projects/{id}")).await.expect(200);
            assert_eq!(&rebuilt.body, live, "[{}] GET /projects/{id}", app.backend);
        }

        // And the live catch-up goes on from the rebuilt checkpoint.
        app.record(&rich, joined("p4", "lived_experience", &[]))
            .await;
        assert_eq!(app.summary(&rich).await["sequence"], 16);
        let listed = app.get(admin, "/projects?status=open").await.json_with(200);
        let rich_view = listed["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["project_id"] == rich.as_str())
            .cloned()
            .expect("listed");
        assert_eq!(rich_view["sequence"], 16);
    })
    .await;
}
