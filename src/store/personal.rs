//! What the store does with personal data (docs/architecture.md, invariant 8), over the participants' data keys of
//! `keys.rs`: taking the master key and rotating it, destroying a participant's key when they are
//! erased (and cleaning up after it, see `erasure.rs`), opening the sealed fields of entries read back, subject access, and checking seals
//! over opened entries.

use coprod_domain::recorded::format_instant;
use coprod_domain::{RecordedEvent, StoredEntry};
use serde_json::Value;
use uuid::Uuid;

use super::{ErasureResidue, MasterKey, MasterKeyRefused, Store, StoreError};

impl Store {
    /// Gives the store the master key that wraps participants' data keys, after checking it is
    /// this database's (a fresh database adopts it). Needed before personal data is written or
    /// read; then destroys any key whose erasure is recorded but whose deletion did not finish,
    /// and cleans up after it.
    pub async fn unlock(&self, master: MasterKey) -> Result<(), MasterKeyRefused> {
        self.inner.keys.unlock(master).await?;
        let leftover = self
            .inner
            .keys
            .destroy_erased()
            .await
            .map_err(|e| MasterKeyRefused::Store(e.to_string()))?;
        if leftover > 0 {
            let residue = self.inner.db.clean_up_after_erasure(true).await;
            tracing::warn!(
                leftover,
                database_clean = residue.database_clean,
                "destroyed data keys of participants already erased"
            );
        }
        Ok(())
    }

    /// A secret for `purpose` that every server holding this database's master key shares and
    /// nothing else can make ([`MasterKey::derive`]); `None` before the master key is given.
    pub fn derived_secret(&self, purpose: &str) -> Option<[u8; 32]> {
        self.inner.keys.derived(purpose)
    }

    /// The id of the master key this database's personal data is encrypted under, if any yet.
    pub async fn recorded_master_key(&self) -> Result<Option<String>, StoreError> {
        self.inner.keys.recorded_master_key().await
    }

    /// Re-wraps every data key under `new` and makes it this database's master key; the events
    /// are not touched. Returns how many data keys were re-wrapped.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<u64, StoreError> {
        self.inner.keys.rotate(new).await
    }

    /// Destroys a participant's data key (after their erasure is recorded), then removes what
    /// the database's files still hold of it: on SQLite the write-ahead log is checkpointed and
    /// truncated, on PostgreSQL the table is rewritten. Says what that achieved and what copies
    /// remain outside the database. Runs the clean-up even when the key was already gone, so
    /// that repeating an erasure finishes one that stopped half-way. Only deleting the key can
    /// fail: a clean-up that does not finish is logged, and the next start or erasure retries.
    pub async fn destroy_data_key(
        &self,
        project_id: Uuid,
        participant_id: &str,
    ) -> Result<ErasureResidue, StoreError> {
        let key_deleted = self
            .inner
            .keys
            .destroy(&project_id.to_string(), participant_id)
            .await?;
        Ok(self.inner.db.clean_up_after_erasure(key_deleted).await)
    }

    /// Opens the personal fields of a project's entries where they can still be read; erased
    /// ones (their erasure is among `events`, or their key is gone) become `Personal::Erased`.
    pub async fn open_personal_data(
        &self,
        project_id: Uuid,
        events: &mut [RecordedEvent],
    ) -> Result<(), StoreError> {
        self.inner.keys.open(&project_id.to_string(), events).await
    }

    /// Subject access: every entry of a project about `participant` (see
    /// [`coprod_domain::personal::about`]), with their personal data decrypted where it still
    /// exists; `None` if no entry names them.
    pub async fn subject_access(
        &self,
        project_id: Uuid,
        participant: &str,
    ) -> Result<Option<Value>, StoreError> {
        let events = self.recorded_events(project_id).await?;
        let about = coprod_domain::personal::about(&events, participant);
        if about.is_empty() {
            return Ok(None);
        }
        let erased_at = coprod_domain::personal::erasures(&events)
            .into_iter()
            .find(|(who, _)| *who == participant)
            .map(|(_, sequence)| sequence);
        let entries: Vec<Value> = about
            .iter()
            .map(|entry| {
                serde_json::json!({
                    "sequence": entry.sequence,
                    "recorded_at": format_instant(entry.recorded_at),
                    "recorded_by": entry.recorded_by,
                    "event": entry.event,
                })
            })
            .collect();
        Ok(Some(serde_json::json!({
            "project_id": project_id,
            "participant_id": participant,
            "erased_at": erased_at,
            "entries": entries,
        })))
    }

    /// Replays every seal among a project's stored `entries`, with its personal data opened.
    pub async fn check_seals(
        &self,
        project_id: Uuid,
        entries: &[StoredEntry],
    ) -> Result<Vec<coprod_domain::seal::SealCheck>, StoreError> {
        let decoded = match coprod_domain::seal::decode(entries) {
            Ok(mut events) => {
                self.open_personal_data(project_id, &mut events).await?;
                Ok(events)
            }
            Err(why) => Err(why),
        };
        Ok(coprod_domain::seal::check_seals_with(entries, decoded))
    }
}
