//! Participants' data keys (docs/architecture.md, invariant 8): created when their first personal field is stored,
//! used to seal that field before the entry is hashed, to open it again when it is read, and
//! deleted when their data is erased (crypto-shredding). The master key that wraps them is given
//! to the store once ([`Keys::unlock`]) and checked against the database's canary; rotating it
//! re-wraps every data key ([`Keys::rotate`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use coprod_domain::personal::{self, personal_field, Personal};
use coprod_domain::recorded::format_instant;
use coprod_domain::{ProjectEvent, RecordedEvent, SealedValue};
use serde_json::Value;

use super::crypto::{DataKey, MasterKey};
use super::db::{on_db, Db};
use super::error::StoreError;
use crate::clock::Clock;

/// Why a master key cannot be used with this database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyRefused {
    #[error(
        "the master key {given} is not the one this database's personal data is encrypted under \
         ({expected}): start with the right COPROD_MASTER_KEY or key file; nothing was served"
    )]
    WrongKey { given: String, expected: String },
    #[error("{0}")]
    Store(String),
}

/// Data keys made while sealing the entries of one commit, to be stored with them.
#[derive(Default)]
pub(crate) struct NewKeys {
    made: BTreeMap<String, (DataKey, NewKey)>,
    /// Participants known to have no stored key (joining a project for the first time).
    keyless: BTreeSet<String>,
}

impl NewKeys {
    pub(crate) fn for_keyless(keyless: BTreeSet<String>) -> NewKeys {
        NewKeys {
            made: BTreeMap::new(),
            keyless,
        }
    }

    /// The rows to insert into `participant_keys`.
    pub(crate) fn into_rows(self) -> Vec<NewKey> {
        self.made.into_values().map(|(_, row)| row).collect()
    }
}

/// A `participant_keys` row: a new data key, wrapped by the master key.
pub(crate) struct NewKey {
    pub(crate) project_id: String,
    pub(crate) participant_id: String,
    pub(crate) wrapped_key: String,
    pub(crate) master_key_id: String,
    pub(crate) created_at: String,
}

/// The data keys of one database, and the master key once it is given.
#[derive(Clone)]
pub(crate) struct Keys {
    db: Db,
    master: Arc<OnceLock<MasterKey>>,
    /// When keys are made, and when the master key was adopted or rotated.
    clock: Clock,
}

impl Keys {
    pub(crate) fn new(db: Db, clock: Clock) -> Keys {
        Keys {
            db,
            master: Arc::new(OnceLock::new()),
            clock,
        }
    }

    /// A key for `purpose` derived from the master key ([`MasterKey::derive`]), once it is given.
    pub(crate) fn derived(&self, purpose: &str) -> Option<[u8; 32]> {
        self.master.get().map(|master| master.derive(purpose))
    }

    fn master(&self) -> Result<&MasterKey, StoreError> {
        self.master.get().ok_or_else(|| {
            StoreError::Internal(
                "personal data needs the master key, and none was given to the store".into(),
            )
        })
    }

    /// Checks `master` against the database (a fresh database adopts it) and keeps it.
    pub(crate) async fn unlock(&self, master: MasterKey) -> Result<(), MasterKeyRefused> {
        let store = |e: StoreError| MasterKeyRefused::Store(e.to_string());
        let sql = "INSERT INTO master_key_check (id, master_key_id, canary, updated_at) \
                   VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING";
        let now = format_instant(self.clock.now());
        on_db!(&self.db, |pool| {
            sqlx::query(sql)
                .bind(master.id())
                .bind(master.canary())
                .bind(&now)
                .execute(pool)
                .await
                .map_err(|e| store(e.into()))?;
        });
        let (expected, canary) = self.check_row().await.map_err(store)?;
        if !master.opens_canary(&canary) {
            return Err(MasterKeyRefused::WrongKey {
                given: master.id().to_string(),
                expected,
            });
        }
        let _ = self.master.set(master);
        Ok(())
    }

    /// The id of the master key this database's data keys are wrapped by, if it has one yet.
    pub(crate) async fn recorded_master_key(&self) -> Result<Option<String>, StoreError> {
        let sql = "SELECT master_key_id FROM master_key_check WHERE id = 1";
        let row: Option<(String,)> = on_db!(&self.db, |pool| sqlx::query_as(sql)
            .fetch_optional(pool)
            .await?);
        Ok(row.map(|(id,)| id))
    }

    async fn check_row(&self) -> Result<(String, String), StoreError> {
        let sql = "SELECT master_key_id, canary FROM master_key_check WHERE id = 1";
        let row: Option<(String, String)> = on_db!(&self.db, |pool| sqlx::query_as(sql)
            .fetch_optional(pool)
            .await?);
        row.ok_or_else(|| StoreError::Internal("the master key check row is missing".into()))
    }

    /// The data key of a participant: the one stored, the one made earlier in this commit, or a
    /// new one, which `new_keys` keeps for the commit to store in its own transaction (so that a
    /// key is stored exactly when an entry sealed with it is).
    async fn data_key_for_writing(
        &self,
        project_id: &str,
        participant_id: &str,
        new_keys: &mut NewKeys,
    ) -> Result<DataKey, StoreError> {
        let master = self.master()?;
        if let Some((key, _)) = new_keys.made.get(participant_id) {
            return Ok(key.clone());
        }
        if !new_keys.keyless.contains(participant_id) {
            if let Some(wrapped) = self.wrapped_key(project_id, participant_id).await? {
                return unwrap(master, &wrapped, project_id, participant_id);
            }
        }
        let key = DataKey::generate();
        let stored = NewKey {
            project_id: project_id.to_string(),
            participant_id: participant_id.to_string(),
            wrapped_key: master.wrap(&key, project_id, participant_id),
            master_key_id: master.id().to_string(),
            created_at: format_instant(self.clock.now()),
        };
        new_keys
            .made
            .insert(participant_id.to_string(), (key.clone(), stored));
        Ok(key)
    }

    async fn wrapped_key(
        &self,
        project_id: &str,
        participant_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = "SELECT wrapped_key FROM participant_keys \
                   WHERE project_id = $1 AND participant_id = $2";
        let row: Option<(String,)> = on_db!(&self.db, |pool| {
            sqlx::query_as(sql)
                .bind(project_id)
                .bind(participant_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(wrapped,)| wrapped))
    }

    /// Encrypts the personal field of a serialised entry in place (before it is hashed).
    pub(crate) async fn seal_payload(
        &self,
        project_id: &str,
        event_type: &str,
        payload: &mut Value,
        new_keys: &mut NewKeys,
    ) -> Result<(), StoreError> {
        let Some(field) = personal_field(event_type) else {
            return Ok(());
        };
        // A value already in the stored form stays as it is; any other (an answer is an object
        // itself) is sealed.
        let already_sealed = |v: &Value| serde_json::from_value::<SealedValue>(v.clone()).is_ok();
        let Some(value) = payload.get(field).filter(|v| !already_sealed(v)) else {
            return Ok(());
        };
        let participant = payload
            .get("participant_id")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::Internal(format!("a {event_type} has no participant")))?
            .to_string();
        let plaintext = serde_json::to_vec(value)
            .map_err(|e| StoreError::Internal(format!("personal field: {e}")))?;
        let key = self
            .data_key_for_writing(project_id, &participant, new_keys)
            .await?;
        let sealed = key.seal(field, project_id, &participant, &plaintext);
        payload[field] = serde_json::to_value(sealed)
            .map_err(|e| StoreError::Internal(format!("sealed field: {e}")))?;
        Ok(())
    }

    /// Opens the personal fields of `events` (one project's, in order) that can still be read:
    /// those of participants with a key and no erasure recorded among `events`.
    pub(crate) async fn open(
        &self,
        project_id: &str,
        events: &mut [RecordedEvent],
    ) -> Result<(), StoreError> {
        let erased: BTreeSet<String> = personal::erasures(events)
            .into_iter()
            .map(|(participant, _)| participant.to_string())
            .collect();
        for participant in &erased {
            personal::forget(events, participant);
        }
        // Only the keys of entries still sealed: those opened before stay open in the caller's
        // copy, and a project's keys are as many as its people.
        let sealed: BTreeSet<&str> = events
            .iter()
            .filter(|e| personal::is_sealed(&e.event))
            .filter_map(|e| personal::owner(&e.event))
            .collect();
        if sealed.is_empty() {
            return Ok(());
        }
        let master = self.master()?;
        let mut keys = BTreeMap::new();
        for (participant, wrapped) in self.wrapped_keys(project_id, &sealed).await? {
            keys.insert(
                participant.clone(),
                unwrap(master, &wrapped, project_id, &participant)?,
            );
        }
        for entry in events.iter_mut() {
            let sequence = entry.sequence;
            match &mut entry.event {
                ProjectEvent::ParticipantJoined(e) => {
                    let key = keys.get(&e.participant_id);
                    open_field(
                        &mut e.groups,
                        key,
                        "groups",
                        project_id,
                        &e.participant_id,
                        sequence,
                    );
                }
                ProjectEvent::ContributionMade(e) => {
                    let key = keys.get(&e.participant_id);
                    open_field(
                        &mut e.summary,
                        key,
                        "summary",
                        project_id,
                        &e.participant_id,
                        sequence,
                    );
                }
                ProjectEvent::ParticipantAnswered(e) => {
                    let key = keys.get(&e.participant_id);
                    open_field(
                        &mut e.answer,
                        key,
                        "answer",
                        project_id,
                        &e.participant_id,
                        sequence,
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The wrapped keys of `participants` of `project_id` (those that still have one).
    async fn wrapped_keys(
        &self,
        project_id: &str,
        participants: &BTreeSet<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        // The ids as one JSON array, which both databases read as a set of texts.
        let ids = serde_json::to_string(participants)
            .map_err(|e| StoreError::Internal(format!("participant ids: {e}")))?;
        let sql = match &self.db {
            Db::Sqlite(_) => {
                "SELECT participant_id, wrapped_key FROM participant_keys WHERE project_id = $1 \
                 AND participant_id IN (SELECT value FROM json_each($2))"
            }
            Db::Postgres(_) => {
                "SELECT participant_id, wrapped_key FROM participant_keys WHERE project_id = $1 \
                 AND participant_id IN (SELECT jsonb_array_elements_text($2::jsonb))"
            }
        };
        Ok(on_db!(&self.db, |pool| {
            sqlx::query_as(sql)
                .bind(project_id)
                .bind(&ids)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Destroys a participant's data key; true if there was one. On PostgreSQL the same
    /// transaction notes that the table must be rewritten (see `erasure.rs`), so that a process
    /// stopping before the rewrite leaves the work to the next start.
    pub(crate) async fn destroy(
        &self,
        project_id: &str,
        participant_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM participant_keys WHERE project_id = $1 AND participant_id = $2";
        let deleted = match &self.db {
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(project_id)
                .bind(participant_id)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let deleted = sqlx::query(sql)
                    .bind(project_id)
                    .bind(participant_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted > 0 {
                    sqlx::query("INSERT INTO erased_key_cleanup (requested_at) VALUES ($1)")
                        .bind(format_instant(self.clock.now()))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                deleted
            }
        };
        Ok(deleted > 0)
    }

    /// Destroys the key of every participant whose erasure is recorded (an erasure whose process
    /// stopped between the entry and the key's deletion); returns how many keys were left.
    pub(crate) async fn destroy_erased(&self) -> Result<u64, StoreError> {
        let sql =
            "SELECT aggregate_id, payload FROM events WHERE event_type = 'participant_erased'";
        let rows: Vec<(String, Value)> =
            on_db!(&self.db, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        let mut destroyed = 0;
        for (project_id, payload) in rows {
            if let Some(participant) = payload.get("participant_id").and_then(Value::as_str) {
                destroyed += u64::from(self.destroy(&project_id, participant).await?);
            }
        }
        Ok(destroyed)
    }

    /// Re-wraps every data key under `new` (the events are not touched) and makes `new` the
    /// database's master key, in one transaction. Returns how many data keys were re-wrapped.
    pub(crate) async fn rotate(&self, new: &MasterKey) -> Result<u64, StoreError> {
        let old = self.master()?;
        let select = "SELECT project_id, participant_id, wrapped_key FROM participant_keys";
        let update = "UPDATE participant_keys SET wrapped_key = $1, master_key_id = $2 \
                      WHERE project_id = $3 AND participant_id = $4";
        let check = "UPDATE master_key_check SET master_key_id = $1, canary = $2, updated_at = $3 \
                     WHERE id = 1";
        let now = format_instant(self.clock.now());
        // On SQLite the write lock is taken at once: a transaction that reads first and writes
        // after fails at once, without waiting, if another connection wrote in between.
        let begin = match &self.db {
            Db::Postgres(_) => "BEGIN",
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
        };
        let rewrapped = on_db!(&self.db, |pool| {
            let mut tx = pool.begin_with(begin).await?;
            let rows: Vec<(String, String, String)> =
                sqlx::query_as(select).fetch_all(&mut *tx).await?;
            for (project_id, participant_id, wrapped) in &rows {
                let key = unwrap(old, wrapped, project_id, participant_id)?;
                sqlx::query(update)
                    .bind(new.wrap(&key, project_id, participant_id))
                    .bind(new.id())
                    .bind(project_id)
                    .bind(participant_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(check)
                .bind(new.id())
                .bind(new.canary())
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            rows.len() as u64
        });
        Ok(rewrapped)
    }
}

fn unwrap(
    master: &MasterKey,
    wrapped: &str,
    project_id: &str,
    participant_id: &str,
) -> Result<DataKey, StoreError> {
    master
        .unwrap(wrapped, project_id, participant_id)
        .map_err(|_| {
            StoreError::Internal(format!(
                "the data key of participant '{participant_id}' in project {project_id} cannot be \
             unwrapped with master key {}",
                master.id()
            ))
        })
}

/// Opens one sealed field with its owner's key; without a key it is erased. A value that does
/// not decrypt (altered since it was stored: the chain check reports that) stays sealed.
fn open_field<T: serde::de::DeserializeOwned>(
    field: &mut Personal<T>,
    key: Option<&DataKey>,
    name: &str,
    project_id: &str,
    participant_id: &str,
    sequence: u64,
) {
    let Personal::Sealed(sealed) = &*field else {
        return;
    };
    let Some(key) = key else {
        *field = Personal::Erased;
        return;
    };
    match open_sealed(key, name, project_id, participant_id, sealed) {
        Some(value) => *field = Personal::Clear(value),
        None => tracing::warn!(
            project_id,
            sequence,
            "a personal field does not decrypt with its participant's key; left unread"
        ),
    }
}

fn open_sealed<T: serde::de::DeserializeOwned>(
    key: &DataKey,
    name: &str,
    project_id: &str,
    participant_id: &str,
    sealed: &SealedValue,
) -> Option<T> {
    let plaintext = key.open(name, project_id, participant_id, sealed).ok()?;
    serde_json::from_slice(&plaintext).ok()
}
