//! The one place that turns a profile's kind into a backend: everything else asks the backend or
//! its [`Capabilities`].

use std::collections::BTreeMap;

use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_registry::{Credentials, Error, ErrorKind, RegistryClient, TlsOptions};

use crate::{Backend, Capabilities, GcCommands, Harbor, Nexus, NexusServer, Registry2, Storage};

/// What a profile connects with, for [`open`].
pub struct Connect<'a> {
    /// The profile's kind: `registry`, `harbor` or `nexus`.
    pub kind: &'a str,
    pub profile: &'a str,
    pub url: &'a str,
    pub creds: Credentials,
    pub tls: TlsOptions,
    /// registry:2: the profile's GC commands.
    pub gc: Option<GcCommands>,
    /// registry:2: the profile's filesystem storage root and remote prefix (a sync reads tags there).
    pub storage: Option<Storage>,
    /// A profile a server discovered (a Nexus repository).
    pub linked: Option<Linked>,
    /// A server profile: the endpoints the user set per repository (repository → URL).
    pub endpoints: BTreeMap<String, String>,
}

/// The repository a discovered profile browses, and its server's REST API connection.
pub struct Linked {
    pub repository: String,
    /// `hosted`, `proxy` or `group`.
    pub repository_kind: String,
    pub write_policy: Option<String>,
    pub server_url: String,
    pub server_creds: Credentials,
    pub server_tls: TlsOptions,
}

/// A profile's backend, and the REST APIs its own views use.
pub struct Opened {
    pub backend: Box<dyn Backend>,
    /// Harbor's REST API (projects, artifacts, quotas).
    pub harbor: Option<HarborClient>,
    /// Nexus's REST API and the repository a discovered profile browses (`None`: a server profile).
    pub nexus: Option<(NexusClient, Option<String>)>,
}

/// What a profile's backend can do, without connecting. A Nexus profile is a server profile until a
/// discovery links it to its server (`linked`).
pub fn capabilities_for(kind: &str, linked: bool) -> Capabilities {
    match kind {
        "harbor" => Harbor::CAPABILITIES,
        "nexus" if linked => Nexus::CAPABILITIES,
        "nexus" => NexusServer::CAPABILITIES,
        _ => Registry2::CAPABILITIES,
    }
}

/// Builds the backend for a profile's kind.
pub fn open(c: Connect<'_>) -> Result<Opened, Error> {
    let client = RegistryClient::new(c.url, c.creds.clone(), &c.tls)?;
    Ok(match (c.kind, c.linked) {
        ("registry", _) => {
            let backend = Registry2::new(client, c.gc, c.profile.to_string()).with_storage(c.storage);
            Opened { backend: Box::new(backend), harbor: None, nexus: None }
        }
        ("harbor", _) => {
            let api = HarborClient::new(c.url, c.creds, &c.tls)?;
            Opened { backend: Box::new(Harbor::new(client, api.clone())), harbor: Some(api), nexus: None }
        }
        ("nexus", None) => {
            let api = NexusClient::new(c.url, c.creds.clone(), &c.tls)?;
            let backend = NexusServer::new(client, api.clone(), c.creds, c.tls).with_endpoints(c.endpoints);
            Opened { backend: Box::new(backend), harbor: None, nexus: Some((api, None)) }
        }
        ("nexus", Some(l)) => {
            // The REST API answers on the server's URL, with the server profile's credentials.
            let api = NexusClient::new(&l.server_url, l.server_creds, &l.server_tls)?;
            let backend = Nexus::new(client, api.clone(), l.repository.clone())
                .with_kind(&l.repository_kind, l.write_policy.as_deref());
            Opened { backend: Box::new(backend), harbor: None, nexus: Some((api, Some(l.repository))) }
        }
        (other, _) => {
            return Err(Error::new(
                ErrorKind::InvalidUrl,
                format!("unknown profile kind {other:?}"),
                "use registry, nexus or harbor",
            ))
        }
    })
}
