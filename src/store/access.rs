//! API tokens (stored as SHA-256 only) and idempotency records.

use std::fmt;
use std::str::FromStr;

use chrono::Utc;
use coprod_domain::recorded::format_instant;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use cqrs_es::persist::SerializedEvent;

use super::db::{on_db, Db};
use super::error::StoreError;
use super::keys::NewKeys;

/// What a token may do (see API.md, "Authentication and roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Recorder,
    Assurance,
    Panel,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Recorder, Role::Assurance, Role::Panel, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Recorder => "recorder",
            Role::Assurance => "assurance",
            Role::Panel => "panel",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}': expected recorder, assurance, panel or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's label, or `token:<first 8 hex digits of its hash>` when it has none; stored as
    /// `recorded_by`.
    pub name: String,
    pub role: Role,
    /// The organisation whose projects it may touch; `*` means all.
    pub organisation: String,
}

/// The first answer given to a request with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRecord {
    pub project_id: Uuid,
    /// A hash of the request, to tell a retry from a different request reusing the key.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// What [`crate::store::Store::claim_idempotent`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller now holds the key, in every process: do the work, then
    /// `save_idempotent` the answer (or `release_idempotent` if nothing was done).
    Claimed,
    /// The key already has an answer: give it (or refuse, if the request differs).
    Answered(IdempotentRecord),
    /// Another request holds the key and has not answered within the wait.
    InProgress,
}

/// Proof that a request holds the claim on `(principal, key)`: the instant it claimed the key,
/// which a takeover changes. Keeping the answer (in the transaction that appends the request's
/// events) and releasing the claim both check it, so a request whose claim was taken over can
/// neither record nor answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimTicket {
    pub(crate) principal: String,
    pub(crate) key: String,
    pub(crate) claimed_at: String,
}

/// The answer an idempotent request keeps in its commit's transaction.
pub(crate) struct KeptAnswer<'a> {
    pub(crate) ticket: &'a ClaimTicket,
    pub(crate) status: u16,
    pub(crate) body: &'a str,
}

/// How a commit's transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    Committed,
    /// A retry took the idempotency claim over: nothing was appended.
    ClaimLost,
    /// Another commit stored a data key for the same participant first: nothing was appended.
    KeyTaken,
}

/// Status kept for a key claimed but not yet answered.
const PENDING: i32 = 0;

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "coprod_";

/// SHA-256 of the token, lowercase hex: the only form the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

impl Db {
    pub(crate) async fn create_token(
        &self,
        role: Role,
        organisation: &str,
        label: &str,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let sql = "INSERT INTO api_tokens (token_hash, role, organisation, label, created_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        let hash = token_hash(&token);
        let now = format_instant(Utc::now());
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(&hash)
                .bind(role.as_str())
                .bind(organisation)
                .bind(label)
                .bind(&now)
                .execute(pool)
                .await?;
        });
        Ok(token)
    }

    pub(crate) async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let hash = token_hash(token);
        let sql = "SELECT role, organisation, label FROM api_tokens WHERE token_hash = $1";
        let row: Option<(String, String, String)> = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(&hash)
            .fetch_optional(pool)
            .await?);
        let Some((role, organisation, label)) = row else {
            return Ok(None);
        };
        let role = role
            .parse()
            .map_err(|e: UnknownRole| StoreError::Internal(e.to_string()))?;
        let name = if label.is_empty() {
            format!("token:{}", &hash[..8])
        } else {
            label
        };
        Ok(Some(Principal {
            name,
            role,
            organisation,
        }))
    }

    pub(crate) async fn token_count(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) = on_db!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM api_tokens")
                .fetch_one(pool)
                .await?
        });
        Ok(count.max(0) as u64)
    }

    pub(crate) async fn find_idempotent(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotentRecord>, StoreError> {
        let sql = "SELECT project_id, request_hash, status, body FROM idempotency_keys \
                   WHERE principal = $1 AND key = $2 AND status <> 0";
        let row: Option<(String, String, i32, String)> = on_db!(self, |pool| {
            sqlx::query_as(sql)
                .bind(principal)
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(project_id, request_hash, status, body)| {
            Ok(IdempotentRecord {
                project_id: project_id.parse().map_err(|e| {
                    StoreError::Internal(format!("bad project id {project_id}: {e}"))
                })?,
                request_hash,
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Internal(format!("bad status {status}")))?,
                body,
            })
        })
        .transpose()
    }

    pub(crate) async fn save_idempotent(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotentRecord,
    ) -> Result<(), StoreError> {
        // Completes a claim; a key that already has an answer keeps it.
        let sql = "INSERT INTO idempotency_keys \
                   (principal, key, project_id, request_hash, status, body, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   ON CONFLICT (principal, key) DO UPDATE SET project_id = excluded.project_id, \
                      request_hash = excluded.request_hash, status = excluded.status, \
                      body = excluded.body, created_at = excluded.created_at \
                   WHERE idempotency_keys.status = 0";
        let now = format_instant(Utc::now());
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(principal)
                .bind(key)
                .bind(record.project_id.to_string())
                .bind(&record.request_hash)
                .bind(i32::from(record.status))
                .bind(&record.body)
                .bind(&now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Inserts a pending row for `(principal, key)`; when it was claimed, if it was inserted.
    pub(crate) async fn insert_claim(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = "INSERT INTO idempotency_keys \
                   (principal, key, project_id, request_hash, status, body, created_at) \
                   VALUES ($1, $2, $3, $4, $5, '', $6) \
                   ON CONFLICT (principal, key) DO NOTHING";
        let now = format_instant(Utc::now());
        let inserted = on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(principal)
                .bind(key)
                .bind(project_id.to_string())
                .bind(request_hash)
                .bind(PENDING)
                .bind(&now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok((inserted == 1).then_some(now))
    }

    /// When the pending row for `(principal, key)` was claimed, if there is one.
    pub(crate) async fn pending_since(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql = "SELECT created_at FROM idempotency_keys \
                   WHERE principal = $1 AND key = $2 AND status = 0";
        let row: Option<(String,)> = on_db!(self, |pool| {
            sqlx::query_as(sql)
                .bind(principal)
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(at,)| at))
    }

    /// Takes over a pending row claimed at `since` (its holder is presumed gone); when it was
    /// claimed anew, if it was taken over.
    pub(crate) async fn take_over_claim(
        &self,
        principal: &str,
        key: &str,
        since: &str,
        project_id: Uuid,
        request_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let sql =
            "UPDATE idempotency_keys SET created_at = $4, project_id = $5, request_hash = $6 \
                   WHERE principal = $1 AND key = $2 AND status = 0 AND created_at = $3";
        let now = format_instant(Utc::now());
        let updated = on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(principal)
                .bind(key)
                .bind(since)
                .bind(&now)
                .bind(project_id.to_string())
                .bind(request_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok((updated == 1).then_some(now))
    }

    /// Drops a pending row (its request did nothing); an answered key is kept.
    pub(crate) async fn release_claim(&self, principal: &str, key: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status = 0";
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(principal)
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Drops the pending row `ticket` holds; a row answered, or taken over by a retry, is kept.
    pub(crate) async fn release_ticket(&self, ticket: &ClaimTicket) -> Result<(), StoreError> {
        let sql = "DELETE FROM idempotency_keys \
                   WHERE principal = $1 AND key = $2 AND status = 0 AND created_at = $3";
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(&ticket.principal)
                .bind(&ticket.key)
                .bind(&ticket.claimed_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Appends `events` (already chained) in one transaction with the data keys `new_keys` made
    /// to seal them and, for an idempotent request, `answer` (the status and body kept for the
    /// key its ticket holds): all or nothing. Nothing is appended when a retry has taken the
    /// claim over, or when another commit stored a data key for one of the same participants
    /// first (then the command is tried again with that key).
    pub(crate) async fn append(
        &self,
        aggregate_type: &str,
        events: &[SerializedEvent],
        new_keys: &NewKeys,
        answer: Option<KeptAnswer<'_>>,
    ) -> Result<Appended, sqlx::Error> {
        let insert_key = "INSERT INTO participant_keys \
                          (project_id, participant_id, wrapped_key, master_key_id, created_at) \
                          VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, participant_id) DO NOTHING";
        let insert = "INSERT INTO events \
                      (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let keep_answer = "UPDATE idempotency_keys SET status = $1, body = $2 \
                           WHERE principal = $3 AND key = $4 AND status = 0 AND created_at = $5";
        macro_rules! insert_event {
            ($event:expr, $executor:expr) => {
                sqlx::query(insert)
                    .bind(aggregate_type)
                    .bind(&$event.aggregate_id)
                    .bind($event.sequence as i64)
                    .bind(&$event.event_type)
                    .bind(&$event.event_version)
                    .bind(&$event.payload)
                    .bind(&$event.metadata)
                    .execute($executor)
                    .await?
            };
        }
        let mut keys = new_keys.rows();
        if let (Db::Postgres(pool), [event], None, Some(key), None) =
            (self, events, &answer, keys.next(), keys.next())
        {
            // A person's first entry: their key and the entry in one statement (so it commits
            // on its own); the entry is not inserted if another commit stored their key first.
            let insert_both = "WITH new_key AS (\
                                 INSERT INTO participant_keys \
                                 (project_id, participant_id, wrapped_key, master_key_id, created_at) \
                                 VALUES ($8, $9, $10, $11, $12) \
                                 ON CONFLICT (project_id, participant_id) DO NOTHING RETURNING 1) \
                               INSERT INTO events \
                               (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
                               SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM new_key)";
            let inserted = sqlx::query(insert_both)
                .bind(aggregate_type)
                .bind(&event.aggregate_id)
                .bind(event.sequence as i64)
                .bind(&event.event_type)
                .bind(&event.event_version)
                .bind(&event.payload)
                .bind(&event.metadata)
                .bind(&key.project_id)
                .bind(&key.participant_id)
                .bind(&key.wrapped_key)
                .bind(&key.master_key_id)
                .bind(&key.created_at)
                .execute(pool)
                .await?
                .rows_affected();
            return Ok(if inserted == 1 {
                Appended::Committed
            } else {
                Appended::KeyTaken
            });
        }
        if let ([event], None, true) = (events, &answer, new_keys.is_empty()) {
            // One statement commits on its own: no transaction's two extra round trips.
            on_db!(self, |pool| {
                insert_event!(event, pool);
            });
            return Ok(Appended::Committed);
        }
        on_db!(self, |pool| {
            let mut tx = pool.begin().await?;
            for key in new_keys.rows() {
                let stored = sqlx::query(insert_key)
                    .bind(&key.project_id)
                    .bind(&key.participant_id)
                    .bind(&key.wrapped_key)
                    .bind(&key.master_key_id)
                    .bind(&key.created_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if stored != 1 {
                    tx.rollback().await?;
                    return Ok(Appended::KeyTaken);
                }
            }
            for event in events {
                insert_event!(event, &mut *tx);
            }
            if let Some(answer) = answer {
                let answered = sqlx::query(keep_answer)
                    .bind(i32::from(answer.status))
                    .bind(answer.body)
                    .bind(&answer.ticket.principal)
                    .bind(&answer.ticket.key)
                    .bind(&answer.ticket.claimed_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if answered != 1 {
                    tx.rollback().await?;
                    return Ok(Appended::ClaimLost);
                }
            }
            tx.commit().await?;
        });
        Ok(Appended::Committed)
    }
}
