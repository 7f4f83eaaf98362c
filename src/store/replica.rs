//! Reads sent to a PostgreSQL streaming replica (`coprod serve --read-database URL`).
//!
//! The replica is a hot standby of the primary, kept by PostgreSQL's own streaming replication:
//! Coprod never writes to it. A request that may be answered from it (see
//! `crate::read_routing`) runs inside a [`ReadScope`]; the store's reads of entries, heads,
//! views and the portfolio then go to the replica, and everything else (writes, tokens, data
//! keys, idempotency, checkpoints, catch-up) to the primary. Data keys stay on the primary so
//! that a participant erased there is never shown from a replica that has not replayed the
//! erasure yet.
//!
//! A replica that does not answer, at start or later, or that is further behind than the
//! server allows, is set aside: reads go to the primary, and a check every [`CHECK_EVERY`] takes
//! it back once it answers again and has caught up. A read that fails on the replica is run
//! again on the primary, so a replica stopping never fails a request.

use std::collections::VecDeque;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use super::db::{Db, AGGREGATE_TYPE};
use super::{Store, StoreError};

/// How often the replica is asked whether it answers, is a standby, and how far behind it is.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How long a read waits for a replica connection before the primary answers instead: short,
/// since a replica that does not answer costs every read this long until it is set aside.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one health check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The replica's state as `/readyz` and the log report it. `/readyz` answers anyone, so it says
/// neither where the replica is nor what its errors said: the log does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaStatus {
    /// Where the replica is (host, port and database; never a password): for the log only.
    #[serde(skip)]
    pub address: String,
    /// `serving` (reads go to it); `unreachable`, `not_a_standby` or `lagging` (further behind
    /// than the server allows): reads go to the primary.
    pub status: &'static str,
    /// Why it is not serving, when it is not, in words of Coprod's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds since the primary's log first went past what the replica has replayed (0 when
    /// it has replayed all the primary had at the last check), to within a check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_lag_seconds: Option<f64>,
    /// When it was last checked (RFC 3339).
    pub checked_at: String,
}

impl ReplicaStatus {
    pub fn is_serving(&self) -> bool {
        self.status == SERVING
    }
}

const SERVING: &str = "serving";
const UNREACHABLE: &str = "unreachable";
const NOT_A_STANDBY: &str = "not_a_standby";
const LAGGING: &str = "lagging";
/// Before the first check.
const NOT_CHECKED: &str = "not checked yet";
/// Why an unreachable replica is not serving.
const NO_ANSWER: &str = "it does not answer (the server's log says what it answered)";

/// The replica: its pool and what was last learnt of it.
pub(crate) struct ReadReplica {
    db: Db,
    address: String,
    /// A replica further behind than this is set aside until it catches up.
    max_lag: Duration,
    lag: Mutex<Lag>,
    serving: AtomicBool,
    status: Mutex<ReplicaStatus>,
}

impl ReadReplica {
    fn pool(&self) -> &PgPool {
        match &self.db {
            Db::Postgres(pool) => pool,
            Db::Sqlite(_) => unreachable!("a read replica is always PostgreSQL"),
        }
    }

    /// Records what was learnt; `detail` (an error's own words) goes to the log only.
    fn set(
        &self,
        status: &'static str,
        reason: Option<&str>,
        lag: Option<f64>,
        detail: Option<String>,
    ) {
        let was_serving = self.serving.swap(status == SERVING, Ordering::SeqCst);
        let mut current = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let changed = current.status != status || current.reason.as_deref() == Some(NOT_CHECKED);
        *current = ReplicaStatus {
            address: self.address.clone(),
            status,
            reason: reason.map(str::to_string),
            replay_lag_seconds: lag,
            checked_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        drop(current);
        metrics::gauge!("coprod_read_replica_serving").set(if status == SERVING {
            1.0
        } else {
            0.0
        });
        if let Some(lag) = lag {
            metrics::gauge!("coprod_read_replica_lag_seconds").set(lag);
        }
        if changed || was_serving != (status == SERVING) {
            match status {
                SERVING => tracing::info!(replica = %self.address, "the read replica serves reads"),
                _ => tracing::warn!(
                    replica = %self.address,
                    status,
                    reason = reason.unwrap_or(""),
                    detail = detail.as_deref().unwrap_or(""),
                    "the read replica is set aside: reads go to the primary"
                ),
            }
        }
    }

    /// Asks the primary where its log ends, and the replica whether it answers, is a standby,
    /// and how far it has replayed; sets the replica aside or takes it back accordingly.
    async fn check(&self, primary: &PgPool) {
        let primary_end = tokio::time::timeout(
            CHECK_TIMEOUT,
            sqlx::query_as::<_, (String,)>("SELECT pg_current_wal_lsn()::text").fetch_one(primary),
        )
        .await;
        if let Ok(Ok((end,))) = primary_end {
            if let Some(end) = parse_lsn(&end) {
                self.lag.lock().unwrap_or_else(|p| p.into_inner()).saw(end);
            }
        }
        let sql = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text";
        let asked = tokio::time::timeout(
            CHECK_TIMEOUT,
            sqlx::query_as::<_, (bool, Option<String>)>(sql).fetch_one(self.pool()),
        )
        .await;
        match asked {
            Err(_) => self.set(
                UNREACHABLE,
                Some(NO_ANSWER),
                None,
                Some(format!("no answer within {CHECK_TIMEOUT:?}")),
            ),
            Ok(Err(error)) => self.set(UNREACHABLE, Some(NO_ANSWER), None, Some(error.to_string())),
            Ok(Ok((false, _))) => self.set(
                NOT_A_STANDBY,
                Some("it is not in recovery: not a streaming replica (promoted, or a primary)"),
                None,
                None,
            ),
            Ok(Ok((true, replayed))) => {
                let replayed = replayed.as_deref().and_then(parse_lsn).unwrap_or(0);
                let behind = self
                    .lag
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .behind(replayed);
                let lag = Some(behind.as_secs_f64());
                if behind > self.max_lag {
                    let reason = format!(
                        "it is further behind the primary than {} s",
                        self.max_lag.as_secs()
                    );
                    self.set(LAGGING, Some(&reason), lag, None);
                } else {
                    self.set(SERVING, None, lag, None);
                }
            }
        }
    }

    /// A read failed on the replica: set it aside until the next check finds it answering.
    fn failed(&self, error: &StoreError) {
        if matches!(error, StoreError::Unavailable(_)) {
            self.set(UNREACHABLE, Some(NO_ANSWER), None, Some(error.to_string()));
        }
    }
}

/// How far behind the replica is, measured against the primary (a standby cut off from its
/// primary does not know it is behind): where the primary's log ended at each check, and since
/// when, until the replica has replayed that far. The replica is as far behind as the oldest
/// end it has not reached, give or take one check.
#[derive(Debug, Default)]
struct Lag {
    unreached: VecDeque<(Instant, u64)>,
}

/// Ends kept at most (a replica this far behind is far beyond any limit anyway).
const MAX_ENDS_KEPT: usize = 10_000;

impl Lag {
    /// The primary's log ended at `end` now.
    fn saw(&mut self, end: u64) {
        let newer = self.unreached.back().is_none_or(|(_, last)| end > *last);
        if newer && self.unreached.len() < MAX_ENDS_KEPT {
            self.unreached.push_back((Instant::now(), end));
        }
    }

    /// How long ago the primary's log first went past `replayed` (zero if it has not).
    fn behind(&mut self, replayed: u64) -> Duration {
        while self
            .unreached
            .front()
            .is_some_and(|(_, end)| *end <= replayed)
        {
            self.unreached.pop_front();
        }
        self.unreached
            .front()
            .map_or(Duration::ZERO, |(since, _)| since.elapsed())
    }
}

/// A log position as PostgreSQL writes it (`16/B374D848`), as a number.
fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.split_once('/')?;
    let high = u64::from_str_radix(high, 16).ok()?;
    let low = u64::from_str_radix(low, 16).ok()?;
    Some((high << 32) | low)
}

/// Where the reads of one request go, decided once as it starts (see `crate::read_routing`).
#[derive(Clone, Debug)]
pub struct ReadScope {
    /// Whether reads go to the replica; cleared for the rest of the request when one fails there.
    on_replica: Arc<AtomicBool>,
}

impl ReadScope {
    /// Whether this request's reads are (still) served by the replica.
    pub fn on_replica(&self) -> bool {
        self.on_replica.load(Ordering::SeqCst)
    }

    /// Runs `work` with the store's reads going where this scope says.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        READ_SCOPE.scope(self.clone(), work).await
    }
}

tokio::task_local! {
    static READ_SCOPE: ReadScope;
}

/// Reads a project must hold, at least, to answer a request: (project, sequence).
pub type Needs = [(Uuid, u64)];

impl Store {
    /// Adds a read replica at `url` (a `postgres://` URL of a streaming replica of this
    /// store's PostgreSQL primary), set aside while more than `max_lag` behind, and starts
    /// checking it; if it does not answer now, the store goes on with the primary alone.
    /// Refused for a SQLite store or a URL that is not PostgreSQL's.
    pub async fn attach_read_replica(
        &self,
        url: &str,
        max_lag: Duration,
    ) -> Result<ReplicaStatus, StoreError> {
        if !self.inner.db.is_postgres() {
            return Err(StoreError::Internal(
                "a read replica is for a PostgreSQL primary: the database is SQLite".into(),
            ));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Internal(format!(
                "the read database must be a postgres:// URL of a streaming replica, not '{}'",
                redacted(url)
            )));
        }
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Internal(format!("bad read database URL '{}': {e}", redacted(url)))
        })?;
        let address = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(REPLICA_ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let replica = Arc::new(ReadReplica {
            db: Db::Postgres(pool),
            address: address.clone(),
            max_lag,
            lag: Mutex::new(Lag::default()),
            serving: AtomicBool::new(false),
            status: Mutex::new(ReplicaStatus {
                address,
                status: UNREACHABLE,
                reason: Some(NOT_CHECKED.into()),
                replay_lag_seconds: None,
                checked_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            }),
        });
        if self.inner.replica.set(replica.clone()).is_err() {
            return Err(StoreError::Internal(
                "a read replica is attached already".into(),
            ));
        }
        let Db::Postgres(primary) = self.inner.db.clone() else {
            unreachable!("checked above: the primary is PostgreSQL");
        };
        replica.check(&primary).await;
        let checking = Arc::downgrade(&replica);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CHECK_EVERY).await;
                let Some(replica) = checking.upgrade() else {
                    return;
                };
                replica.check(&primary).await;
            }
        });
        Ok(self.read_replica_status().expect("just attached"))
    }

    /// The replica's state, if one is attached.
    pub fn read_replica_status(&self) -> Option<ReplicaStatus> {
        let replica = self.inner.replica.get()?;
        let status = replica.status.lock().unwrap_or_else(|p| p.into_inner());
        Some(status.clone())
    }

    /// Where a request's reads go: the replica when one serves and holds every (project,
    /// sequence) in `needs` (each project's entry of that sequence, and a view at least that
    /// new), else the primary, which is never behind.
    pub async fn read_scope(&self, needs: &Needs) -> ReadScope {
        let on_replica = match self.inner.replica.get() {
            Some(replica) if replica.serving.load(Ordering::SeqCst) => {
                match holds(replica.pool(), needs).await {
                    Ok(held) => held,
                    Err(error) => {
                        replica.failed(&error);
                        false
                    }
                }
            }
            _ => false,
        };
        ReadScope {
            on_replica: Arc::new(AtomicBool::new(on_replica)),
        }
    }

    /// Runs one read where the current [`ReadScope`] sends it: on the replica, and again on
    /// the primary if it fails there; on the primary outside a scope.
    pub(crate) async fn read<T, F, Fut>(&self, read: F) -> Result<T, StoreError>
    where
        F: Fn(Db) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let scope = READ_SCOPE.try_with(ReadScope::clone).ok();
        if let (Some(scope), Some(replica)) = (scope, self.inner.replica.get()) {
            if scope.on_replica() {
                match read(replica.db.clone()).await {
                    Ok(answer) => return Ok(answer),
                    Err(error) => {
                        tracing::warn!(%error, "a read failed on the replica: the primary answers it");
                        metrics::counter!("coprod_read_replica_fallbacks_total").increment(1);
                        scope.on_replica.store(false, Ordering::SeqCst);
                        replica.failed(&error);
                    }
                }
            }
        }
        read(self.inner.db.clone()).await
    }
}

/// Whether the replica holds every (project, sequence) of `needs`.
async fn holds(pool: &PgPool, needs: &Needs) -> Result<bool, StoreError> {
    if needs.is_empty() {
        return Ok(true);
    }
    let projects: Vec<String> = needs.iter().map(|(id, _)| id.to_string()).collect();
    let sequences: Vec<i64> = needs
        .iter()
        .map(|(_, sequence)| (*sequence).min(i64::MAX as u64) as i64)
        .collect();
    let sql =
        "SELECT count(*) FROM unnest($1::text[], $2::bigint[]) AS wanted(project_id, sequence) \
               WHERE EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = $3 \
                               AND e.aggregate_id = wanted.project_id \
                               AND e.sequence = wanted.sequence) \
                 AND EXISTS (SELECT 1 FROM project_views v \
                               WHERE v.project_id = wanted.project_id \
                                 AND v.sequence >= wanted.sequence)";
    let answer = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_as::<_, (i64,)>(sql)
            .bind(&projects)
            .bind(&sequences)
            .bind(AGGREGATE_TYPE)
            .fetch_one(pool),
    )
    .await;
    match answer {
        Err(_) => Err(StoreError::Unavailable(format!(
            "the replica did not answer within {CHECK_TIMEOUT:?}"
        ))),
        Ok(Err(error)) => Err(StoreError::from(error)),
        Ok(Ok((held,))) => Ok(held as usize == needs.len()),
    }
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user, place)) => {
                let user = user.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{place}")
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_positions_are_read_as_postgresql_writes_them() {
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16/B374D848"), Some((0x16 << 32) | 0xB374_D848));
        assert_eq!(parse_lsn("16-B374D848"), None);
    }

    #[test]
    fn the_lag_is_the_age_of_the_oldest_end_not_replayed() {
        let mut lag = Lag::default();
        assert_eq!(lag.behind(0), Duration::ZERO);
        lag.saw(100);
        lag.saw(100);
        lag.saw(200);
        assert_eq!(
            lag.unreached.len(),
            2,
            "an end seen again is not kept twice"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert!(lag.behind(50) >= Duration::from_millis(20));
        assert!(
            lag.behind(150) >= Duration::from_millis(20),
            "still short of 200"
        );
        assert_eq!(lag.unreached.len(), 1, "100 is replayed: forgotten");
        assert_eq!(lag.behind(200), Duration::ZERO);
        assert!(lag.unreached.is_empty());
    }

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redacted("postgres://reader:secret@db.example:5433/coprod"),
            "postgres://reader@db.example:5433/coprod"
        );
        assert_eq!(
            redacted("postgres://db.example/coprod"),
            "postgres://db.example/coprod"
        );
    }
}
