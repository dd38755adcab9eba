//! An image's detail from the cache against a real registry (distribution 2.8.2): after a sync, the
//! detail answers from the cache (manifests, configs, index children, sibling tags, a cosign
//! signature) and says when the registry last confirmed it; with the registry stopped, asking the
//! registry falls back to the cache instead of failing; per platform, its creation time and pull line.

use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, DetailSource, InspectFrom};
use berth_secrets::MemoryStore;
use berth_testkit::{ImageSpec, Registry, Seeder};

#[tokio::test(flavor = "multi_thread")]
async fn the_detail_answers_from_the_cache_and_offline() {
    let mut reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let mut spec = ImageSpec::small("detail");
    spec.created = "2025-03-04T05:06:07Z".into();
    let img = seeder.push_image("team/app", "1.0", &spec).await;
    seeder.tag("team/app", &img.digest, "stable").await;
    let sig = seeder.push_referrer_tag("team/app", &img).await;
    let mut amd = ImageSpec::platform("linux", "amd64", None, "pa");
    amd.created = "2025-01-01T00:00:00Z".into();
    let mut arm = ImageSpec::platform("linux", "arm64", Some("v8"), "pb");
    arm.created = "2025-02-02T00:00:00Z".into();
    let index = seeder.push_index("team/multi", "v1", &[amd, arm]).await;

    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::open_with_secrets(dir.path(), Arc::new(MemoryStore::new())).await.unwrap();
    berth.add_profile(AddProfileRequest { name: "lab".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();

    let online = berth.inspect("lab", "team/app", "1.0").await.unwrap();
    assert_eq!(online.source, DetailSource::Registry);
    assert_eq!(online.sibling_tags, ["stable"], "from the cache");
    assert_eq!(online.pull_tag.as_deref(), Some(format!("docker pull {}/team/app:1.0", reg.host()).as_str()));
    assert_eq!(online.pull, format!("docker pull {}/team/app@{}", reg.host(), img.digest));

    let cached = berth.inspect_from("lab", "team/app", "1.0", InspectFrom::Cache).await.unwrap();
    assert_eq!(cached.source, DetailSource::Cache);
    assert!(cached.checked_at.is_some(), "when the last sync saw the tag");
    assert_eq!(cached.digest, img.digest);
    assert_eq!(cached.raw_manifest, online.raw_manifest, "the exact bytes");
    assert_eq!(cached.layers, online.layers);
    assert_eq!(cached.config, online.config, "the config was cached by the sync");
    assert_eq!(cached.config.as_ref().unwrap().created.as_deref(), Some("2025-03-04T05:06:07Z"));
    assert_eq!(cached.sibling_tags, ["stable"]);
    assert_eq!(cached.size, online.size);
    let cosign: Vec<_> = cached.referrers.iter().filter(|r| r.source == "cosign_tag").collect();
    assert_eq!((cosign.len(), cached.referrers.len()), (1, 1), "listed once: {:?}", cached.referrers);
    assert_eq!(cosign[0].digest, sig.digest);
    assert!(cached.notes.is_empty(), "{:?}", cached.notes);

    // The registry stops: the detail still answers, from the cache, and says so.
    reg.stop();
    let offline = berth.inspect("lab", "team/multi", "v1").await.unwrap();
    assert_eq!(offline.source, DetailSource::Cache);
    assert_eq!(offline.digest, index.digest);
    assert!(offline.notes.iter().any(|n| n.contains("did not answer")), "{:?}", offline.notes);
    let platforms: Vec<(String, Option<String>)> =
        offline.platforms.iter().map(|p| (format!("{}/{}", p.os, p.architecture), p.created.clone())).collect();
    assert_eq!(
        platforms,
        [
            ("linux/amd64".to_string(), Some("2025-01-01T00:00:00Z".to_string())),
            ("linux/arm64".to_string(), Some("2025-02-02T00:00:00Z".to_string()))
        ]
    );
    for p in &offline.platforms {
        assert_eq!(p.pull, format!("docker pull {}/team/multi@{}", reg.host(), p.digest));
    }
    assert_eq!(offline.resolved_platform.as_deref(), Some("linux/amd64"));
    assert!(offline.config.is_some() && !offline.layers.is_empty());
    let signed = berth.inspect("lab", "team/app", "1.0").await.unwrap();
    assert_eq!(signed.source, DetailSource::Cache);
    assert_eq!(signed.referrers.len(), 1, "listed once: {:?}", signed.referrers);
    assert_eq!(signed.referrers[0].source, "cosign_tag");
    // By digest too; a tag the cache never saw is the registry's error, not an invented answer.
    let by_digest = berth.inspect("lab", "team/app", &img.digest).await.unwrap();
    assert_eq!((by_digest.source, by_digest.sibling_tags.len()), (DetailSource::Cache, 2));
    let err = berth.inspect("lab", "team/app", "never-synced").await.unwrap_err();
    assert!(err.unreachable, "{err:?}");
}
