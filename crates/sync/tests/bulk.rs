//! Harbor and Nexus resyncs from their bulk listings (Harbor's artifacts API with its tags, Nexus's
//! components API), against the emulators in front of real registries (distribution 2.8.2): an
//! unchanged tag costs no `/v2` request, counted in the emulator's access log; a moved tag, a new one
//! and a removed one are all seen, the cache matching what `/v2` says afterwards. The same for a
//! registry:2 whose profile has a filesystem storage root (tags read from its files in one command).

use std::collections::BTreeMap;

use berth_backend::{Backend, Harbor, Nexus, Registry2, Storage, TagRemoval};
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

async fn sync(store: &Store, pid: i64, b: &dyn Backend) -> berth_sync::SyncSummary {
    let s = sync_profile(store, pid, b, &SyncOptions::default(), &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((s.status.as_str(), s.errors), ("ok", 0), "{s:?}");
    s
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

/// registry:2 with a storage root (filesystem driver): a sync reads every tag's `current/link` in one
/// command. The map is the one a normal sync builds; an unchanged resync sends only the catalog; a
/// moved, a new and a removed tag are seen, and a repository emptied of tags; a storage root that is
/// another registry's, or missing, leaves the sync to `/v2`, still right.
#[tokio::test(flavor = "multi_thread")]
async fn a_registry2_resync_from_its_storage_matches_v2_and_sees_every_change() {
    let reg = Registry::start().await;
    let s = Seeder::new(&reg.url());
    let pushed = seed(&s, "team/app").await;
    seed(&s, "team/other").await;
    let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let plain = Registry2::new(client.clone(), None, "lab");
    let storage = Storage { root: reg.storage_dir().to_str().unwrap().to_string(), remote: None };
    let b = Registry2::new(client.clone(), None, "lab").with_storage(Some(storage));
    let all = b.all_tag_digests().await.unwrap().expect("a listing from the storage");
    assert_eq!(all["team/app"].iter().cloned().collect::<BTreeMap<_, _>>(), v2_tags(&client, "team/app").await);

    let (_d1, by_v2, p1) = store_with_profile(&reg.url(), ProfileKind::Registry).await;
    let (_d2, by_storage, p2) = store_with_profile(&reg.url(), ProfileKind::Registry).await;
    let full = sync(&by_v2, p1, &plain).await;
    sync(&by_storage, p2, &b).await;
    for repo in ["team/app", "team/other"] {
        assert_eq!(cached(&by_storage, p2, repo).await, cached(&by_v2, p1, repo).await, "{repo}: the same map");
        assert_eq!(cached(&by_storage, p2, repo).await.len(), TAGS);
    }
    let resync = sync(&by_storage, p2, &b).await;
    assert_eq!(resync.requests, 1, "the catalog alone (a normal sync sent {}): {resync:?}", full.requests);

    change(&s, &b, "team/app", &pushed).await;
    for t in 0..TAGS {
        let d = v2_tags(&client, "team/other").await[&format!("v{t}")].clone();
        assert!(matches!(b.remove_tag("team/other", &format!("v{t}"), &d).await.unwrap(), TagRemoval::Removed(_)));
    }
    sync(&by_storage, p2, &b).await;
    let now = v2_tags(&client, "team/app").await;
    assert_eq!(now.len(), TAGS, "v2 gone, new added");
    assert_eq!(now["v1"], pushed[0].digest, "v1 moved");
    assert_eq!(cached(&by_storage, p2, "team/app").await, now, "the storage listing sees every change");
    assert!(cached(&by_storage, p2, "team/other").await.is_empty(), "a repository emptied of tags");

    // Another registry's storage (it lacks team/app) and a missing folder: the sync asks /v2.
    let elsewhere = Registry::start().await;
    Seeder::new(&elsewhere.url()).push_image("lone/app", "v1", &ImageSpec::small("lone")).await;
    let missing = tempfile::tempdir().unwrap();
    for root in [elsewhere.storage_dir().to_path_buf(), missing.path().join("nothing")] {
        let wrong = Storage { root: root.to_str().unwrap().to_string(), remote: None };
        let b = Registry2::new(client.clone(), None, "lab").with_storage(Some(wrong));
        s.tag("team/app", &pushed[3].digest, "v4").await;
        let r = sync(&by_storage, p2, &b).await;
        assert!(r.requests > TAGS as u64, "/v2 asked for every tag: {r:?}");
        assert_eq!(cached(&by_storage, p2, "team/app").await, v2_tags(&client, "team/app").await, "{root:?}");
    }

    // A tag folder without its current/link (a half-written or damaged tag): the listing is refused,
    // not taken without that tag.
    let other = RegistryClient::new(&elsewhere.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let own = Storage { root: elsewhere.storage_dir().to_str().unwrap().to_string(), remote: None };
    let b = Registry2::new(other, None, "lab").with_storage(Some(own));
    b.repositories().await.unwrap();
    assert_eq!(b.all_tag_digests().await.unwrap().expect("a listing")["lone/app"].len(), 1);
    let tags = elsewhere.storage_dir().join("docker/registry/v2/repositories/lone/app/_manifests/tags");
    std::fs::create_dir_all(tags.join("half/index")).unwrap();
    let e = b.all_tag_digests().await.expect_err("a tag folder without current/link");
    assert!(e.to_string().contains("not as many current/link"), "{e}");
}
