//! Where the master key comes from: `COPROD_MASTER_KEY` (64 hexadecimal digits), or else a key
//! file (`COPROD_MASTER_KEY_FILE`; by default `master.key` beside the SQLite database, or
//! `./data/master.key` with PostgreSQL), created with mode 0600 on a database's first start.
//! A missing or wrong key stops the command before anything is served.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::{MasterKey, MasterKeyRefused, Store};

pub const MASTER_KEY_ENV: &str = "COPROD_MASTER_KEY";
pub const NEW_MASTER_KEY_ENV: &str = "COPROD_NEW_MASTER_KEY";
pub const MASTER_KEY_FILE_ENV: &str = "COPROD_MASTER_KEY_FILE";
const KEY_FILE_NAME: &str = "master.key";

/// The key file's default place: beside the SQLite file, or under `./data`.
pub fn default_key_file(database_url: &str) -> PathBuf {
    let sqlite_dir = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|path| path.split('?').next().unwrap_or(path))
        .and_then(|path| Path::new(path).parent().map(Path::to_path_buf))
        .filter(|dir| !dir.as_os_str().is_empty());
    sqlite_dir
        .unwrap_or_else(|| PathBuf::from("./data"))
        .join(KEY_FILE_NAME)
}

/// Where a rotation writes the new key until the database has switched to it.
fn pending_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The master key as configured in the environment, if it is given there.
fn from_env(name: &str) -> Result<Option<MasterKey>, String> {
    match std::env::var(name) {
        Ok(text) => MasterKey::parse(&text)
            .map(Some)
            .map_err(|e| format!("{name}: {e}")),
        Err(_) => Ok(None),
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the master key file {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "the master key file {} can be read by other users (mode {:o}): run `chmod 600` on it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the master key file {}: {e}", path.display()))?;
    MasterKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a key file that only its owner can read; never overwrites one.
fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), String> {
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
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create the master key file {}: {e}", path.display()))?;
    writeln!(file, "{}", key.to_hex())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write the master key file {}: {e}", path.display()))
}

fn refused(error: MasterKeyRefused, source: &str) -> String {
    match error {
        MasterKeyRefused::WrongKey { .. } => format!("{error} (the key came from {source})"),
        MasterKeyRefused::Store(message) => message,
    }
}

/// Finds the master key and gives it to `store`: from the environment, from the key file, or —
/// for a database that has none yet — a new key written to the key file.
pub async fn unlock(store: &Store, key_file: &Path) -> Result<(), String> {
    if let Some(key) = from_env(MASTER_KEY_ENV)? {
        return store
            .unlock(key)
            .await
            .map_err(|e| refused(e, MASTER_KEY_ENV));
    }
    let source = key_file.display().to_string();
    if key_file.exists() {
        let key = read_key_file(key_file)?;
        return match store.unlock(key).await {
            Err(MasterKeyRefused::WrongKey { .. }) if pending_file(key_file).exists() => {
                finish_rotation(store, key_file).await
            }
            other => other.map_err(|e| refused(e, &source)),
        };
    }
    if let Some(expected) = store
        .recorded_master_key()
        .await
        .map_err(|e| e.to_string())?
    {
        return Err(format!(
            "this database's personal data is encrypted under master key {expected}, but \
             {MASTER_KEY_ENV} is not set and the key file {source} does not exist: give the key \
             (nothing was served)"
        ));
    }
    let key = MasterKey::generate();
    write_key_file(key_file, &key)?;
    tracing::info!(path = %source, key = key.id(), "created a new master key file: back it up");
    store.unlock(key).await.map_err(|e| refused(e, &source))
}

/// A rotation stopped after the database switched but before the new key file replaced the old.
async fn finish_rotation(store: &Store, key_file: &Path) -> Result<(), String> {
    let pending = pending_file(key_file);
    let key = read_key_file(&pending)?;
    store
        .unlock(key)
        .await
        .map_err(|e| refused(e, &pending.display().to_string()))?;
    std::fs::rename(&pending, key_file)
        .map_err(|e| format!("cannot move {} into place: {e}", pending.display()))?;
    tracing::warn!(path = %key_file.display(), "finished an interrupted master key rotation");
    Ok(())
}

/// Re-wraps every data key under a new master key. With `COPROD_MASTER_KEY` in use, the new key
/// comes from `COPROD_NEW_MASTER_KEY` (then set `COPROD_MASTER_KEY` to it); with a key file, a
/// new key is generated and the file replaced once the database has switched. Returns a line
/// to tell the operator.
pub async fn rotate(store: &Store, key_file: &Path) -> Result<String, String> {
    unlock(store, key_file).await?;
    if std::env::var(MASTER_KEY_ENV).is_ok() {
        let new = from_env(NEW_MASTER_KEY_ENV)?.ok_or_else(|| {
            format!("{MASTER_KEY_ENV} is in use: give the new key in {NEW_MASTER_KEY_ENV}")
        })?;
        let count = store
            .rotate_master_key(&new)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(format!(
            "re-wrapped {} under master key {}; set {MASTER_KEY_ENV} to the new key before the next start",
            count_of_keys(count),
            new.id()
        ));
    }
    let new = MasterKey::generate();
    let pending = pending_file(key_file);
    if pending.exists() {
        std::fs::remove_file(&pending)
            .map_err(|e| format!("cannot remove a stale {}: {e}", pending.display()))?;
    }
    write_key_file(&pending, &new)?;
    let count = store
        .rotate_master_key(&new)
        .await
        .map_err(|e| e.to_string())?;
    std::fs::rename(&pending, key_file)
        .map_err(|e| format!("cannot move {} into place: {e}", pending.display()))?;
    Ok(format!(
        "re-wrapped {} under master key {}; {} now holds it",
        count_of_keys(count),
        new.id(),
        key_file.display()
    ))
}

/// A new master key, for `COPROD_MASTER_KEY` / `COPROD_NEW_MASTER_KEY`.
pub fn generate() -> String {
    MasterKey::generate().to_hex()
}

/// "1 data key", "3 data keys".
fn count_of_keys(count: impl TryInto<usize>) -> String {
    coprod_domain::words::count(
        count.try_into().unwrap_or(usize::MAX),
        "data key",
        "data keys",
    )
}
