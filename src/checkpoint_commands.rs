//! The command line's part in signed checkpoints (docs/checkpoints.md): `coprod checkpoint`
//! (make one, show one, print the public key), and what `coprod verify` adds: every trail checked
//! against the latest checkpoint and its view's head, or, offline, an exported trail checked
//! against a checkpoint bundle with a public key.

use coprod_domain::words::count;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use coprod_domain::checkpoint::{check_trail, CheckpointLog, SignedCheckpoint};
use coprod_domain::StoredEntry;
use uuid::Uuid;

use crate::app::checkpoints::CheckpointBundle;
use crate::checkpoint_key::{self, CHECKPOINT_KEY_ENV};
use crate::store::{CheckpointError, GuardedEntries, Store};

/// Why a checkpoint command stopped: a finding (exit 1) or an error (exit 2).
#[derive(Debug)]
pub enum Stopped {
    Finding(String),
    Error(String),
}

/// `coprod checkpoint`: makes and stores a checkpoint of every project's head now, printing it
/// as JSON on stdout and what it covers, with the public key, on stderr.
pub async fn make(store: &Store, key_file: &Path) -> Result<(), Stopped> {
    let found = checkpoint_key::find_or_create(store, key_file)
        .await
        .map_err(Stopped::Error)?;
    let public_key = found.key.public_key();
    store.set_checkpoint_key(found.key);
    let made = match store.make_checkpoint(false).await {
        Ok(Some(made)) => made,
        Ok(None) => return Err(Stopped::Error("no checkpoint was made".into())),
        Err(refused @ CheckpointError::Refused { .. }) => {
            return Err(Stopped::Finding(refused.to_string()))
        }
        Err(untrusted @ (CheckpointError::Untrusted(_) | CheckpointError::Removed { .. })) => {
            return Err(Stopped::Finding(untrusted.to_string()))
        }
        Err(other) => return Err(Stopped::Error(other.to_string())),
    };
    let body = &made.checkpoint.checkpoint;
    println!("{}", to_json(&made.checkpoint)?);
    eprintln!(
        "checkpoint {} made: {}, {} newly logged; public key {public_key} \
         (from {}): publish it, and the checkpoint, where the database cannot reach",
        body.number,
        count(body.heads.size as usize, "project", "projects"),
        count(made.logged as usize, "head", "heads"),
        found.source
    );
    Ok(())
}

/// `coprod checkpoint show`: checkpoint `number` (the latest by default) as JSON; with a
/// project, the bundle of the checkpoint and that project's head proof.
pub async fn show(
    store: &Store,
    key_file: &Path,
    public_key: Option<&str>,
    number: Option<u64>,
    project: Option<Uuid>,
) -> Result<(), Stopped> {
    give_public_key(store, key_file, public_key)?.ok_or_else(|| {
        Stopped::Error(format!(
            "no checkpoint key: give --public-key, set {CHECKPOINT_KEY_ENV}, or create {} with \
             `coprod checkpoint`",
            key_file.display()
        ))
    })?;
    let log = store
        .checkpoint_log()
        .await
        .map_err(|e| Stopped::Finding(e.to_string()))?;
    let number = match number.or_else(|| log.latest().map(|l| l.checkpoint.number)) {
        Some(number) => number,
        None => return Err(Stopped::Error("no checkpoint has been made yet".into())),
    };
    let checkpoint = log
        .checkpoint(number)
        .cloned()
        .ok_or_else(|| Stopped::Error(format!("there is no checkpoint {number}")))?;
    let text = match project {
        None => to_json(&checkpoint)?,
        Some(project_id) => {
            let proof = log
                .head_proof(number, project_id)
                .map_err(|e| Stopped::Error(e.to_string()))?;
            to_json(&CheckpointBundle { checkpoint, proof })?
        }
    };
    println!("{text}");
    Ok(())
}

/// `coprod checkpoint public-key`: the public key to publish.
pub fn print_public_key(key_file: &Path) -> Result<(), Stopped> {
    match checkpoint_key::find(key_file).map_err(Stopped::Error)? {
        Some(found) => {
            println!("{}", found.key.public_key());
            Ok(())
        }
        None => Err(Stopped::Error(format!(
            "no checkpoint key: {CHECKPOINT_KEY_ENV} is not set and {} does not exist (run \
             `coprod checkpoint` to make the first checkpoint and the key)",
            key_file.display()
        ))),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Stopped> {
    serde_json::to_string(value).map_err(|e| Stopped::Error(e.to_string()))
}

/// Gives `store` the public key to check checkpoints with: `--public-key`, or that of the
/// checkpoint key; `None` when there is neither.
fn give_public_key(
    store: &Store,
    key_file: &Path,
    public_key: Option<&str>,
) -> Result<Option<()>, Stopped> {
    if let Some(text) = public_key {
        let key = checkpoint_key::parse_public_key(text).map_err(Stopped::Error)?;
        store.set_checkpoint_public_key(key);
        return Ok(Some(()));
    }
    match checkpoint_key::find(key_file).map_err(Stopped::Error)? {
        Some(found) => {
            store.set_checkpoint_key(found.key);
            Ok(Some(()))
        }
        None => Ok(None),
    }
}

/// What `coprod verify` (over the database) checks trails against besides their chains.
pub struct VerifyChecks {
    /// The log, when a key was given (or why it could not be read).
    log: Option<Result<Arc<CheckpointLog>, CheckpointError>>,
}

impl VerifyChecks {
    /// Finds the key to check checkpoints with (`--public-key`, or the checkpoint key) and
    /// reads the log; without either, says on stderr that trails are not checked against one.
    pub async fn prepare(
        store: &Store,
        key_file: &Path,
        public_key: Option<&str>,
    ) -> Result<VerifyChecks, String> {
        let given =
            give_public_key(store, key_file, public_key).map_err(|stopped| match stopped {
                Stopped::Finding(why) | Stopped::Error(why) => why,
            })?;
        if given.is_none() {
            eprintln!(
                "no checkpoint key ({CHECKPOINT_KEY_ENV}, {}, or --public-key): trails are not \
                 checked against a signed checkpoint",
                key_file.display()
            );
            return Ok(VerifyChecks { log: None });
        }
        let log = match store.checkpoint_log().await {
            Err(CheckpointError::Store(error)) => return Err(error.to_string()),
            other => other,
        };
        Ok(VerifyChecks { log: Some(log) })
    }

    /// `projects`, and every project the latest checkpoint holds that is not among them (a
    /// trail removed whole is still checked against its checkpointed head).
    pub fn with_checkpointed(&self, mut projects: Vec<Uuid>) -> Vec<Uuid> {
        if let Some(Ok(log)) = &self.log {
            if let Some(latest) = log.latest() {
                let heads = log.heads_at(latest.checkpoint.number).unwrap_or_default();
                for head in heads {
                    if !projects.contains(&head.project_id) {
                        projects.push(head.project_id);
                    }
                }
            }
        }
        projects
    }

    /// Prints what checking one trail against the checkpoint and its view found; true unless
    /// either failed.
    pub fn report(
        &self,
        out: &mut impl Write,
        label: &str,
        guarded: &GuardedEntries,
    ) -> std::io::Result<bool> {
        let mut intact = true;
        if let Some(log) = &self.log {
            let check = &guarded.checkpoint;
            let which = check
                .number
                .map(|n| format!("checkpoint {n}"))
                .unwrap_or_else(|| "checkpoint".into());
            let problem = check.problem.as_deref().unwrap_or_default();
            match check.valid {
                Some(true) => writeln!(
                    out,
                    "{label} {which}: OK (the trail holds its entry {})",
                    check.sequence.unwrap_or_default()
                )?,
                Some(false) => {
                    writeln!(out, "{label} {which}: FAILS. {problem}")?;
                    intact = false;
                }
                None if log.is_ok() => writeln!(out, "{label} {which}: NOT CHECKED. {problem}")?,
                None => {}
            }
        }
        if guarded.view.valid == Some(false) {
            let problem = guarded.view.problem.as_deref().unwrap_or_default();
            writeln!(out, "{label} view: FAILS. {problem}")?;
            intact = false;
        }
        Ok(intact)
    }
}

/// `coprod verify --file … --checkpoint … --public-key …`: checks the checkpoint's signature
/// and the proof of the project's head in it, then that the exported trail still holds that
/// head. Prints the finding; true when everything holds.
pub fn check_file(
    out: &mut impl Write,
    label: &str,
    entries: &[StoredEntry],
    checkpoint_file: &Path,
    public_key: &str,
) -> Result<bool, String> {
    let key = checkpoint_key::parse_public_key(public_key)?;
    let name = checkpoint_file.display();
    let text =
        std::fs::read_to_string(checkpoint_file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{name} is not JSON: {e}"))?;
    if value.get("proof").is_none() {
        serde_json::from_value::<SignedCheckpoint>(value)
            .map_err(|e| format!("{name} is not a checkpoint nor a checkpoint bundle: {e}"))?;
        return Err(format!(
            "{name} holds a checkpoint but no proof of the project's head: give the bundle \
             {{\"checkpoint\", \"proof\"}} that GET /api/v1/checkpoints/{{n}}/projects/{{id}}/proof \
             or `coprod checkpoint show --project ID` writes"
        ));
    }
    let bundle: CheckpointBundle = serde_json::from_value(value)
        .map_err(|e| format!("{name} is not a checkpoint bundle: {e}"))?;
    let number = bundle.checkpoint.checkpoint.number;
    let write =
        |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(|e| e.to_string());
    let head = match bundle.proof.verify_head(&bundle.checkpoint, &key) {
        Ok(head) => head,
        Err(error) => {
            write(out, format!("{label} checkpoint {number}: FAILS. {error}"))?;
            return Ok(false);
        }
    };
    match check_trail(entries, &head) {
        Ok(()) => write(
            out,
            format!(
                "{label} checkpoint {number}: OK (signature holds; the trail holds its entry {})",
                head.sequence
            ),
        )?,
        Err(mismatch) => {
            write(
                out,
                format!("{label} checkpoint {number}: FAILS. {mismatch}"),
            )?;
            return Ok(false);
        }
    }
    Ok(true)
}
