//! One interface over every kind of registry Berth manages (regclient's `scheme.API` is the model).
//!
//! A [`Backend`] lists repositories, removes one tag bound to the digest a plan saw, deletes a
//! manifest, says what it can do ([`Capabilities`]) and runs its own garbage collection. Three
//! implementations: [`Registry2`] (the `/v2` API, GC through the profile's shell commands),
//! [`Harbor`] (projects API, tag API, Harbor's GC job) and [`Nexus`] (components API, the docker GC
//! and compact tasks). Tags, manifests and blobs always go through the `/v2` client
//! ([`Backend::client`]), which every backend has.
//!
//! Nothing outside [`open`] (which builds the backend for a profile's kind) looks at a kind:
//! callers ask the backend, or its capabilities. Errors are [`berth_registry::Error`], the one error
//! vocabulary of every crate that talks to a server.

mod capabilities;
mod check;
mod gc;
mod harbor;
mod nexus;
mod open;
mod registry;
pub mod shell;

use std::future::Future;
use std::pin::Pin;

use berth_registry::{Digest, Error, RegistryClient};
use tokio_util::sync::CancellationToken;

pub use capabilities::Capabilities;
pub use check::{Check, CheckFix};
pub use gc::{GcFailed, GcHooks, GcOutput, GcRequest, RegistryGcCounts, ServerGc, ServerGcRun};
pub use harbor::{Harbor, HARBOR_WINDOW_NOTE};
pub use nexus::{read_only as nexus_read_only, Nexus, NexusServer};
pub use open::{capabilities_for, open, Connect, Linked, Opened};
pub use registry::{
    dry_run_command, parse_gc_output, parse_storage_tags, storage_tags_command, GcCommands, Registry2, Storage,
    DELETE_UNTAGGED_WARNING,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a running job's log lines go (the CLI's terminal, the window's `gc-log` event).
pub type LogFn<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// What removing a tag did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagRemoval {
    /// Removed; how (for the audit log: "tag delete API", "harbor tag API", …).
    Removed(String),
    /// The tag points at another digest now (someone pushed since the plan): not touched.
    Moved(String),
    /// The tag is gone already.
    Gone,
}

/// A repository's tags with the digests they point at: (tag, digest).
pub type TagDigests = Vec<(String, String)>;

/// One registry, whatever its kind.
pub trait Backend: Send + Sync {
    /// For messages: `registry:2`, `Harbor`, `Nexus`.
    fn label(&self) -> &'static str;

    /// What this backend can do; the window and the workflows ask this, never the profile's kind.
    fn capabilities(&self) -> Capabilities;

    /// The `/v2` client: tags, manifests and blobs.
    fn client(&self) -> &RegistryClient;

    /// Every repository (the catalog, Harbor's projects API, …).
    fn repositories(&self) -> BoxFuture<'_, Result<Vec<String>, Error>>;

    /// Every repository's tags with their digests in one listing, where the backend lists them all
    /// together (Nexus's components API covers the whole docker repository): a sync reads it once
    /// instead of once per repository. None: ask [`Backend::tag_digests`] per repository.
    fn all_tag_digests(&self) -> BoxFuture<'_, Result<Option<std::collections::HashMap<String, TagDigests>>, Error>> {
        Box::pin(async { Ok(None) })
    }

    /// Every tag of `repo` with the digest it points at, listed in bulk where the backend can (Harbor's
    /// artifacts API, Nexus's components API: a page of tags per request, with their digests);
    /// `None` where only `/v2` can tell (a tag list, then a HEAD per tag).
    fn tag_digests<'a>(&'a self, _repo: &'a str) -> BoxFuture<'a, Result<Option<TagDigests>, Error>> {
        Box::pin(async { Ok(None) })
    }

    /// Removes `repo:tag` and nothing else, only while it still points at `digest` (the one the plan
    /// showed): a moved tag is reported, not removed.
    fn remove_tag<'a>(
        &'a self,
        repo: &'a str,
        tag: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<TagRemoval, Error>>;

    /// Deletes a manifest by digest with every tag on it; `false` when it was gone already.
    fn delete_manifest<'a>(&'a self, repo: &'a str, digest: &'a Digest) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.client().delete_manifest(repo, digest))
    }

    /// Whether deletes can work in `repo` now: `None`, or why not and what to do about it (deletes
    /// disabled, read-only, no permission). Plans refuse what is blocked; nothing is attempted there.
    fn delete_blocked<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(probe_v2(self.client(), repo))
    }

    /// Whether pushes (a copy's blobs, manifests and tags) can work in `repo` now: `None`, or why not
    /// and what to do (read-only, no push right, a repository that only mirrors). Copy plans refuse a
    /// blocked target; nothing is sent there.
    fn push_blocked<'a>(&'a self, repo: &'a str) -> BoxFuture<'a, Result<Option<(String, String)>, Error>> {
        Box::pin(probe_push_v2(self.client(), repo))
    }

    /// Tags of `repo` the server refuses to delete (Harbor's tag immutability rules), as
    /// (tag, why, what to do). Plans refuse them; nothing is attempted.
    fn protected_tags<'a>(&'a self, _repo: &'a str) -> BoxFuture<'a, Result<Vec<(String, String, String)>, Error>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Manifests the server deletes together with `digest` that the cache may not know (Harbor's
    /// untagged accessories: cosign and notation signatures, SBOMs), as (digest, kind).
    fn accessories<'a>(
        &'a self,
        _repo: &'a str,
        _digest: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, Error>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// What a connection test finds beyond `/v2/`: the server's own API, the account's rights, the
    /// server settings that break things, each with what to do. Empty for a plain registry.
    fn diagnose(&self) -> BoxFuture<'_, Vec<Check>> {
        Box::pin(async { Vec::new() })
    }

    /// Checks that GC can run at all (configured, writable), before anything is predicted or recorded.
    fn gc_check<'a>(&'a self, req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>>;

    /// Commands run before and after a real GC (registry:2: read-only on, then off and restart).
    fn gc_hooks(&self) -> GcHooks {
        GcHooks::default()
    }

    /// The server's own GC history and schedule, runs started outside Berth included (`None`: the
    /// server keeps none that Berth can read).
    fn server_gc(&self) -> BoxFuture<'_, Result<Option<ServerGc>, Error>> {
        Box::pin(async { Ok(None) })
    }

    /// Runs the backend's own garbage collection, its log streamed to `log`.
    fn gc<'a>(
        &'a self,
        req: &'a GcRequest,
        log: &'a LogFn<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<GcOutput, GcFailed>>;
}

/// [`Backend::delete_blocked`] through the `/v2` API (a DELETE of a digest that cannot exist).
pub async fn probe_v2(client: &RegistryClient, repo: &str) -> Result<Option<(String, String)>, Error> {
    use berth_registry::DeleteCapability as C;
    let cap = client.probe_delete(repo).await?;
    let reason = match cap {
        C::Enabled => return Ok(None),
        C::Disabled => "deletes are disabled on this registry",
        C::ReadOnly => "the registry is read-only",
        C::NoPermission => "this account may not delete here",
    };
    Ok(Some((reason.to_string(), cap.explain().to_string())))
}

/// [`Backend::push_blocked`] through the `/v2` API: an upload session opened and cancelled at once.
pub async fn probe_push_v2(client: &RegistryClient, repo: &str) -> Result<Option<(String, String)>, Error> {
    Ok(client.probe_push(repo).await?.map(|(why, hint)| (why.to_string(), hint.to_string())))
}

/// The tag's digest now, by a HEAD (`None`: the tag is gone).
pub(crate) async fn tag_digest(client: &RegistryClient, repo: &str, tag: &str) -> Result<Option<String>, Error> {
    Ok(client
        .head_manifest(repo, &berth_registry::Reference::Tag(tag.to_string()))
        .await?
        .map(|h| h.digest.to_string()))
}
