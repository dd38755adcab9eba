//! Harbor and Nexus resyncs from their bulk listings (Harbor's artifacts API with its tags, Nexus's
//! components API), against the emulators in front of real registries (distribution 2.8.2): an
//! unchanged tag costs no `/v2` request, counted in the emulator's access log; a moved tag, a new one
//! and a removed one are all seen, the cache matching what `/v2` says afterwards.

use std::collections::BTreeMap;

use berth_backend::{Backend, Harbor, Nexus, Registry2, TagRemoval};
use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_registry::{Credentials, Reference, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store};
use berth_sync::{sync_profile, SyncOptions};
use berth_testkit::{ImageSpec, Pushed, Registry, Seeder};
use tokio_util::sync::CancellationToken;

const TAGS: usize = 12;

fn basic(user: &str, password: &str) -> Credentials {
    Credentials::Basic { username: user.into(), password: password.into() }
}

async fn store_with_profile(url: &str, kind: ProfileKind) -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let p = store
        .add_profile(&NewProfile { name: "lab".into(), url: format!("{url}/"), kind, username: None })
        .await
        .unwrap();
    (dir, store, p.id)
}

/// What `/v2` says: the tag list, then a HEAD per tag.
async fn v2_tags(client: &RegistryClient, repo: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in client.tags(repo).await.unwrap() {
        let h = client.head_manifest(repo, &Reference::Tag(t.clone())).await.unwrap().unwrap();
        out.insert(t, h.digest.to_string());
    }
    out
}

async fn cached(store: &Store, pid: i64, repo: &str) -> BTreeMap<String, String> {
    store.cached_tags(pid, repo).await.unwrap().into_iter().map(|(t, r)| (t, r.digest)).collect()
}

async fn sync(store: &Store, pid: i64, b: &dyn Backend) {
    let s = sync_profile(store, pid, b, &SyncOptions::default(), &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((s.status.as_str(), s.errors), ("ok", 0), "{s:?}");
}

async fn seed(s: &Seeder, repo: &str) -> Vec<Pushed> {
    let mut pushed = Vec::new();
    for i in 0..TAGS {
        pushed.push(s.push_image(repo, &format!("v{i}"), &ImageSpec::small(&format!("{repo}-{i}"))).await);
    }
    pushed
}

/// Moves v1 to v0's image, pushes `new`, removes v2 (through the backend, bound to its digest).
async fn change(s: &Seeder, b: &dyn Backend, repo: &str, pushed: &[Pushed]) {
    s.tag(repo, &pushed[0].digest, "v1").await;
    s.push_image(repo, "new", &ImageSpec::small(&format!("{repo}-new"))).await;
    assert!(matches!(b.remove_tag(repo, "v2", &pushed[2].digest).await.unwrap(), TagRemoval::Removed(_)));
}

fn manifest_requests(log: &[String]) -> Vec<&String> {
    log.iter().filter(|l| l.contains("/manifests/") || l.ends_with("/tags/list")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harbor_resync_lists_tags_with_digests_and_sees_every_change() {
    let h = berth_testkit::Harbor::builder().admin("admin", "Harbor12345").project("team", false).start().await;
    let pushed = seed(&h.seeder(), "team/app").await;
    let creds = basic("admin", "Harbor12345");
    let client = RegistryClient::new(&h.url(), creds.clone(), &TlsOptions::default()).unwrap();
    let b = Harbor::new(client.clone(), HarborClient::new(&h.url(), creds, &TlsOptions::default()).unwrap());
    let (_dir, store, pid) = store_with_profile(&h.url(), ProfileKind::Harbor).await;
    sync(&store, pid, &b).await;
    assert_eq!(cached(&store, pid, "team/app").await, v2_tags(&client, "team/app").await);

    let before = h.requests().len();
    sync(&store, pid, &b).await;
    let resync = h.requests()[before..].to_vec();
    assert!(manifest_requests(&resync).is_empty(), "no /v2 request for unchanged tags: {resync:#?}");
    assert!(resync.len() <= 6, "system info, the account, projects, repositories, one artifacts page: {resync:#?}");

    change(&h.seeder(), &b, "team/app", &pushed).await;
    sync(&store, pid, &b).await;
    let now = v2_tags(&client, "team/app").await;
    assert_eq!(now.len(), TAGS, "v2 gone, new added");
    assert_eq!(now["v1"], pushed[0].digest, "v1 moved");
    assert_eq!(cached(&store, pid, "team/app").await, now, "the cache sees every change");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nexus_resync_lists_components_and_sees_every_change() {
    let n = berth_testkit::Nexus::builder().user("admin", "admin123").docker_hosted("docker-a", true).start().await;
    let pushed = seed(&n.seeder("docker-a"), "team/app").await;
    let creds = basic("admin", "admin123");
    let client =
        RegistryClient::new(&n.connector_url("docker-a").unwrap(), creds.clone(), &TlsOptions::default()).unwrap();
    let b = Nexus::new(client.clone(), NexusClient::new(&n.url(), creds, &TlsOptions::default()).unwrap(), "docker-a");
    let (_dir, store, pid) = store_with_profile(&n.connector_url("docker-a").unwrap(), ProfileKind::Nexus).await;
    sync(&store, pid, &b).await;
    assert_eq!(cached(&store, pid, "team/app").await, v2_tags(&client, "team/app").await);

    let before = n.requests().len();
    sync(&store, pid, &b).await;
    let resync = n.requests()[before..].to_vec();
    assert!(manifest_requests(&resync).is_empty(), "no /v2 request for unchanged tags: {resync:#?}");
    assert!(resync.len() <= 4, "the catalog and the components pages: {resync:#?}");

    change(&n.seeder("docker-a"), &b, "team/app", &pushed).await;
    sync(&store, pid, &b).await;
    let now = v2_tags(&client, "team/app").await;
    assert_eq!(now.len(), TAGS);
    assert_eq!(now["v1"], pushed[0].digest);
    assert_eq!(cached(&store, pid, "team/app").await, now, "the cache sees every change");
}

/// A tag moving to an image the repository already holds (`latest` back to an older release) on
/// registry:2: the resync sees it (the untagged-manifest triggers once failed the sync on it).
#[tokio::test(flavor = "multi_thread")]
async fn a_registry2_tag_moving_to_an_image_the_repository_holds_is_resynced() {
    let reg = Registry::start().await;
    let s = Seeder::new(&reg.url());
    let pushed = seed(&s, "team/app").await;
    let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let b = Registry2::new(client.clone(), None, "lab");
    let (_dir, store, pid) = store_with_profile(&reg.url(), ProfileKind::Registry).await;
    sync(&store, pid, &b).await;
    s.tag("team/app", &pushed[0].digest, "v1").await;
    sync(&store, pid, &b).await;
    let now = v2_tags(&client, "team/app").await;
    assert_eq!(now["v1"], pushed[0].digest);
    assert_eq!(cached(&store, pid, "team/app").await, now);
}
