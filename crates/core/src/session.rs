//! A session per operation: the profile's row, its secrets (one keyring read), TLS and clients are
//! resolved once, and `berth_backend::open` builds the backend for the profile's kind (core never
//! looks at a kind: it asks the session's [`Backend`] or its capabilities).

use berth_backend::{Backend, Connect, GcCommands, Linked, Storage};
use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_registry::RegistryClient;
use berth_store::ProfileRow;
use berth_workflows::Target;

use crate::backends::api_error;
use crate::{profiles, ApiError, Berth, ErrorCode};

/// One profile, resolved for one operation.
pub struct Session {
    row: ProfileRow,
    backend: Box<dyn Backend>,
    /// Harbor's REST API (projects, artifacts, quotas), for Harbor profiles.
    harbor: Option<HarborClient>,
    /// Nexus's REST API and the repository a child profile browses (`None`: a server profile).
    nexus: Option<(NexusClient, Option<String>)>,
}

impl Session {
    pub fn name(&self) -> &str {
        &self.row.name
    }

    pub fn id(&self) -> i64 {
        self.row.id
    }

    pub fn row(&self) -> &ProfileRow {
        &self.row
    }

    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    pub fn client(&self) -> &RegistryClient {
        self.backend.client()
    }

    /// What the workflows run against.
    pub fn target<'a>(&'a self, berth: &'a Berth) -> Target<'a> {
        Target { store: berth.store(), profile_id: self.row.id, profile: &self.row.name, backend: &*self.backend }
    }

    /// Harbor's REST API; an error naming the profile's kind for other profiles.
    pub fn harbor(&self) -> Result<&HarborClient, ApiError> {
        self.harbor.as_ref().ok_or_else(|| wrong_kind(&self.row, "harbor"))
    }

    /// Nexus's REST API and the repository a child profile browses.
    pub fn nexus(&self) -> Result<(&NexusClient, Option<&str>), ApiError> {
        match &self.nexus {
            Some((api, repo)) => Ok((api, repo.as_deref())),
            None => Err(wrong_kind(&self.row, "nexus")),
        }
    }
}

fn wrong_kind(row: &ProfileRow, want: &str) -> ApiError {
    let profile = &row.name;
    ApiError::new(
        ErrorCode::InvalidInput,
        format!("profile {profile:?} is a {} profile, not {want}", row.kind.as_str()),
        format!("use a {want} profile, or set this profile's kind to {want}"),
    )
    .edit(profile, crate::ProfileField::Kind, format!("berth profile edit {profile} --kind {want}"))
}

impl Berth {
    /// Resolves a profile for one operation: its row, secrets, TLS and clients, and its backend. A
    /// discovered profile (a Nexus repository) also gets its server profile's REST connection.
    pub async fn session(&self, profile: &str) -> Result<Session, ApiError> {
        let c = profiles::connection(self, profile).await?;
        let row = c.row;
        let linked = match self.store().backend_link(row.id).await? {
            None => None,
            Some(link) => {
                let Some(server) = &link.parent else {
                    return Err(ApiError::new(
                        ErrorCode::NotFound,
                        format!("the Nexus server profile of {profile:?} was deleted"),
                        "add the Nexus server as a profile again and sync it to discover its repositories",
                    ));
                };
                let s = profiles::connection(self, server).await?;
                Some(Linked {
                    repository: link.repository,
                    repository_kind: link.repository_kind,
                    write_policy: link.write_policy,
                    server_url: s.row.url,
                    server_creds: s.creds,
                    server_tls: s.tls,
                })
            }
        };
        let endpoints = self
            .store()
            .backend_children(row.id)
            .await?
            .into_iter()
            .filter_map(|l| l.endpoint_override.map(|e| (l.repository, e)))
            .collect();
        let gc = row.settings.gc.command.clone().map(|command| GcCommands {
            command,
            before: row.settings.gc.before.clone(),
            after: row.settings.gc.after.clone(),
        });
        let storage =
            row.settings.gc.storage_root.clone().map(|root| Storage { root, remote: row.settings.gc.remote.clone() });
        let opened = berth_backend::open(Connect {
            kind: row.kind.as_str(),
            profile: &row.name,
            url: &row.url,
            creds: c.creds,
            tls: c.tls,
            gc,
            storage,
            linked,
            endpoints,
        })
        .map_err(api_error)?;
        Ok(Session { row, backend: opened.backend, harbor: opened.harbor, nexus: opened.nexus })
    }
}

/// A stored profile as a view, with its capabilities and (for a discovered profile) its link.
pub(crate) async fn profile_view(berth: &Berth, row: ProfileRow) -> Result<crate::ProfileView, ApiError> {
    let link = berth.store().backend_link(row.id).await?;
    let capabilities = berth_backend::capabilities_for(row.kind.as_str(), link.is_some());
    let link = link.map(|l| crate::ServerLinkView {
        read_only: berth_backend::nexus_read_only(&l.repository, &l.repository_kind, l.write_policy.as_deref())
            .map(|(why, _)| why),
        parent: l.parent,
        repository: l.repository,
        repository_kind: l.repository_kind,
        write_policy: l.write_policy,
        endpoint_override: l.endpoint_override.is_some(),
    });
    Ok(crate::ProfileView { capabilities, link, ..profiles::view(berth.data_dir(), row) })
}
