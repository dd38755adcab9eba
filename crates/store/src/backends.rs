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
    /// `hosted`, `proxy` or `group`.
    pub repository_kind: String,
    /// Hosted: `ALLOW`, `ALLOW_ONCE` or `DENY` (`None`: not readable by the account).
    pub write_policy: Option<String>,
    /// The endpoint the user set for this repository (kept by discoveries).
    pub endpoint_override: Option<String>,
}

/// What a discovery found about a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo<'a> {
    pub repository: &'a str,
    pub repository_kind: &'a str,
    pub write_policy: Option<&'a str>,
}

type LinkRow = (i64, String, Option<i64>, Option<String>, String, String, Option<String>, Option<String>);

const SELECT: &str = "SELECT b.profile_id, c.name, b.parent_id, p.name, b.repository, b.repository_kind, \
     b.write_policy, b.endpoint_override FROM profile_backends b \
     JOIN profiles c ON c.id = b.profile_id LEFT JOIN profiles p ON p.id = b.parent_id";

fn link(r: LinkRow) -> BackendLink {
    let (profile_id, profile, parent_id, parent, repository, repository_kind, write_policy, endpoint_override) = r;
    BackendLink { profile_id, profile, parent_id, parent, repository, repository_kind, write_policy, endpoint_override }
}

impl Store {
    /// Records (or updates) that `profile_id` browses a repository of the server profile `parent_id`.
    pub async fn set_backend_link(
        &self,
        profile_id: i64,
        parent_id: i64,
        info: &LinkInfo<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO profile_backends (profile_id, parent_id, repository, repository_kind, write_policy, discovered_at) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (profile_id) DO UPDATE SET parent_id = excluded.parent_id, repository = excluded.repository, \
             repository_kind = excluded.repository_kind, write_policy = excluded.write_policy, \
             discovered_at = excluded.discovered_at",
        )
        .bind(profile_id)
        .bind(parent_id)
        .bind(info.repository)
        .bind(info.repository_kind)
        .bind(info.write_policy)
        .bind(now_rfc3339())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The endpoint the user chose for a child profile (`None`: the discovered one again); nothing
    /// for a profile that is not a child.
    pub async fn set_endpoint_override(&self, profile_id: i64, url: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("UPDATE profile_backends SET endpoint_override = ? WHERE profile_id = ?")
            .bind(url)
            .bind(profile_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The link of a child profile, if it is one.
    pub async fn backend_link(&self, profile_id: i64) -> Result<Option<BackendLink>, StoreError> {
        let row: Option<LinkRow> = sqlx::query_as(&format!("{SELECT} WHERE b.profile_id = ?"))
            .bind(profile_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(link))
    }

    /// The child profiles of a server profile, by repository name.
    pub async fn backend_children(&self, parent_id: i64) -> Result<Vec<BackendLink>, StoreError> {
        let rows: Vec<LinkRow> = sqlx::query_as(&format!("{SELECT} WHERE b.parent_id = ? ORDER BY b.repository"))
            .bind(parent_id)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(link).collect())
    }

    /// Every link (for profile lists: which profile sits under which server).
    pub async fn backend_links(&self) -> Result<Vec<BackendLink>, StoreError> {
        let rows: Vec<LinkRow> =
            sqlx::query_as(&format!("{SELECT} ORDER BY b.repository")).fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(link).collect())
    }
}
