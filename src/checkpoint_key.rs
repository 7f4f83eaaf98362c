//! Where the checkpoint key comes from, and when `serve` makes checkpoints with it.
//!
//! The key that signs checkpoints (docs/checkpoints.md) is kept apart from the database, like the
//! master key: `COPROD_CHECKPOINT_KEY` (64 hexadecimal digits, the Ed25519 secret), or else a key
//! file (`COPROD_CHECKPOINT_KEY_FILE`; by default `checkpoint.key` beside the SQLite database, or
//! `./data/checkpoint.key` with PostgreSQL) that only its owner may read.
//!
//! Only `coprod checkpoint` creates a key, and only for a database that holds no checkpoint yet:
//! a new key can then not be mistaken for the one an existing history was signed with. `serve`
//! never creates one: without a key it starts, says that checkpoints are off, and makes none.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use coprod_domain::checkpoint::{CheckpointPublicKey, CheckpointSigningKey};
use rand::RngCore;

use crate::store::{CheckpointError, Store};

pub const CHECKPOINT_KEY_ENV: &str = "COPROD_CHECKPOINT_KEY";
pub const CHECKPOINT_KEY_FILE_ENV: &str = "COPROD_CHECKPOINT_KEY_FILE";
const KEY_FILE_NAME: &str = "checkpoint.key";
/// How often `serve` makes a checkpoint (when anything changed) unless told otherwise.
pub const DEFAULT_EVERY: &str = "10m";

/// The key file's default place: beside the master key's (beside the SQLite file, or `./data`).
pub fn default_key_file(database_url: &str) -> PathBuf {
    crate::master_key::default_key_file(database_url).with_file_name(KEY_FILE_NAME)
}

/// A checkpoint key found, and where it came from (for messages).
pub struct FoundKey {
    pub key: CheckpointSigningKey,
    pub source: String,
}

/// The checkpoint key from the environment or the key file; `None` when neither gives one.
pub fn find(key_file: &Path) -> Result<Option<FoundKey>, String> {
    if let Ok(text) = std::env::var(CHECKPOINT_KEY_ENV) {
        let key = CheckpointSigningKey::from_hex(&text)
            .map_err(|e| format!("{CHECKPOINT_KEY_ENV}: {e}"))?;
        return Ok(Some(FoundKey {
            key,
            source: CHECKPOINT_KEY_ENV.to_string(),
        }));
    }
    if !key_file.exists() {
        return Ok(None);
    }
    let source = key_file.display().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file)
            .map_err(|e| format!("cannot read the checkpoint key file {source}: {e}"))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the checkpoint key file {source} can be read by other users (mode {:o}): run \
                 `chmod 600` on it",
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read the checkpoint key file {source}: {e}"))?;
    let key = CheckpointSigningKey::from_hex(&text).map_err(|e| format!("{source}: {e}"))?;
    Ok(Some(FoundKey { key, source }))
}

/// Whether the database's checkpoints were signed with another key than `key`; the message
/// that says so.
async fn other_key(store: &Store, key: &CheckpointPublicKey, source: &str) -> Result<(), String> {
    let (count, key_id) = store
        .stored_checkpoints()
        .await
        .map_err(|e| e.to_string())?;
    match key_id {
        Some(signed_with) if signed_with != key.key_id().to_string() => Err(format!(
            "this database's {} signed with key {signed_with}, but the \
             checkpoint key from {source} is {}: give the key they were made with",
            checkpoints_are(count),
            key.key_id()
        )),
        _ => Ok(()),
    }
}

/// The checkpoint key, as `coprod checkpoint` needs it: found, or — for a database with no
/// checkpoint yet — a new key written to the key file (mode 0600).
pub async fn find_or_create(store: &Store, key_file: &Path) -> Result<FoundKey, String> {
    if let Some(found) = find(key_file)? {
        other_key(store, &found.key.public_key(), &found.source).await?;
        return Ok(found);
    }
    let (count, key_id) = store
        .stored_checkpoints()
        .await
        .map_err(|e| e.to_string())?;
    if count > 0 {
        return Err(format!(
            "this database holds {} signed with key {}, but \
             {CHECKPOINT_KEY_ENV} is not set and the key file {} does not exist: give the key \
             (no checkpoint was made)",
            count_of_checkpoints(count),
            key_id.unwrap_or_default(),
            key_file.display()
        ));
    }
    let key = generate();
    write_key_file(key_file, &key)?;
    let source = key_file.display().to_string();
    tracing::info!(
        path = %source,
        public_key = %key.public_key(),
        "created a new checkpoint key file: back it up, and publish its public key"
    );
    Ok(FoundKey { key, source })
}

/// A new random checkpoint key.
pub fn generate() -> CheckpointSigningKey {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    CheckpointSigningKey::from_bytes(&secret)
}

/// Writes a key file that only its owner can read; never overwrites one.
fn write_key_file(path: &Path, key: &CheckpointSigningKey) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        format!(
            "cannot create the checkpoint key file {}: {e}",
            path.display()
        )
    })?;
    writeln!(file, "{}", key.to_hex())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            format!(
                "cannot write the checkpoint key file {}: {e}",
                path.display()
            )
        })
}

/// Reads a public key given on the command line: 64 hexadecimal digits, or a file holding them.
pub fn parse_public_key(text: &str) -> Result<CheckpointPublicKey, String> {
    if let Ok(key) = CheckpointPublicKey::from_hex(text) {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.is_file() {
        let held = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return CheckpointPublicKey::from_hex(&held)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    Err(format!(
        "--public-key '{text}': {}, or the name of a file holding it",
        coprod_domain::checkpoint::KeyError::PublicKey
    ))
}

/// Reads how often to make checkpoints: a whole number of seconds, or of minutes or hours with
/// `s`, `m` or `h` after it (`90s`, `10m`, `1h`); `off` for never.
pub fn parse_every(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => 0,
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 && seconds_per > 0 => Ok(Some(Duration::from_secs(n * seconds_per))),
        _ => Err(format!(
            "--checkpoint-every '{text}' is not a time like 90s, 10m or 1h (or 'off')"
        )),
    }
}

/// For `serve`: gives `store` the checkpoint key if one is found and starts making a checkpoint
/// every `every` (and once at the start) whenever anything changed. Without a key, or with
/// `every` off, it says that checkpoints are off and makes none.
pub async fn start_checkpoints(store: &Store, key_file: &Path, every: Option<Duration>) {
    let found = match find(key_file) {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::warn!(
                key_file = %key_file.display(),
                "checkpoints are off: no checkpoint key ({CHECKPOINT_KEY_ENV} is not set and the \
                 key file does not exist); run `coprod checkpoint` once to create one"
            );
            return;
        }
        Err(why) => {
            tracing::error!("checkpoints are off: {why}");
            return;
        }
    };
    let public_key = found.key.public_key();
    if let Err(why) = other_key(store, &public_key, &found.source).await {
        // Not fatal: the checks will report that the stored checkpoints do not verify.
        tracing::error!("{why}");
    }
    store.set_checkpoint_key(found.key);
    let Some(every) = every else {
        tracing::info!(%public_key, "checkpoints are checked but not made (--checkpoint-every off)");
        return;
    };
    tracing::info!(
        %public_key,
        every_seconds = every.as_secs(),
        "checkpoints on: one is made whenever anything changed"
    );
    let store = store.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.make_checkpoint(true).await {
                Ok(Some(made)) => tracing::info!(
                    number = made.checkpoint.checkpoint.number,
                    projects = made.checkpoint.checkpoint.heads.size,
                    logged = made.logged,
                    "checkpoint made"
                ),
                Ok(None) => tracing::debug!("nothing changed since the latest checkpoint"),
                Err(CheckpointError::Raced(number)) => {
                    tracing::info!(number, "another process made this checkpoint")
                }
                Err(error) => tracing::error!(%error, "no checkpoint made"),
            }
        }
    });
}

/// "1 checkpoint", "2 checkpoints".
fn count_of_checkpoints(count: impl TryInto<usize>) -> String {
    coprod_domain::words::count(
        count.try_into().unwrap_or(usize::MAX),
        "checkpoint",
        "checkpoints",
    )
}

/// "1 checkpoint is", "2 checkpoints are".
fn checkpoints_are(count: impl TryInto<usize> + Copy) -> String {
    let n = count.try_into().unwrap_or(usize::MAX);
    format!(
        "{} {}",
        count_of_checkpoints(n),
        coprod_domain::words::agrees(n, "is", "are")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_read_in_seconds_minutes_or_hours_or_off() {
        assert_eq!(parse_every("90").unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(parse_every("90s").unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(parse_every("10m").unwrap(), Some(Duration::from_secs(600)));
        assert_eq!(parse_every("1H").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(parse_every("off").unwrap(), None);
        for bad in ["", "0", "10x", "-5m", "m", "ten minutes"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_key_file_sits_beside_the_master_key() {
        assert_eq!(
            default_key_file("sqlite:///srv/coprod/coprod.db"),
            PathBuf::from("/srv/coprod/checkpoint.key")
        );
        assert_eq!(
            default_key_file("postgres://localhost/coprod"),
            PathBuf::from("./data/checkpoint.key")
        );
    }
}
