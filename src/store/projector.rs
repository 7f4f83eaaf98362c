//! The views' SQL (`project_views` and `portfolio_projects`, written together with the catch-up
//! checkpoint), and how the catch-up reader walks the log (docs/architecture.md, invariants 1 and 5); its loop is in
//! `refresh.rs`, the rebuild's in `rebuild.rs`.
//!
//! The reader takes the events appended after its checkpoint in commit order, and the view of
//! each project they belong to is computed again. On PostgreSQL an identity column commits out of order, so it reads
//! only rows whose transaction id is below the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has finished, so no row can
//! later appear before them. Those rows are read in `(xid, position)` order and the checkpoint is
//! that pair, which stays correct even when one transaction's rows interleave with another's
//! positions. SQLite has one writer at a time, so positions become visible in order (xid is 0).
//! Views and the checkpoint are written in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use coprod_domain::recorded::format_instant;
use coprod_domain::{ProjectEvent, RecordedEvent};
use serde_json::Value;

use super::db::{on_db, Db, AGGREGATE_TYPE};
use super::error::StoreError;
use super::views::view_body;

/// Views written by one statement (6 parameters each, within both databases' limits).
const VIEWS_PER_STATEMENT: usize = 1000;
const UPSERT_VIEW: &str = " ON CONFLICT (project_id) DO UPDATE SET \
    organisation = excluded.organisation, status = excluded.status, body = excluded.body, \
    sequence = excluded.sequence, updated_at = excluded.updated_at \
    WHERE project_views.sequence <= excluded.sequence";
const UPSERT_PORTFOLIO: &str = " ON CONFLICT (project_id) DO UPDATE SET \
    organisation = excluded.organisation, organisation_name = excluded.organisation_name, \
    service_area = excluded.service_area, registered_at = excluded.registered_at";

/// The catch-up reader's query on PostgreSQL (see the module's documentation). The number is
/// named apart from `xid`, or `ORDER BY xid` would sort by it (an output column's name wins)
/// instead of walking the (xid, position) index: a scan and sort of the whole log per batch.
pub const EVENTS_AFTER_POSTGRES: &str =
    "SELECT aggregate_id, sequence, (xid::text)::bigint AS xid_number, position FROM events \
     WHERE aggregate_type = $1 \
       AND (xid, position) > (($2::bigint)::text::xid8, $3) \
       AND xid < pg_snapshot_xmin(pg_current_snapshot()) \
     ORDER BY xid, position LIMIT $4";

/// The catch-up reader's query on SQLite. The `+` keeps SQLite from reading by the
/// `(aggregate_type, …)` index, which holds every row, and sorting them all for every batch:
/// the range of positions (the rowid) is the way in.
pub const EVENTS_AFTER_SQLITE: &str = "SELECT aggregate_id, sequence, 0, position FROM events \
     WHERE +aggregate_type = $1 AND position > $2 ORDER BY position LIMIT $3";

/// The name of the view projector's checkpoint row.
pub(crate) const CHECKPOINT: &str = "project_views";

/// A catch-up reader's position: the last `(xid, position)` applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Checkpoint {
    pub xid: i64,
    pub position: i64,
}

/// One view row to write.
pub(crate) struct ViewRow {
    pub project_id: String,
    pub organisation: String,
    pub status: String,
    pub body: String,
    pub sequence: i64,
    /// For `portfolio_projects`: the registration's service area, the organisation's name if it
    /// gives one, and when it was recorded.
    pub service_area: String,
    pub organisation_name: Option<String>,
    pub registered_at: String,
}

impl ViewRow {
    pub(crate) fn from_events(project_id: &str, events: &[RecordedEvent]) -> Option<ViewRow> {
        let body = view_body(events)?;
        let registration = events.iter().find_map(|e| match &e.event {
            ProjectEvent::ProjectRegistered(r) => Some(r),
            _ => None,
        })?;
        let service_area = registration.service_area.clone();
        let organisation_name = registration.organisation_name.clone();
        let registered_at = format_instant(events.first()?.recorded_at);
        Some(ViewRow {
            service_area,
            organisation_name,
            registered_at,
            project_id: project_id.to_string(),
            organisation: body["organisation"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: body["status"].as_str().unwrap_or_default().to_string(),
            sequence: body["sequence"].as_i64().unwrap_or_default(),
            body: body.to_string(),
        })
    }
}

impl Db {
    pub(crate) async fn checkpoint(&self, name: &str) -> Result<Checkpoint, StoreError> {
        let sql = "SELECT xid, position FROM projector_checkpoints WHERE name = $1";
        let row: Option<(i64, i64)> = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(name)
            .fetch_optional(pool)
            .await?);
        Ok(row
            .map(|(xid, position)| Checkpoint { xid, position })
            .unwrap_or_default())
    }

    /// Up to `limit` rows after `after`, in commit order, that no still-running transaction can
    /// precede.
    pub(crate) async fn events_after(
        &self,
        after: Checkpoint,
        limit: i64,
    ) -> Result<Vec<LogRow>, StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = match self {
            Db::Postgres(pool) => {
                sqlx::query_as(EVENTS_AFTER_POSTGRES)
                    .bind(AGGREGATE_TYPE)
                    .bind(after.xid)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                sqlx::query_as(EVENTS_AFTER_SQLITE)
                    .bind(AGGREGATE_TYPE)
                    .bind(after.position)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(project_id, sequence, xid, position)| LogRow {
                project_id,
                sequence,
                checkpoint: Checkpoint { xid, position },
            })
            .collect())
    }

    /// The sequence each of `project_ids` has a view at (those with no view are left out).
    pub(crate) async fn view_sequences(
        &self,
        project_ids: &[&str],
    ) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut sequences = BTreeMap::new();
        for chunk in project_ids.chunks(VIEWS_PER_STATEMENT) {
            let rows: Vec<(String, i64)> = on_db!(self, |pool| {
                let mut select = sqlx::QueryBuilder::new(
                    "SELECT project_id, sequence FROM project_views WHERE project_id IN (",
                );
                let mut ids = select.separated(", ");
                for id in chunk {
                    ids.push_bind(*id);
                }
                select.push(")");
                select.build_query_as().fetch_all(pool).await?
            });
            sequences.extend(rows);
        }
        Ok(sequences)
    }

    /// How many entries there are (for progress bars).
    pub(crate) async fn event_count(&self) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) FROM events WHERE aggregate_type = $1";
        let (count,): (i64,) = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(AGGREGATE_TYPE)
            .fetch_one(pool)
            .await?);
        Ok(count.max(0) as u64)
    }

    /// Writes views (stamped `updated_at`) and moves the checkpoint forward (if given), in one
    /// transaction. With `replace`, every view and the checkpoint are first removed (a rebuild).
    /// A view is only replaced by one of the same or a later sequence, and the checkpoint never
    /// moves back, so concurrent readers in several processes cannot undo each other.
    pub(crate) async fn write_views(
        &self,
        name: &str,
        views: &[ViewRow],
        checkpoint: Option<Checkpoint>,
        replace: bool,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = format_instant(updated_at);
        let upsert_checkpoint = "INSERT INTO projector_checkpoints (name, xid, position) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET xid = excluded.xid, position = excluded.position \
             WHERE (projector_checkpoints.xid, projector_checkpoints.position) \
                   < (excluded.xid, excluded.position)";
        // One row per project (the newest, should a caller pass two), so that each multi-row
        // upsert touches a row once.
        let mut views: Vec<&ViewRow> = views.iter().collect();
        views.sort_by(|a, b| {
            (a.project_id.as_str(), b.sequence).cmp(&(b.project_id.as_str(), a.sequence))
        });
        views.dedup_by(|later, kept| later.project_id == kept.project_id);
        macro_rules! write {
            ($tx:ident) => {{
                if replace {
                    sqlx::query("DELETE FROM project_views")
                        .execute(&mut *$tx)
                        .await?;
                    sqlx::query("DELETE FROM portfolio_projects")
                        .execute(&mut *$tx)
                        .await?;
                    sqlx::query("DELETE FROM projector_checkpoints WHERE name = $1")
                        .bind(name)
                        .execute(&mut *$tx)
                        .await?;
                }
                // Many rows a statement: a round trip per view would cost more than the view.
                for chunk in views.chunks(VIEWS_PER_STATEMENT) {
                    let mut upsert = sqlx::QueryBuilder::new(
                        "INSERT INTO project_views \
                         (project_id, organisation, status, body, sequence, updated_at) ",
                    );
                    upsert.push_values(chunk, |mut row, view| {
                        row.push_bind(&view.project_id)
                            .push_bind(&view.organisation)
                            .push_bind(&view.status)
                            .push_bind(&view.body)
                            .push_bind(view.sequence)
                            .push_bind(&now);
                    });
                    upsert.push(UPSERT_VIEW);
                    upsert.build().execute(&mut *$tx).await?;
                    let mut upsert = sqlx::QueryBuilder::new(
                        "INSERT INTO portfolio_projects \
                         (project_id, organisation, organisation_name, service_area, registered_at) ",
                    );
                    upsert.push_values(chunk, |mut row, view| {
                        row.push_bind(&view.project_id)
                            .push_bind(&view.organisation)
                            .push_bind(&view.organisation_name)
                            .push_bind(&view.service_area)
                            .push_bind(&view.registered_at);
                    });
                    upsert.push(UPSERT_PORTFOLIO);
                    upsert.build().execute(&mut *$tx).await?;
                }
                if let Some(checkpoint) = checkpoint {
                    sqlx::query(upsert_checkpoint)
                        .bind(name)
                        .bind(checkpoint.xid)
                        .bind(checkpoint.position)
                        .execute(&mut *$tx)
                        .await?;
                }
                $tx.commit().await?;
            }};
        }
        match self {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                write!(tx);
            }
            Db::Sqlite(pool) => {
                // Take the write lock at once: a deferred transaction that must upgrade can fail.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                write!(tx);
            }
        }
        Ok(())
    }

    pub(crate) async fn view(&self, project_id: &str) -> Result<Option<Value>, StoreError> {
        let sql = "SELECT body FROM project_views WHERE project_id = $1";
        let row: Option<(String,)> = on_db!(self, |pool| sqlx::query_as(sql)
            .bind(project_id)
            .fetch_optional(pool)
            .await?);
        row.map(|(body,)| parse_body(&body)).transpose()
    }

    pub(crate) async fn list_views(
        &self,
        organisation: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let sql = "SELECT body FROM project_views \
                   WHERE ($1 IS NULL OR lower(organisation) = lower($1)) AND ($2 IS NULL OR status = $2) \
                   ORDER BY project_id";
        let rows: Vec<(String,)> = match self {
            // PostgreSQL must be told the type of a parameter that is only compared with NULL.
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT body FROM project_views \
                 WHERE ($1::text IS NULL OR lower(organisation) = lower($1::text)) \
                   AND ($2::text IS NULL OR status = $2::text) \
                 ORDER BY project_id",
                )
                .bind(organisation)
                .bind(status)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(organisation)
                    .bind(status)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.iter().map(|(body,)| parse_body(body)).collect()
    }
}

fn parse_body(body: &str) -> Result<Value, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::Internal(format!("a stored view is not JSON: {e}")))
}

/// One appended entry as the catch-up reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogRow {
    pub project_id: String,
    pub sequence: i64,
    pub checkpoint: Checkpoint,
}

/// The projects a batch touches, in order of first appearance: how many rows each has and the
/// highest sequence among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Touched {
    pub project_id: String,
    pub rows: u64,
    pub max_sequence: i64,
}

/// Accumulates [`Touched`] projects over batches.
#[derive(Debug, Default)]
pub(crate) struct TouchedProjects {
    order: Vec<Touched>,
    index: BTreeMap<String, usize>,
    rows: u64,
}

impl TouchedProjects {
    pub(crate) fn add(&mut self, batch: &[LogRow]) {
        for row in batch {
            self.rows += 1;
            match self.index.get(row.project_id.as_str()) {
                Some(&i) => {
                    let touched = &mut self.order[i];
                    touched.rows += 1;
                    touched.max_sequence = touched.max_sequence.max(row.sequence);
                }
                None => {
                    self.index.insert(row.project_id.clone(), self.order.len());
                    self.order.push(Touched {
                        project_id: row.project_id.clone(),
                        rows: 1,
                        max_sequence: row.sequence,
                    });
                }
            }
        }
    }

    /// How many rows were added in all.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn into_vec(self) -> Vec<Touched> {
        self.order
    }
}

pub(crate) fn projects_in(batch: &[LogRow]) -> Vec<Touched> {
    let mut touched = TouchedProjects::default();
    touched.add(batch);
    touched.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(project: &str, sequence: i64, position: i64) -> LogRow {
        LogRow {
            project_id: project.into(),
            sequence,
            checkpoint: Checkpoint { xid: 0, position },
        }
    }

    #[test]
    fn a_batch_is_grouped_by_project_in_order_of_appearance() {
        let batch = [
            row("b", 3, 1),
            row("a", 1, 2),
            row("b", 4, 3),
            row("a", 2, 4),
        ];
        assert_eq!(
            projects_in(&batch),
            vec![
                Touched {
                    project_id: "b".into(),
                    rows: 2,
                    max_sequence: 4
                },
                Touched {
                    project_id: "a".into(),
                    rows: 2,
                    max_sequence: 2
                },
            ]
        );
    }

    #[test]
    fn checkpoints_order_by_transaction_then_position() {
        let early_tx_late_position = Checkpoint {
            xid: 5,
            position: 90,
        };
        let late_tx_early_position = Checkpoint {
            xid: 6,
            position: 80,
        };
        assert!(early_tx_late_position < late_tx_early_position);
    }
}
