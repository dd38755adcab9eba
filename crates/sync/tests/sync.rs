//! The sync engine against real registries: scale, 2.8's unpaginated tag lists, indexes, referrer
//! tags, a registry that dies mid-sync, cancel, and the consistency of what stays in the cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_backend::Registry2;
use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store, TagSort};
use berth_sync::{sync_profile, SyncError, SyncOptions};
use berth_testkit::{ImageSpec, Registry, Seeder};
use tokio_util::sync::CancellationToken;

async fn store_with_profile(url: &str) -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let p = store
        .add_profile(&NewProfile {
            name: "lab".into(),
            url: format!("{url}/"),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .unwrap();
    (dir, store, p.id)
}

fn client(url: &str) -> RegistryClient {
    RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap()
}

/// Every cached tag points at a cached manifest, and every index child is cached.
async fn assert_consistent(store: &Store) {
    let dangling: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tags t LEFT JOIN manifests m ON m.digest = t.digest WHERE m.digest IS NULL",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(dangling, 0, "tags whose manifest is not cached");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM manifest_children c LEFT JOIN manifests m ON m.digest = c.child WHERE m.digest IS NULL",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0, "index children not cached");
}

fn nothing(_: &berth_sync::SyncProgress) {}

fn reg2(c: &RegistryClient) -> Registry2 {
    Registry2::new(c.clone(), None, "lab")
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_1200_repositories_then_resync_fetches_nothing() {
    let reg = Registry::start().await;
    Seeder::new(&reg.url()).seed_many(1200, 2, "org/svc", 16).await;
    let (_d, store, pid) = store_with_profile(&reg.url()).await;
    let c = client(&reg.url());
    let s = sync_profile(&store, pid, &reg2(&c), &SyncOptions::default(), &CancellationToken::new(), &nothing)
        .await
        .unwrap();
    assert_eq!(s.status, "ok");
    assert_eq!((s.repositories, s.tags, s.errors), (1200, 2400, 0));
    assert_eq!(s.manifests_fetched, 2400, "each tag of seed_many is its own image");
    let repos = store.repository_summaries(pid).await.unwrap();
    assert_eq!(repos.len(), 1200);
    assert!(repos.iter().all(|r| r.tags == 2 && r.size > 0));
    assert_consistent(&store).await;

    let again = sync_profile(&store, pid, &reg2(&c), &SyncOptions::default(), &CancellationToken::new(), &nothing)
        .await
        .unwrap();
    assert_eq!(again.manifests_fetched, 0, "a digest is fetched once, ever");
    // catalog pages + one tag list and one HEAD per tag: no GETs of manifests or configs.
    assert!(again.requests <= 2 + 1200 + 2400, "{} requests", again.requests);
    assert!(again.requests < s.requests);
    // The HEADs are conditional: the registry answered every one `304 Not Modified` without reading the
    // manifest (its log line per request carries the status).
    let not_modified = reg.log().matches("http.response.status=304").count();
    assert_eq!(not_modified, 2400, "one 304 per unchanged tag");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_with_2500_tags_on_2_8() {
    let reg = Registry::start().await;
    Seeder::new(&reg.url()).seed_many(1, 2500, "big/repo", 16).await;
    let (_d, store, pid) = store_with_profile(&reg.url()).await;
    let s = sync_profile(
        &store,
        pid,
        &reg2(&client(&reg.url())),
        &SyncOptions::default(),
        &CancellationToken::new(),
        &nothing,
    )
    .await
    .unwrap();
    assert_eq!(s.tags, 2500);
    let tags = store.repository_tags(pid, "big/repo00000", TagSort::Name).await.unwrap();
    assert_eq!(tags.len(), 2500);
    assert_eq!(tags[0].name, "v0000");
    assert_eq!(tags[2499].name, "v2499");
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_referrers_shared_digests_sizes_and_deletes() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let plats = [
        ImageSpec::platform("linux", "amd64", None, "multi"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "multi"),
    ];
    let index = seeder.push_index("apps/multi", "1.0", &plats).await;
    seeder.tag("apps/multi", &index.digest, "latest").await;
    let img = seeder.push_image("apps/single", "v1", &ImageSpec::small("single")).await;
    seeder.tag("apps/single", &img.digest, "stable").await;
    let old = seeder.push_image("apps/single", "v0", &ImageSpec::small("old")).await;
    let sig = seeder.push_referrer_tag("apps/single", &img).await;

    let (_d, store, pid) = store_with_profile(&reg.url()).await;
    let c = client(&reg.url());
    let s = sync_profile(&store, pid, &reg2(&c), &SyncOptions { concurrency: 4 }, &CancellationToken::new(), &nothing)
        .await
        .unwrap();
    assert_eq!(s.errors, 0);
    // index + 2 children, 2 images, 1 signature.
    assert_eq!(s.manifests_fetched, 6);
    assert_consistent(&store).await;

    let multi = store.repository_tags(pid, "apps/multi", TagSort::Name).await.unwrap();
    assert_eq!(multi.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["1.0", "latest"]);
    let all_blobs: u64 = index.all_blobs().values().sum();
    let manifests: u64 = index.size + index.children.iter().map(|c| c.size).sum::<u64>();
    let child_blobs: u64 = {
        let mut m = std::collections::BTreeMap::new();
        for ch in &index.children {
            for (d, sz) in &ch.blobs {
                m.insert(d.clone(), *sz);
            }
        }
        m.values().sum()
    };
    assert_eq!(
        multi[0].size,
        child_blobs + index.children.iter().map(|c| c.size).sum::<u64>(),
        "index size: children and their blobs once"
    );
    let repos = store.repository_summaries(pid).await.unwrap();
    let multi_repo = repos.iter().find(|r| r.name == "apps/multi").unwrap();
    assert_eq!(multi_repo.tags, 2);
    assert_eq!(multi_repo.size, manifests + child_blobs, "two tags on one digest count once");
    let _ = all_blobs;
    assert!(multi[0].created.is_some(), "an index takes its children's creation time");

    // The signature is linked to its subject from its cosign tag.
    let refs = store.referrers_of(&img.digest).await.unwrap();
    assert_eq!(refs, vec![(sig.digest.clone(), Some("sig".to_string()))]);

    // Search across everything, sorted by size.
    let (total, hits) = store.search_tags(pid, "APPS/SINGLE:", TagSort::Size, 10).await.unwrap();
    assert_eq!(total, 4, "v0, v1, stable and the .sig tag");
    assert!(hits.windows(2).all(|w| w[0].size >= w[1].size));
    let (total, _) = store.search_tags(pid, &img.digest[7..20], TagSort::Name, 10).await.unwrap();
    assert_eq!(total, 3, "v1 and stable share the digest, and the signature's tag names it");
    // Latest per repository.
    let latest = store.latest_tags(pid).await.unwrap();
    assert_eq!(latest.len(), 2);

    // Delete v0 on the server (skopeo deletes by digest): it disappears from the cache on resync.
    let out = std::process::Command::new("skopeo")
        .args(["delete", "--tls-verify=false", &format!("docker://{}/apps/single:v0", reg.host())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = old;
    sync_profile(&store, pid, &reg2(&c), &SyncOptions::default(), &CancellationToken::new(), &nothing).await.unwrap();
    let names: Vec<String> =
        store.repository_tags(pid, "apps/single", TagSort::Name).await.unwrap().into_iter().map(|t| t.name).collect();
    assert!(!names.contains(&"v0".to_string()), "{names:?}");
    assert!(names.contains(&"v1".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_killed_mid_sync_then_resume() {
    let mut reg = Registry::start().await;
    Seeder::new(&reg.url()).seed_many(150, 2, "kill/me", 16).await;
    let (_d, store, pid) = store_with_profile(&reg.url()).await;
    let c = client(&reg.url());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let signalled = Arc::new(AtomicBool::new(false));
    let flag = signalled.clone();
    let on_progress = move |p: &berth_sync::SyncProgress| {
        if p.repositories_done >= 20 && !flag.swap(true, Ordering::SeqCst) {
            let _ = tx.send(());
        }
    };
    let sync = {
        let store = store.clone();
        let c = c.clone();
        tokio::spawn(async move {
            sync_profile(
                &store,
                pid,
                &reg2(&c),
                &SyncOptions { concurrency: 2 },
                &CancellationToken::new(),
                &on_progress,
            )
            .await
        })
    };
    rx.recv().await.expect("progress reached 20 repositories");
    reg.stop();
    let err = sync.await.unwrap().unwrap_err();
    let SyncError::Registry(e) = err else { panic!("expected a registry error, got {err:?}") };
    assert!(
        matches!(e.kind, berth_registry::ErrorKind::ConnectionRefused | berth_registry::ErrorKind::ConnectionLost),
        "{e}"
    );
    assert!(e.hint.contains("running"), "{e}");
    let run = store.last_sync_run(pid).await.unwrap().unwrap();
    assert_eq!(run.status, "failed");
    let message = run.message.unwrap();
    assert!(message.contains("connection"), "{message}");
    assert_consistent(&store).await;
    let partial = store.repository_summaries(pid).await.unwrap().len();
    assert!((20..150).contains(&partial), "{partial} repositories cached before the registry went away");

    reg.restart(false).await;
    let s = sync_profile(&store, pid, &reg2(&c), &SyncOptions::default(), &CancellationToken::new(), &nothing)
        .await
        .unwrap();
    assert_eq!(s.repositories, 150);
    assert!(s.manifests_fetched < 300, "resumed: {} manifests fetched again", s.manifests_fetched);
    assert_eq!(store.repository_summaries(pid).await.unwrap().len(), 150);
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_keeps_the_cache_consistent() {
    let reg = Registry::start().await;
    Seeder::new(&reg.url()).seed_many(100, 2, "stop/me", 16).await;
    let (_d, store, pid) = store_with_profile(&reg.url()).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let on_progress = move |p: &berth_sync::SyncProgress| {
        if p.repositories_done >= 10 {
            trigger.cancel();
        }
    };
    let err =
        sync_profile(&store, pid, &reg2(&client(&reg.url())), &SyncOptions { concurrency: 2 }, &cancel, &on_progress)
            .await
            .unwrap_err();
    assert!(matches!(err, SyncError::Cancelled(_)), "{err:?}");
    assert_eq!(store.last_sync_run(pid).await.unwrap().unwrap().status, "cancelled");
    assert!(!store.has_synced(pid).await.unwrap());
    assert_consistent(&store).await;
    let s = sync_profile(
        &store,
        pid,
        &reg2(&client(&reg.url())),
        &SyncOptions::default(),
        &CancellationToken::new(),
        &nothing,
    )
    .await
    .unwrap();
    assert_eq!(s.repositories, 100);
    assert!(store.has_synced(pid).await.unwrap());
}
