//! The pages' sessions, kept in the database so that every server of it knows them and they
//! outlive a restart. A session's id (its cookie) is never stored: only its SHA-256, beside the
//! SHA-256 of the token it was opened with. A session ends after [`SESSION_IDLE`] without a
//! page, [`SESSION_LIFETIME`] after it began, on sign-out, and when its token is revoked; the
//! rows of ended sessions are removed as they are met and by the housekeeping.

use std::time::Duration;

use rand::RngCore;
use sha2::{Digest as _, Sha256};

use super::db::on_db;
use super::{Store, StoreError};

/// A session ends after this long without a page.
pub const SESSION_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
/// A session ends this long after signing in, however busy.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// When a session was last seen is written at most this often (a page each second would
/// otherwise be a write each second); so the idle limit holds to within this.
const SEEN_EVERY: i64 = 60;

/// What a session's id leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// A live session, opened with the token of this hash.
    Open { token_hash: String },
    /// No such session: it ended, or never was.
    Ended,
}

fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

impl Store {
    fn unix_now(&self) -> i64 {
        self.inner.clock.now().timestamp()
    }

    /// Opens a session for the token with hash `token_hash`; returns its id (for the cookie:
    /// 256 random bits, in hexadecimal).
    pub async fn open_session(&self, token_hash: &str) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let now = self.unix_now();
        let sql = "INSERT INTO web_sessions (session_hash, token_hash, started_at, seen_at) \
                   VALUES ($1, $2, $3, $3)";
        on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(session_hash(&id))
                .bind(token_hash)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    /// The session with id `id`, marked seen now; a session past its limits is removed and
    /// [`SessionLookup::Ended`].
    pub async fn session(&self, id: &str) -> Result<SessionLookup, StoreError> {
        if id.len() > 200 {
            return Ok(SessionLookup::Ended);
        }
        let hash = session_hash(id);
        let sql =
            "SELECT token_hash, started_at, seen_at FROM web_sessions WHERE session_hash = $1";
        let row: Option<(String, i64, i64)> = on_db!(&self.inner.db, |pool| sqlx::query_as(sql)
            .bind(&hash)
            .fetch_optional(pool)
            .await?);
        let Some((token_hash, started_at, seen_at)) = row else {
            return Ok(SessionLookup::Ended);
        };
        let now = self.unix_now();
        let idle = now - seen_at > SESSION_IDLE.as_secs() as i64;
        let over = now - started_at > SESSION_LIFETIME.as_secs() as i64;
        if idle || over {
            self.end_session(id).await?;
            return Ok(SessionLookup::Ended);
        }
        if now - seen_at >= SEEN_EVERY {
            let seen = "UPDATE web_sessions SET seen_at = $1 WHERE session_hash = $2";
            on_db!(&self.inner.db, |pool| {
                sqlx::query(seen)
                    .bind(now)
                    .bind(&hash)
                    .execute(pool)
                    .await?;
            });
        }
        Ok(SessionLookup::Open { token_hash })
    }

    /// Ends the session with id `id` (on every server).
    pub async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM web_sessions WHERE session_hash = $1";
        on_db!(&self.inner.db, |pool| {
            sqlx::query(sql)
                .bind(session_hash(id))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Removes the sessions past their limits; returns how many.
    pub async fn remove_expired_sessions(&self) -> Result<u64, StoreError> {
        let now = self.unix_now();
        let sql = "DELETE FROM web_sessions WHERE seen_at < $1 OR started_at < $2";
        let removed = on_db!(&self.inner.db, |pool| sqlx::query(sql)
            .bind(now - SESSION_IDLE.as_secs() as i64)
            .bind(now - SESSION_LIFETIME.as_secs() as i64)
            .execute(pool)
            .await?
            .rows_affected());
        Ok(removed)
    }
}
