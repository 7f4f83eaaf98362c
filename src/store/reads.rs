//! What the API reads back: a project's entries (stored, or decoded with personal data opened),
//! its newest entry and organisation, its chain checked again, and the views (after this
//! process's own commits have reached them).

use coprod_domain::digest::{verify_chain, ChainCheck, RECORDED_AT_KEY};
use coprod_domain::{Digest, ProjectEvent, RecordedEvent, StoredEntry};
use serde_json::Value;
use uuid::Uuid;

use super::{Store, StoreError};

/// Projects whose organisation this process keeps (each read once: a registration never changes).
pub(super) const MAX_CACHED_ORGANISATIONS: u64 = 100_000;

/// The newest entry of a registered project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectHead {
    pub project_id: Uuid,
    pub organisation: String,
    pub sequence: u64,
    pub digest: Digest,
    pub recorded_at: String,
}

impl Store {
    /// The newest entry of a project; `None` if it is not registered.
    pub async fn project_head(&self, project_id: Uuid) -> Result<Option<ProjectHead>, StoreError> {
        let id = project_id.to_string();
        let newest = self.read(|db| {
            let id = id.clone();
            async move { db.entry(&id, None).await }
        });
        let Some(last) = newest.await? else {
            return Ok(None);
        };
        let organisation = match self.project_organisation(project_id).await? {
            Some(organisation) => organisation,
            // The registration was removed or altered behind our back: the view still knows
            // whose project it is, so that assurance can be shown the damage rather than an error.
            None => self
                .view(project_id)
                .await?
                .and_then(|view| view.get("organisation")?.as_str().map(str::to_string))
                .ok_or_else(|| {
                    StoreError::Internal(format!("project {id} has no readable registration"))
                })?,
        };
        let digest = last.stored_digest().ok_or_else(|| {
            StoreError::Internal(format!("project {id}: last entry has no digest"))
        })?;
        let recorded_at = last
            .metadata
            .get(RECORDED_AT_KEY)
            .cloned()
            .unwrap_or_default();
        Ok(Some(ProjectHead {
            project_id,
            organisation,
            sequence: last.sequence,
            digest,
            recorded_at,
        }))
    }

    /// The organisation named by a project's registration (kept once read: it never changes);
    /// `None` if there is no readable registration.
    pub async fn project_organisation(
        &self,
        project_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        if let Some(organisation) = self.inner.organisations.get(&project_id) {
            return Ok(Some(organisation));
        }
        let id = project_id.to_string();
        let first = self
            .read(|db| {
                let id = id.clone();
                async move { db.entry(&id, Some(1)).await }
            })
            .await?;
        let Some(Ok(ProjectEvent::ProjectRegistered(registered))) =
            first.map(|entry| serde_json::from_value::<ProjectEvent>(entry.payload))
        else {
            return Ok(None);
        };
        self.inner
            .organisations
            .insert(project_id, registered.organisation.clone());
        Ok(Some(registered.organisation))
    }

    /// A project's entries with sequence greater than `after`, ascending, at most `limit`.
    pub async fn entries(
        &self,
        project_id: Uuid,
        after: u64,
        limit: Option<u64>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let id = project_id.to_string();
        self.read(|db| {
            let id = id.clone();
            async move { db.entries(&id, after, limit).await }
        })
        .await
    }

    /// Every entry of a project, decoded, with personal data opened where it can be.
    pub async fn recorded_events(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let id = project_id.to_string();
        let mut events = self
            .read(|db| {
                let id = id.clone();
                async move { db.recorded_events(&id, 0).await }
            })
            .await?;
        self.open_personal_data(project_id, &mut events).await?;
        Ok(events)
    }

    /// A project's stored `entries` (all of them, in order), decoded, with personal data opened.
    pub async fn opened(
        &self,
        project_id: Uuid,
        entries: &[StoredEntry],
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut events = decode(entries)?;
        self.open_personal_data(project_id, &mut events).await?;
        Ok(events)
    }

    /// Every project that has entries, by id.
    pub async fn project_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        self.read(|db| async move { db.project_ids().await })
            .await?
            .into_iter()
            .map(|id| {
                id.parse()
                    .map_err(|e| StoreError::Internal(format!("bad project id '{id}': {e}")))
            })
            .collect()
    }

    /// Recomputes a project's hash chain and compares it with the stored digests; `None` if the
    /// project has no entries.
    pub async fn verify_project(&self, project_id: Uuid) -> Result<Option<ChainCheck>, StoreError> {
        let entries = self.entries(project_id, 0, None).await?;
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(verify_chain(&entries)))
    }

    /// The view bodies, optionally of one organisation and/or status, by project id.
    pub async fn list_views(
        &self,
        organisation: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        self.settle().await;
        self.read(|db| async move { db.list_views(organisation, status).await })
            .await
    }

    /// One project's view body.
    pub async fn view(&self, project_id: Uuid) -> Result<Option<Value>, StoreError> {
        self.settle().await;
        let id = project_id.to_string();
        self.read(|db| {
            let id = id.clone();
            async move { db.view(&id).await }
        })
        .await
    }
}

fn decode(entries: &[StoredEntry]) -> Result<Vec<RecordedEvent>, StoreError> {
    entries
        .iter()
        .map(|entry| {
            RecordedEvent::from_stored(entry)
                .map_err(|e| StoreError::Internal(format!("project {}: {e}", entry.aggregate_id)))
        })
        .collect()
}
