//! Links between a Nexus server profile and the child profiles created for its docker repositories.

use crate::{now_rfc3339, Store, StoreError};

/// A child profile's link: its server profile and the Nexus repository it browses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendLink {
    pub profile_id: i64,
    pub profile: String,
    pub parent_id: Option<i64>,
    pub parent: Option<String>,
    pub repository: String,
}

type LinkRow = (i64, String, Option<i64>, Option<String>, String);

impl Store {
    /// Records (or updates) that `profile_id` browses `repository` of the server profile `parent_id`.
    pub async fn set_backend_link(&self, profile_id: i64, parent_id: i64, repository: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO profile_backends (profile_id, parent_id, repository, discovered_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (profile_id) DO UPDATE SET parent_id = excluded.parent_id, repository = excluded.repository, \
             discovered_at = excluded.discovered_at",
        )
        .bind(profile_id)
        .bind(parent_id)
        .bind(repository)
        .bind(now_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The link of a child profile, if it is one.
    pub async fn backend_link(&self, profile_id: i64) -> Result<Option<BackendLink>, StoreError> {
        let row: Option<LinkRow> = sqlx::query_as(
            "SELECT b.profile_id, c.name, b.parent_id, p.name, b.repository FROM profile_backends b \
             JOIN profiles c ON c.id = b.profile_id LEFT JOIN profiles p ON p.id = b.parent_id WHERE b.profile_id = ?",
        )
        .bind(profile_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(profile_id, profile, parent_id, parent, repository)| BackendLink {
            profile_id,
            profile,
            parent_id,
            parent,
            repository,
        }))
    }

    /// The child profiles of a server profile, by repository name.
    pub async fn backend_children(&self, parent_id: i64) -> Result<Vec<BackendLink>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(
            "SELECT b.profile_id, c.name, b.parent_id, p.name, b.repository FROM profile_backends b \
             JOIN profiles c ON c.id = b.profile_id LEFT JOIN profiles p ON p.id = b.parent_id \
             WHERE b.parent_id = ? ORDER BY b.repository",
        )
        .bind(parent_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(profile_id, profile, parent_id, parent, repository)| BackendLink {
                profile_id,
                profile,
                parent_id,
                parent,
                repository,
            })
            .collect())
    }
}
