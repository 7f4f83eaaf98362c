//! Idempotency keys: the first answer given to a request with an `Idempotency-Key`, kept per
//! principal (the token's id, `token:<id>`) and key, for [`IDEMPOTENCY_RETENTION`]. A request claims its key in every process before it does anything; its
//! answer is kept in the same transaction as the entries it appends
//! ([`Store::execute_answering`]), so that a retry gets exactly that answer even if the process
//! died right after the commit.

use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use coprod_domain::recorded::format_instant;
use coprod_domain::ProjectCommand;
use uuid::Uuid;

use super::db::{on_db, Db};
use super::{CommitReceipt, ExecuteError, Store, StoreError};

/// How long a claimed idempotency key may stay unanswered before a retry takes it over. Taking
/// over is always safe (the answer is kept in the transaction that appends, and only while the
/// claim is still the request's own), so this only bounds how long a retry waits after the
/// first request's process died.
const STALE_CLAIM: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// How long the answer to an idempotency key is kept. A retry within this time gets the first
/// answer; after it the key is forgotten (`Store::remove_expired_idempotency_keys`, which
/// `serve` runs as it starts and every hour), and the same key starts a new request.
pub const IDEMPOTENCY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

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

/// Status kept for a key claimed but not yet answered.
const PENDING: i32 = 0;

/// Builds the answer to an idempotent request from its receipt.
type Render = dyn Fn(&CommitReceipt) -> String + Send + Sync;

/// The answer to keep for an idempotency key in the transaction that appends the request's
/// events (see [`Store::execute_answering`]); read by `ChainedRepository`'s `persist`.
#[derive(Clone)]
pub(crate) struct AnswerAtCommit {
    pub(crate) ticket: ClaimTicket,
    pub(crate) status: u16,
    pub(crate) render: Arc<Render>,
    /// The body kept, once the transaction has committed.
    pub(crate) kept: Arc<SyncMutex<Option<String>>>,
}

tokio::task_local! {
    /// The idempotency claim the request running in this task holds ([`Store::holding_claim`]).
    static HELD_CLAIM: ClaimTicket;
    /// What the append of the command running in this task must answer in its transaction.
    pub(crate) static ANSWER_AT_COMMIT: AnswerAtCommit;
}

impl Db {
    async fn find_idempotent(
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

    async fn save_idempotent(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotentRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Completes a claim; a key that already has an answer keeps it.
        let sql = "INSERT INTO idempotency_keys \
                   (principal, key, project_id, request_hash, status, body, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   ON CONFLICT (principal, key) DO UPDATE SET project_id = excluded.project_id, \
                      request_hash = excluded.request_hash, status = excluded.status, \
                      body = excluded.body, created_at = excluded.created_at \
                   WHERE idempotency_keys.status = 0";
        let now = format_instant(now);
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
    async fn insert_claim(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let sql = "INSERT INTO idempotency_keys \
                   (principal, key, project_id, request_hash, status, body, created_at) \
                   VALUES ($1, $2, $3, $4, $5, '', $6) \
                   ON CONFLICT (principal, key) DO NOTHING";
        let now = format_instant(now);
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
    async fn pending_since(
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
    async fn take_over_claim(
        &self,
        principal: &str,
        key: &str,
        since: &str,
        project_id: Uuid,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let sql =
            "UPDATE idempotency_keys SET created_at = $4, project_id = $5, request_hash = $6 \
                   WHERE principal = $1 AND key = $2 AND status = 0 AND created_at = $3";
        let now = format_instant(now);
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
    async fn release_claim(&self, principal: &str, key: &str) -> Result<(), StoreError> {
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

    /// Removes every key claimed or answered before `before` (an instant as stored); how many.
    async fn remove_idempotency_before(&self, before: &str) -> Result<u64, StoreError> {
        let sql = "DELETE FROM idempotency_keys WHERE created_at < $1";
        let removed = on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed)
    }

    /// Drops the pending row `ticket` holds; a row answered, or taken over by a retry, is kept.
    async fn release_ticket(&self, ticket: &ClaimTicket) -> Result<(), StoreError> {
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
}

impl Store {
    pub async fn find_idempotent(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<IdempotentRecord>, StoreError> {
        self.inner.db.find_idempotent(principal, key).await
    }

    /// Claims `(principal, key)` for one request across every process sharing the database,
    /// before the request does anything. If another request holds it, waits up to `wait` for
    /// its answer. A claim left unanswered for 5 s by the store's clock (its process died, or it
    /// is slow) may be taken over; `wait` is real time.
    ///
    /// After [`Claim::Claimed`]: `save_idempotent` the answer, or `release_idempotent` if the
    /// request failed without recording anything. See [`Store::claim_idempotent_ticket`] for
    /// the safe way.
    pub async fn claim_idempotent(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
        wait: Duration,
    ) -> Result<Claim, StoreError> {
        let (claim, _) = self
            .claim_idempotent_ticket(principal, key, project_id, request_hash, wait)
            .await?;
        Ok(claim)
    }

    /// [`Store::claim_idempotent`], with the ticket that proves the claim when it is
    /// [`Claim::Claimed`]. Run the request under [`Store::holding_claim`] so that its answer is
    /// kept as it commits, and [`Store::release_claim`] if it recorded nothing.
    pub async fn claim_idempotent_ticket(
        &self,
        principal: &str,
        key: &str,
        project_id: Uuid,
        request_hash: &str,
        wait: Duration,
    ) -> Result<(Claim, Option<ClaimTicket>), StoreError> {
        let db = &self.inner.db;
        let ticket = |claimed_at| {
            Some(ClaimTicket {
                principal: principal.to_string(),
                key: key.to_string(),
                claimed_at,
            })
        };
        let clock = &self.inner.clock;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(claimed_at) = db
                .insert_claim(principal, key, project_id, request_hash, clock.now())
                .await?
            {
                return Ok((Claim::Claimed, ticket(claimed_at)));
            }
            if let Some(answer) = db.find_idempotent(principal, key).await? {
                return Ok((Claim::Answered(answer), None));
            }
            if let Some(since) = db.pending_since(principal, key).await? {
                let stale = format_instant(clock.now() - STALE_CLAIM);
                if since < stale {
                    let now = clock.now();
                    if let Some(claimed_at) = db
                        .take_over_claim(principal, key, &since, project_id, request_hash, now)
                        .await?
                    {
                        return Ok((Claim::Claimed, ticket(claimed_at)));
                    }
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok((Claim::InProgress, None));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Forgets every idempotency key answered (or claimed) more than [`IDEMPOTENCY_RETENTION`]
    /// ago by the store's clock; returns how many.
    pub async fn remove_expired_idempotency_keys(&self) -> Result<u64, StoreError> {
        let before = format_instant(self.inner.clock.now() - IDEMPOTENCY_RETENTION);
        self.inner.db.remove_idempotency_before(&before).await
    }

    /// Gives up a claim whose request recorded nothing (a pending claim only).
    pub async fn release_idempotent(&self, principal: &str, key: &str) -> Result<(), StoreError> {
        self.inner.db.release_claim(principal, key).await
    }

    /// Gives up the claim `ticket` holds, if it is still pending and still the ticket's: a key
    /// whose answer was kept when its events were appended (even if the commit's
    /// acknowledgement was lost), or that a retry took over, is left alone.
    pub async fn release_claim(&self, ticket: &ClaimTicket) -> Result<(), StoreError> {
        self.inner.db.release_ticket(ticket).await
    }

    /// Keeps the answer to `(principal, key)`, completing a claim; a key that already has an
    /// answer keeps the first one.
    pub async fn save_idempotent(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotentRecord,
    ) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        self.inner
            .db
            .save_idempotent(principal, key, record, now)
            .await
    }

    /// Like [`Store::execute`]; and when the request holds an idempotency claim
    /// ([`Store::holding_claim`]), its answer — `status` and `render(receipt)` — is kept in the
    /// same transaction as the appended events, so that a retry gets exactly that answer even if
    /// this process dies, or loses the database, right after the commit; and if a retry took
    /// the claim over meanwhile, nothing is appended ([`ExecuteError::Superseded`]). Returns the
    /// receipt and the body kept (or rendered).
    pub async fn execute_answering(
        &self,
        project_id: Uuid,
        command: ProjectCommand,
        status: u16,
        render: impl Fn(&CommitReceipt) -> String + Send + Sync + 'static,
    ) -> Result<(CommitReceipt, String), ExecuteError> {
        let Ok(ticket) = HELD_CLAIM.try_with(Clone::clone) else {
            let receipt = self.execute(project_id, command).await?;
            let body = render(&receipt);
            return Ok((receipt, body));
        };
        let answer = AnswerAtCommit {
            ticket,
            status,
            render: Arc::new(render),
            kept: Arc::new(SyncMutex::new(None)),
        };
        let receipt = ANSWER_AT_COMMIT
            .scope(answer.clone(), self.execute(project_id, command))
            .await?;
        let kept = answer.kept.lock().unwrap_or_else(|e| e.into_inner()).take();
        let body = kept.unwrap_or_else(|| (answer.render)(&receipt));
        Ok((receipt, body))
    }

    /// Runs `work` (a request) as the holder of the claim `ticket`, so that the commands it runs
    /// with [`Store::execute_answering`] keep their answer atomically.
    pub async fn holding_claim<F: std::future::Future>(
        &self,
        ticket: ClaimTicket,
        work: F,
    ) -> F::Output {
        HELD_CLAIM.scope(ticket, work).await
    }
}
