//! The master key (docs/architecture.md, invariant 8): a wrong or missing key stops `coprod` before it serves, the
//! first start of a database writes a key file only its owner can read, rotation re-wraps the
//! data keys without touching a single event, and subject export reads across projects.

mod kit;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use coprod::store::{MasterKey, MasterKeyRefused, Store};
use coprod_domain::{
    CommandContext, Fact, ParticipantJoined, ParticipantKind, Personal, ProjectCommand,
    ProjectEvent, ProjectRegistered,
};
use kit::{TestDb, TEST_MASTER_KEY};
use uuid::Uuid;

const OTHER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// `coprod --database URL ARGS…` with the master key from `key` (none: from the key file).
fn coprod(db: &TestDb, key: Option<&str>, key_file: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coprod"));
    command
        .arg("--database")
        .arg(&db.url)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("COPROD_MASTER_KEY")
        .env_remove("COPROD_NEW_MASTER_KEY")
        .env("COPROD_MASTER_KEY_FILE", key_file)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = key {
        command.env("COPROD_MASTER_KEY", key);
    }
    command
}

/// Runs `coprod serve`, which must stop by itself (it is refused) within 30 seconds.
fn serve_refused(mut command: Command) -> Output {
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .spawn()
        .expect("start coprod serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("coprod serve kept running with a master key it should refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

async fn project_with_groups(store: &Store, groups: &[&str]) -> Uuid {
    let project_id = Uuid::new_v4();
    let context = CommandContext {
        recorded_by: "test".into(),
        recorded_at: chrono::Utc::now(),
    };
    let registration = ProjectRegistered {
        project_id,
        title: "Keys".into(),
        organisation: "oxfordshire".into(),
        organisation_name: None,
        service_area: "carers".into(),
        description: None,
        priority_groups: vec![],
        started_on: chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
        declared_level: None,
        serves: None,
    };
    store
        .execute(
            project_id,
            ProjectCommand::Register {
                registration,
                context: context.clone(),
            },
        )
        .await
        .expect("register");
    let join = Fact::ParticipantJoined(ParticipantJoined {
        participant_id: "p1".into(),
        kind: ParticipantKind::Carer,
        groups: groups
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .into(),
        occurred_on: chrono::NaiveDate::from_ymd_opt(2025, 1, 7).unwrap(),
        lived_experience: None,
    });
    store
        .execute(
            project_id,
            ProjectCommand::Record {
                facts: vec![join],
                batch: false,
                expected_sequence: None,
                context,
            },
        )
        .await
        .expect("join");
    project_id
}

fn groups_of(events: &[coprod_domain::RecordedEvent]) -> Personal<Vec<String>> {
    events
        .iter()
        .find_map(|e| match &e.event {
            ProjectEvent::ParticipantJoined(j) => Some(j.groups.clone()),
            _ => None,
        })
        .expect("a join")
}

#[tokio::test]
async fn a_wrong_or_missing_master_key_stops_the_server_before_it_serves() {
    for db in kit::backends().await {
        db.store().await; // the database now knows the test key
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("master.key");

        let wrong = serve_refused(coprod(&db, Some(OTHER_KEY), &missing, &[]));
        let stderr = String::from_utf8_lossy(&wrong.stderr);
        assert_eq!(wrong.status.code(), Some(2), "[{}] {stderr}", db.backend);
        assert!(
            stderr.contains("is not the one"),
            "[{}] {stderr}",
            db.backend
        );

        let absent = serve_refused(coprod(&db, None, &missing, &[]));
        let stderr = String::from_utf8_lossy(&absent.stderr);
        assert_eq!(absent.status.code(), Some(2), "[{}] {stderr}", db.backend);
        assert!(
            stderr.contains("does not exist"),
            "[{}] {stderr}",
            db.backend
        );
        assert!(
            !missing.exists(),
            "no new key is made for a database that has one"
        );

        let malformed = serve_refused(coprod(&db, Some("not a key"), &missing, &[]));
        let stderr = String::from_utf8_lossy(&malformed.stderr);
        assert_eq!(
            malformed.status.code(),
            Some(2),
            "[{}] {stderr}",
            db.backend
        );
        assert!(
            stderr.contains("64 hexadecimal digits"),
            "[{}] {stderr}",
            db.backend
        );

        // In the library too: the store refuses the wrong key.
        let store = Store::connect(&db.url).await.unwrap();
        let refused = store.unlock(MasterKey::parse(OTHER_KEY).unwrap()).await;
        assert!(
            matches!(refused, Err(MasterKeyRefused::WrongKey { .. })),
            "{refused:?}"
        );
    }
}

#[tokio::test]
async fn the_first_start_writes_a_key_file_only_its_owner_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let db = kit::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keys").join("master.key");
    let created = coprod(&db, None, &key_file, &["migrate"]).output().unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let first = coprod(&db, None, &key_file, &["rebuild"]).output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(MasterKey::parse(&text).is_ok(), "{text}");
    let again = coprod(&db, None, &key_file, &["rebuild"]).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        text,
        "the key is kept"
    );

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = coprod(&db, None, &key_file, &["rebuild"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&open.stderr);
    assert_eq!(open.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_data_keys_without_touching_events() {
    for db in kit::backends().await {
        let store = db.store().await;
        let project = project_with_groups(&store, &["carers", "Somali community"]).await;
        let stored_before = store.entries(project, 0, None).await.unwrap();

        // Key file mode: a new key is generated and the file replaced.
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("master.key");
        std::fs::write(&key_file, TEST_MASTER_KEY).unwrap();
        std::fs::set_permissions(
            &key_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let rotated = coprod(&db, None, &key_file, &["keys", "rotate"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&rotated.stderr);
        assert!(rotated.status.success(), "[{}] {stderr}", db.backend);
        assert!(stderr.contains("re-wrapped 1 data key "), "{stderr}");
        let new_key = std::fs::read_to_string(&key_file).unwrap();
        assert_ne!(new_key.trim(), TEST_MASTER_KEY);

        let stored_after = store.entries(project, 0, None).await.unwrap();
        assert_eq!(stored_before, stored_after, "rotation touches no event");

        let old = Store::connect(&db.url).await.unwrap();
        let refused = old.unlock(kit::test_master_key()).await;
        assert!(
            matches!(refused, Err(MasterKeyRefused::WrongKey { .. })),
            "{refused:?}"
        );
        let new = Store::connect(&db.url).await.unwrap();
        new.unlock(MasterKey::parse(&new_key).unwrap())
            .await
            .unwrap();
        let events = new.recorded_events(project).await.unwrap();
        assert_eq!(
            groups_of(&events),
            Personal::Clear(vec!["carers".to_string(), "Somali community".to_string()])
        );

        // Environment mode: the new key comes from COPROD_NEW_MASTER_KEY.
        let mut command = coprod(&db, Some(new_key.trim()), &key_file, &["keys", "rotate"]);
        let output = command
            .env("COPROD_NEW_MASTER_KEY", OTHER_KEY)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let third = Store::connect(&db.url).await.unwrap();
        third
            .unlock(MasterKey::parse(OTHER_KEY).unwrap())
            .await
            .unwrap();
        let events = third.recorded_events(project).await.unwrap();
        assert!(groups_of(&events).is_clear());

        // Subject export reads every project with the key.
        let export = coprod(&db, Some(OTHER_KEY), &key_file, &["subject-export", "p1"])
            .output()
            .unwrap();
        assert!(
            export.status.success(),
            "{}",
            String::from_utf8_lossy(&export.stderr)
        );
        let document: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
        assert_eq!(document["participant_id"], "p1");
        assert_eq!(document["projects"][0]["project_id"], project.to_string());
        assert_eq!(
            document["projects"][0]["entries"][0]["event"]["groups"],
            serde_json::json!(["carers", "Somali community"])
        );
    }
}
