//! API tokens: who each speaks for (a role and an organisation), stored as SHA-256 only, when
//! each expires, whether it was revoked, and kept in memory for a while once found.
//!
//! A server keeps each token it found for [`TOKEN_TTL`], but not past a revocation: every
//! revocation adds one to `token_revisions`, which every server reads every
//! [`REVISION_POLL`] ([`Store::follow_revocations`]); a token found before the revision it last
//! read is looked up again. So a revoked token is refused by every server of the database within
//! a second. Expiry needs no message: each kept token carries its expiry.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use coprod_domain::recorded::{format_instant, parse_instant};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::db::{on_db, Db};
use super::{Store, StoreError};

/// How long a token, once found, is taken as valid without asking the database again (unless a
/// revocation comes first). When a token was last used is written when it is looked up, so it
/// is right to within this.
pub(super) const TOKEN_TTL: Duration = Duration::from_secs(60);
/// How often a server reads the revocation count (see the module's documentation).
pub const REVISION_POLL: Duration = Duration::from_millis(250);
/// Tokens whose principal this process keeps at once.
pub(super) const MAX_CACHED_TOKENS: u64 = 10_000;

/// What a token may do (see docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    Recorder,
    Assurance,
    Panel,
    Admin,
}

impl AccessRole {
    pub const ALL: [AccessRole; 4] = [
        AccessRole::Recorder,
        AccessRole::Assurance,
        AccessRole::Panel,
        AccessRole::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Recorder => "recorder",
            AccessRole::Assurance => "assurance",
            AccessRole::Panel => "panel",
            AccessRole::Admin => "admin",
        }
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}': expected recorder, assurance, panel or admin")]
pub struct UnknownRole(pub String);

impl FromStr for AccessRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessRole::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's stable id ([`token_id`]): unique among tokens, unlike labels.
    pub token_id: String,
    /// The token's label, as given when it was created (may be empty, need not be unique).
    pub label: String,
    pub role: AccessRole,
    /// The organisation whose projects it may touch; `*` means all.
    pub organisation: String,
}

impl Principal {
    /// What the entries this token records say as `recorded_by`: `token:<id> (<label>)`, or
    /// `token:<id>` for a token without a label. The id tells tokens apart; the label says
    /// whose it is. (Entries recorded before ids were recorded hold the label alone.)
    pub fn recorded_by(&self) -> String {
        recorded_by_for(&self.token_id, &self.label)
    }

    /// Whose idempotency keys are whose: `token:<id>`, so that two tokens labelled alike never
    /// share answers.
    pub fn idempotency_owner(&self) -> String {
        format!("token:{}", self.token_id)
    }

    /// How the pages name the person signed in: the label, or `token:<id>` without one.
    pub fn display_name(&self) -> String {
        if self.label.is_empty() {
            format!("token:{}", self.token_id)
        } else {
            self.label.clone()
        }
    }
}

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "coprod_";

/// SHA-256 of the token, lowercase hex: the only form the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Hexadecimal digits of a token's hash that make its id.
const TOKEN_ID_DIGITS: usize = 16;

/// A token's stable id: the first 16 hexadecimal digits (64 bits) of its SHA-256. Public (it
/// cannot be turned back into the token), fixed for the token's life, and unique: creating a
/// token makes another one rather than reuse an id (see `Db::create_token`).
pub fn token_id(token: &str) -> String {
    id_of_hash(&token_hash(token))
}

/// The `recorded_by` of the token with this id and label (see [`Principal::recorded_by`]).
pub fn recorded_by_for(token_id: &str, label: &str) -> String {
    if label.is_empty() {
        format!("token:{token_id}")
    } else {
        format!("token:{token_id} ({label})")
    }
}

fn id_of_hash(hash: &str) -> String {
    hash.chars().take(TOKEN_ID_DIGITS).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// Whether `text` has the form of a token id (16 lowercase hexadecimal digits).
pub fn is_token_id(text: &str) -> bool {
    text.len() == TOKEN_ID_DIGITS && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a token's lifetime is written as, for the errors that name it.
pub const LIFETIME_FORMS: &str =
    "a whole number followed by m (minutes), h (hours), d (days) or w (weeks), e.g. 90d, 12h or 2w";
/// The longest lifetime a token may be given (ten years).
const MAX_LIFETIME_DAYS: i64 = 3_650;

/// Why a lifetime such as `90d` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{given}' is not a token lifetime: write {LIFETIME_FORMS}, from 1m up to 3650d")]
pub struct BadLifetime {
    pub given: String,
}

/// A token's lifetime written as `90d`, `12h`, `30m` or `2w` (see [`LIFETIME_FORMS`]).
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, BadLifetime> {
    let bad = || BadLifetime {
        given: text.to_string(),
    };
    let unit = text.chars().last().ok_or_else(bad)?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 7 {
        return Err(bad());
    }
    let number: i64 = number.parse().map_err(|_| bad())?;
    let lifetime = match unit {
        'm' => chrono::Duration::minutes(number),
        'h' => chrono::Duration::hours(number),
        'd' => chrono::Duration::days(number),
        'w' => chrono::Duration::weeks(number),
        _ => return Err(bad()),
    };
    if number == 0 || lifetime > chrono::Duration::days(MAX_LIFETIME_DAYS) {
        return Err(bad());
    }
    Ok(lifetime)
}

/// Where a token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

/// What is known of a token, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenRecord {
    /// The token's id: the first 16 hexadecimal digits of its SHA-256.
    pub id: String,
    pub label: String,
    #[schema(value_type = String, example = "recorder")]
    pub role: AccessRole,
    /// The organisation whose projects it may touch; `*` means all.
    pub organisation: String,
    pub created_at: String,
    /// When it stops being accepted; `null`: never.
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// When a server last looked it up (to within a minute); `null`: never used.
    pub last_used_at: Option<String>,
    pub status: TokenStatus,
}

/// What checking a token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Valid(Principal),
    /// Not a token the store issued.
    Unknown,
    Revoked,
    Expired,
}

/// A token as a server keeps it in memory.
#[derive(Debug, Clone)]
pub(super) struct KnownToken {
    /// `None` when the token was revoked.
    principal: Option<Principal>,
    expires_at: Option<DateTime<Utc>>,
    /// The revocation count this server had read before it looked the token up.
    revision: u64,
}

impl KnownToken {
    fn check(&self, now: DateTime<Utc>) -> TokenCheck {
        match (&self.principal, self.expires_at) {
            (None, _) => TokenCheck::Revoked,
            (Some(_), Some(expires_at)) if now >= expires_at => TokenCheck::Expired,
            (Some(principal), _) => TokenCheck::Valid(principal.clone()),
        }
    }
}

/// The tokens this server found recently, by hash, and the revocation count it last read.
pub(super) struct TokenCache {
    known: moka::sync::Cache<String, KnownToken>,
    revision: AtomicU64,
}

impl TokenCache {
    pub(super) fn new() -> TokenCache {
        TokenCache {
            known: moka::sync::Cache::builder()
                .max_capacity(MAX_CACHED_TOKENS)
                .time_to_live(TOKEN_TTL)
                .build(),
            revision: AtomicU64::new(0),
        }
    }
}

/// One row of `api_tokens`.
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
const TOKEN_COLUMNS: &str =
    "token_hash, role, organisation, label, created_at, expires_at, revoked_at, last_used_at";

fn record_of(row: TokenRow, now: DateTime<Utc>) -> Result<TokenRecord, StoreError> {
    let (hash, role, organisation, label, created_at, expires_at, revoked_at, last_used_at) = row;
    let role = role
        .parse()
        .map_err(|e: UnknownRole| StoreError::Internal(e.to_string()))?;
    let expired = expires_at
        .as_deref()
        .and_then(parse_instant)
        .is_some_and(|at| now >= at);
    let status = if revoked_at.is_some() {
        TokenStatus::Revoked
    } else if expired {
        TokenStatus::Expired
    } else {
        TokenStatus::Active
    };
    Ok(TokenRecord {
        id: id_of_hash(&hash),
        label,
        role,
        organisation,
        created_at,
        expires_at,
        revoked_at,
        last_used_at,
        status,
    })
}

impl Db {
    async fn create_token(
        &self,
        role: AccessRole,
        organisation: &str,
        label: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<String, StoreError> {
        // Ids are 64 bits of the hash: a clash is all but impossible, but never reused.
        let taken = "SELECT COUNT(*) FROM api_tokens WHERE substr(token_hash, 1, 16) = $1";
        let token = loop {
            let token = new_token();
            let id = token_id(&token);
            let (count,): (i64,) = on_db!(self, |pool| sqlx::query_as(taken)
                .bind(&id)
                .fetch_one(pool)
                .await?);
            if count == 0 {
                break token;
            }
        };
        let sql = "INSERT INTO api_tokens (token_hash, role, organisation, label, created_at, \
                   expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
        let hash = token_hash(&token);
        let now = format_instant(now);
        let expires_at = expires_at.map(format_instant);
        on_db!(self, |pool| {
            sqlx::query(sql)
                .bind(&hash)
                .bind(role.as_str())
                .bind(organisation)
                .bind(label)
                .bind(&now)
                .bind(&expires_at)
                .execute(pool)
                .await?;
        });
        Ok(token)
    }

    /// The token with this hash as a server keeps it; marks it used when it is valid.
    async fn look_up(
        &self,
        hash: &str,
        now: DateTime<Utc>,
        revision: u64,
    ) -> Result<Option<KnownToken>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        let row: Option<TokenRow> = on_db!(self, |pool| sqlx::query_as(&sql)
            .bind(hash)
            .fetch_optional(pool)
            .await?);
        let Some(row) = row else {
            return Ok(None);
        };
        let record = record_of(row, now)?;
        let expires_at = record.expires_at.as_deref().and_then(parse_instant);
        if record.status == TokenStatus::Active {
            let used = "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2";
            on_db!(self, |pool| {
                sqlx::query(used)
                    .bind(format_instant(now))
                    .bind(hash)
                    .execute(pool)
                    .await?;
            });
        }
        let principal = (record.status != TokenStatus::Revoked).then_some(Principal {
            token_id: record.id,
            label: record.label,
            role: record.role,
            organisation: record.organisation,
        });
        Ok(Some(KnownToken {
            principal,
            expires_at,
            revision,
        }))
    }

    async fn list_tokens(&self, now: DateTime<Utc>) -> Result<Vec<TokenRecord>, StoreError> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, token_hash");
        let rows: Vec<TokenRow> = on_db!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(|row| record_of(row, now)).collect()
    }

    async fn token_by_id(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, TokenRecord)>, StoreError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE substr(token_hash, 1, 16) = $1");
        let row: Option<TokenRow> = on_db!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await?);
        row.map(|row| {
            let hash = row.0.clone();
            record_of(row, now).map(|record| (hash, record))
        })
        .transpose()
    }

    /// Marks the token revoked (keeping the first revocation's time) and counts the
    /// revocation, in one transaction. Its sessions are left to end when next met (the page
    /// then says that the token is no longer accepted, rather than that the session ran out).
    async fn revoke_token(&self, hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let revoke = "UPDATE api_tokens SET revoked_at = $1 \
                      WHERE token_hash = $2 AND revoked_at IS NULL";
        let count = "UPDATE token_revisions SET revision = revision + 1";
        let now = format_instant(now);
        on_db!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(revoke)
                .bind(&now)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query(count).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    async fn token_revision(&self) -> Result<u64, StoreError> {
        let (revision,): (i64,) = on_db!(self, |pool| {
            sqlx::query_as("SELECT revision FROM token_revisions")
                .fetch_one(pool)
                .await?
        });
        Ok(revision.max(0) as u64)
    }

    async fn token_count(&self) -> Result<u64, StoreError> {
        let (count,): (i64,) = on_db!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM api_tokens")
                .fetch_one(pool)
                .await?
        });
        Ok(count.max(0) as u64)
    }
}

impl Store {
    /// Creates a token that never expires; returns it in plain text (`coprod_` and 64 hex
    /// digits). Only its SHA-256 is stored: it cannot be shown again.
    pub async fn create_token(
        &self,
        role: AccessRole,
        organisation: &str,
        label: &str,
    ) -> Result<String, StoreError> {
        self.create_expiring_token(role, organisation, label, None)
            .await
            .map(|(token, _)| token)
    }

    /// Creates a token accepted for `lifetime` from now (for ever without one); returns it in
    /// plain text, and its record.
    pub async fn create_expiring_token(
        &self,
        role: AccessRole,
        organisation: &str,
        label: &str,
        lifetime: Option<chrono::Duration>,
    ) -> Result<(String, TokenRecord), StoreError> {
        let now = self.inner.clock.now();
        let expires_at = lifetime.map(|lifetime| now + lifetime);
        let db = &self.inner.db;
        let token = db
            .create_token(role, organisation, label, now, expires_at)
            .await?;
        let (_, record) = db
            .token_by_id(&token_id(&token), now)
            .await?
            .ok_or_else(|| StoreError::Internal("a token just made is not there".into()))?;
        Ok((token, record))
    }

    /// Who a bearer token speaks for; `None` if it is not a token the store issued, or no longer
    /// valid (see [`Store::check_token`] for why).
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>, StoreError> {
        Ok(match self.check_token(token).await? {
            TokenCheck::Valid(principal) => Some(principal),
            _ => None,
        })
    }

    /// Whether a bearer token is valid, and who it speaks for.
    pub async fn check_token(&self, token: &str) -> Result<TokenCheck, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(TokenCheck::Unknown);
        }
        self.check_token_hash(&token_hash(token)).await
    }

    /// [`Store::check_token`] by the token's hash (what a session keeps). A token found is kept
    /// for [`TOKEN_TTL`] or until a revocation; one not found is asked for again every time, so
    /// that a token created by another process works at once.
    pub async fn check_token_hash(&self, hash: &str) -> Result<TokenCheck, StoreError> {
        let cache = &self.inner.tokens;
        let revision = cache.revision.load(Ordering::Acquire);
        let now = self.inner.clock.now();
        if let Some(known) = cache.known.get(hash).filter(|k| k.revision >= revision) {
            return Ok(known.check(now));
        }
        let Some(known) = self.inner.db.look_up(hash, now, revision).await? else {
            return Ok(TokenCheck::Unknown);
        };
        cache.known.insert(hash.to_string(), known.clone());
        Ok(known.check(now))
    }

    /// Every token's record, oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.db.list_tokens(self.inner.clock.now()).await
    }

    /// The record of the token with id `id`, if there is one.
    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        if !is_token_id(id) {
            return Ok(None);
        }
        let found = self
            .inner
            .db
            .token_by_id(id, self.inner.clock.now())
            .await?;
        Ok(found.map(|(_, record)| record))
    }

    /// Revokes the token with id `id` and ends its sessions: every server refuses it within a
    /// second. Revoking a revoked token changes nothing. `None` if there is no such token.
    pub async fn revoke_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        if !is_token_id(id) {
            return Ok(None);
        }
        let now = self.inner.clock.now();
        let db = &self.inner.db;
        let Some((hash, _)) = db.token_by_id(id, now).await? else {
            return Ok(None);
        };
        db.revoke_token(&hash, now).await?;
        self.inner.tokens.known.invalidate(&hash);
        Ok(db.token_by_id(id, now).await?.map(|(_, record)| record))
    }

    /// Reads the revocation count every [`REVISION_POLL`], for ever (a server runs it beside
    /// its requests); a failed read is logged once and tried again.
    pub async fn follow_revocations(&self) {
        let mut every = tokio::time::interval(REVISION_POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            every.tick().await;
            match self.inner.db.token_revision().await {
                Ok(revision) => {
                    self.inner
                        .tokens
                        .revision
                        .fetch_max(revision, Ordering::AcqRel);
                    failing = false;
                }
                Err(error) if !failing => {
                    tracing::warn!(%error, "cannot read the token revocations; will retry");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    }

    pub async fn token_count(&self) -> Result<u64, StoreError> {
        self.inner.db.token_count().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_a_whole_number_and_a_unit() {
        assert_eq!(parse_lifetime("90d"), Ok(chrono::Duration::days(90)));
        assert_eq!(parse_lifetime("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_lifetime("30m"), Ok(chrono::Duration::minutes(30)));
        assert_eq!(parse_lifetime("2w"), Ok(chrono::Duration::weeks(2)));
        assert_eq!(parse_lifetime("3650d"), Ok(chrono::Duration::days(3650)));
        for bad in [
            "",
            "d",
            "90",
            "90 d",
            "90D",
            "-1d",
            "+1d",
            "0d",
            "1.5d",
            "90days",
            "3651d",
            "99999999d",
            "１d",
            "d１",
            "é",
        ] {
            assert!(parse_lifetime(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_ids_are_sixteen_lowercase_hex_digits() {
        assert!(is_token_id(&token_id("coprod_x")));
        assert!(!is_token_id("0123456789ABCDEF"));
        assert!(!is_token_id("0123456789abcde"));
        assert!(!is_token_id("0123456789abcdefa"));
    }
}
