//! What the window reads from the cache, against a real registry: the platforms of each tag, sorting by
//! digest and platforms, the sidebar's last sync, and dedup-aware storage.

use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, SortBy};
use berth_secrets::MemoryStore;
use berth_testkit::{ImageSpec, Registry, Seeder};

#[tokio::test(flavor = "multi_thread")]
async fn platforms_sorts_last_sync_and_storage() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let multi = seeder
        .push_index(
            "apps/multi",
            "1.0",
            &[
                ImageSpec::platform("linux", "amd64", None, "shared"),
                ImageSpec::platform("linux", "arm64", Some("v8"), "shared"),
            ],
        )
        .await;
    let single = seeder.push_image("apps/single", "1.0", &ImageSpec::platform("linux", "s390x", None, "shared")).await;
    seeder.push_image("apps/single", "0.9", &ImageSpec::small("other")).await;

    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::open_with_secrets(dir.path(), Arc::new(MemoryStore::new())).await.unwrap();
    berth.add_profile(AddProfileRequest { name: "lab".into(), url: reg.url(), ..Default::default() }).await.unwrap();

    // Before any sync: no last sync, not cached, storage empty.
    let st = berth.profile_statuses().await.unwrap();
    assert_eq!(st.len(), 1);
    assert!(st[0].last_sync.is_none() && !st[0].cached);
    assert_eq!(berth.storage("lab").await.unwrap().registry_size, 0);

    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let st = berth.profile_statuses().await.unwrap();
    let run = st[0].last_sync.as_ref().expect("a sync run");
    assert!(st[0].cached);
    assert_eq!((run.status.as_str(), run.repositories, run.tags), ("ok", 2, 3));
    assert!(run.finished_at.is_some());

    // Platforms: every platform of an index, the image's own for an image.
    let tags = berth.tags("lab", "apps/multi", SortBy::Name, None).await.unwrap();
    assert_eq!(tags[0].digest, multi.digest);
    assert_eq!(tags[0].platforms, ["linux/amd64", "linux/arm64/v8"], "in a stable (sorted) order");
    let tags = berth.tags("lab", "apps/single", SortBy::Platforms, None).await.unwrap();
    let by_name: Vec<(&str, Vec<String>)> = tags.iter().map(|t| (t.name.as_str(), t.platforms.clone())).collect();
    assert_eq!(by_name, [("0.9", vec!["linux/amd64".to_string()]), ("1.0", vec!["linux/s390x".to_string()])]);

    // Sort by digest, across the repository's tags.
    let tags = berth.tags("lab", "apps/single", SortBy::Digest, None).await.unwrap();
    let mut digests: Vec<String> = tags.iter().map(|t| t.digest.clone()).collect();
    assert!(digests.contains(&single.digest));
    let sorted = {
        let mut d = digests.clone();
        d.sort();
        d
    };
    assert_eq!(digests, sorted);
    digests.dedup();
    assert_eq!(digests.len(), 2);

    // Search sorts by the new columns too.
    let found = berth.search("lab", "apps/", SortBy::Platforms, 10).await.unwrap();
    assert_eq!(found.total, 3);
    assert_eq!(found.tags[0].name, "0.9", "linux/amd64 first");

    // Storage: the base layer of "shared" is stored once but counted in both repositories.
    let s = berth.storage("lab").await.unwrap();
    assert_eq!(s.repositories.len(), 2);
    assert!(s.repositories[0].size >= s.repositories[1].size, "largest first");
    assert!(s.repositories_total > s.registry_size, "shared blobs counted once for the registry: {s:?}");
    assert_eq!(s.registry_size, berth.registry_size("lab").await.unwrap());
}
