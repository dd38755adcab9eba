//! Each backend against a real server (registry:2) or an emulator in front of real registries (Harbor,
//! Nexus): repositories, tags with digests from the bulk APIs (the same map `/v2` gives tag by tag),
//! and tag removal bound to the digest the plan saw (a moved tag is reported, not removed).

use std::collections::BTreeMap;

use berth_backend::{Backend, Harbor, Nexus, Registry2, TagRemoval};
use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_registry::{Credentials, Reference, RegistryClient, TlsOptions};
use berth_testkit::{ImageSpec, Seeder};

fn basic(user: &str, password: &str) -> Credentials {
    Credentials::Basic { username: user.into(), password: password.into() }
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

async fn seed(s: &Seeder, repo: &str) -> (String, String) {
    let a = s.push_image(repo, "1.0", &ImageSpec::small(&format!("{repo}-a"))).await;
    s.tag(repo, &a.digest, "latest").await; // two tags share a digest
    let b = s.push_image(repo, "2.0", &ImageSpec::small(&format!("{repo}-b"))).await;
    (a.digest, b.digest)
}

#[tokio::test(flavor = "multi_thread")]
async fn registry2_lists_tags_through_v2_only() {
    let reg = berth_testkit::Registry::start().await;
    let (a, _) = seed(&Seeder::new(&reg.url()), "app").await;
    let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let b = Registry2::new(client.clone(), None, "lab");
    assert_eq!(b.repositories().await.unwrap(), ["app"]);
    assert_eq!(b.tag_digests("app").await.unwrap(), None, "no bulk API: the sync asks /v2");
    // Bound to the digest: a tag that points elsewhere now is left alone.
    let moved = b.remove_tag("app", "2.0", &a).await.unwrap();
    assert!(matches!(moved, TagRemoval::Moved(_)), "{moved:?}");
    assert!(v2_tags(&client, "app").await.contains_key("2.0"));
    assert!(matches!(b.remove_tag("app", "latest", &a).await.unwrap(), TagRemoval::Removed(_)));
    assert!(!v2_tags(&client, "app").await.contains_key("latest"));
    assert_eq!(b.remove_tag("app", "latest", &a).await.unwrap(), TagRemoval::Gone);
}

#[tokio::test(flavor = "multi_thread")]
async fn harbor_lists_tags_with_digests_from_its_artifacts_api() {
    let h = berth_testkit::Harbor::builder().admin("admin", "Harbor12345").project("team", false).start().await;
    let (a, b_digest) = seed(&h.seeder(), "team/app").await;
    seed(&h.seeder(), "team/tools/lint").await; // a nested repository
    let creds = basic("admin", "Harbor12345");
    let client = RegistryClient::new(&h.url(), creds.clone(), &TlsOptions::default()).unwrap();
    let api = HarborClient::new(&h.url(), creds, &TlsOptions::default()).unwrap();
    let b = Harbor::new(client.clone(), api);
    assert_eq!(b.repositories().await.unwrap(), ["team/app", "team/tools/lint"]);
    for repo in ["team/app", "team/tools/lint"] {
        let bulk: BTreeMap<String, String> =
            b.tag_digests(repo).await.unwrap().expect("Harbor lists in bulk").into_iter().collect();
        assert_eq!(bulk, v2_tags(&client, repo).await, "{repo}: the artifacts API agrees with /v2");
        assert_eq!(bulk.len(), 3);
    }
    // Bound to the digest through artifacts/{digest}/tags/{tag}.
    assert!(matches!(b.remove_tag("team/app", "2.0", &a).await.unwrap(), TagRemoval::Moved(d) if d == b_digest));
    assert!(matches!(b.remove_tag("team/app", "latest", &a).await.unwrap(), TagRemoval::Removed(_)));
    assert_eq!(h.registry_tags("team/app").keys().collect::<Vec<_>>(), ["1.0", "2.0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn nexus_lists_tags_with_digests_from_its_components_api() {
    let n = berth_testkit::Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .page_size(2)
        .start()
        .await;
    let (a, _) = seed(&n.seeder("docker-a"), "team/app").await;
    seed(&n.seeder("docker-a"), "tools/lint").await;
    let creds = basic("admin", "admin123");
    let client =
        RegistryClient::new(&n.connector_url("docker-a").unwrap(), creds.clone(), &TlsOptions::default()).unwrap();
    let api = NexusClient::new(&n.url(), creds, &TlsOptions::default()).unwrap();
    let b = Nexus::new(client.clone(), api, "docker-a");
    for repo in ["team/app", "tools/lint"] {
        // Page size 2: the components come over several continuationToken pages.
        let bulk: BTreeMap<String, String> =
            b.tag_digests(repo).await.unwrap().expect("Nexus lists in bulk").into_iter().collect();
        assert_eq!(bulk, v2_tags(&client, repo).await, "{repo}: the components API agrees with /v2");
        assert_eq!(bulk.len(), 3);
    }
    assert!(matches!(b.remove_tag("team/app", "2.0", &a).await.unwrap(), TagRemoval::Moved(_)));
    assert!(matches!(b.remove_tag("team/app", "latest", &a).await.unwrap(), TagRemoval::Removed(_)));
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["1.0", "2.0"]);
}
