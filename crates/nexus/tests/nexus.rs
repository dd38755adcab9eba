//! The Nexus client against the Nexus emulator (one real registry per docker repository; every
//! REST answer is checked against the 3.94 OpenAPI spec when the emulator drops).

use std::time::Duration;

use berth_nexus::{NexusClient, TASK_COMPACT, TASK_DOCKER_GC};
use berth_registry::{Credentials, ErrorKind, RegistryClient, TlsOptions};
use berth_testkit::{ImageSpec, Nexus};

fn admin() -> Credentials {
    Credentials::Basic { username: "admin".into(), password: "admin123".into() }
}

async fn nexus() -> Nexus {
    Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await
}

#[tokio::test]
async fn discovers_two_docker_repositories_on_two_ports_and_browses_both() {
    let n = nexus().await;
    n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("a")).await;
    n.seeder("docker-b").push_image("tools/lint", "2.0", &ImageSpec::small("b")).await;
    let c = NexusClient::new(&n.url(), admin(), &TlsOptions::default()).unwrap();
    c.status().await.unwrap();
    c.status_writable().await.unwrap();
    let repos = c.docker_repositories().await.unwrap();
    assert_eq!(repos.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["docker-a", "docker-b"]);
    assert_eq!(repos[0].endpoint, n.connector_url("docker-a").unwrap());
    assert_eq!(repos[1].endpoint, n.connector_url("docker-b").unwrap());
    assert_ne!(repos[0].endpoint, repos[1].endpoint);
    for (r, image, tag) in [(&repos[0], "team/app", "1.0"), (&repos[1], "tools/lint", "2.0")] {
        let v2 = RegistryClient::new(&r.endpoint, admin(), &TlsOptions::default()).unwrap();
        assert_eq!(v2.catalog().await.unwrap(), [image]);
        assert_eq!(v2.tags(image).await.unwrap(), [tag]);
        let anonymous = RegistryClient::new(&r.endpoint, Credentials::Anonymous, &TlsOptions::default()).unwrap();
        assert_eq!(anonymous.catalog().await.unwrap_err().kind, ErrorKind::Unauthorized);
    }
    // The path route on the main port serves the same registry.
    let by_path =
        RegistryClient::new(&format!("{}/repository/docker-b", n.url()), admin(), &TlsOptions::default()).unwrap();
    assert_eq!(by_path.tags("tools/lint").await.unwrap(), ["2.0"]);
    assert!(n.validator().checked() >= 3);
}

#[tokio::test]
async fn components_come_in_continuation_pages() {
    let n = nexus().await;
    let s = n.seeder("docker-a");
    let first = s.push_image("team/app", "t00", &ImageSpec::small("paged")).await;
    for i in 1..23 {
        s.tag("team/app", &first.digest, &format!("t{i:02}")).await;
    }
    let c = NexusClient::new(&n.url(), admin(), &TlsOptions::default()).unwrap();
    let comps = c.components("docker-a").await.unwrap();
    assert_eq!(comps.len(), 23, "three pages of 10, 10 and 3");
    assert_eq!(comps[22].version, "t22");
    assert_eq!(comps[0].assets[0].digest().as_deref(), Some(first.digest.as_str()));
    // 20 components: two full pages, then the empty page Nexus sends after a full one.
    let comps_b = {
        let s = n.seeder("docker-b");
        let p = s.push_image("x", "t00", &ImageSpec::small("twenty")).await;
        for i in 1..20 {
            s.tag("x", &p.digest, &format!("t{i:02}")).await;
        }
        c.components("docker-b").await.unwrap()
    };
    assert_eq!(comps_b.len(), 20);
    let raw: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/service/rest/v1/components?repository=docker-b", n.url()))
        .basic_auth("admin", Some("admin123"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(raw["continuationToken"].is_string());
    assert_eq!(raw["items"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn delete_component_then_docker_gc_then_compact_frees_the_blob_store() {
    let n = nexus().await;
    let s = n.seeder("docker-a");
    let img = s.push_image("team/app", "old", &ImageSpec::small("old")).await;
    s.push_image("team/app", "new", &ImageSpec::small("new")).await;
    let c = NexusClient::new(&n.url(), admin(), &TlsOptions::default()).unwrap();
    let size0 = c.blob_stores().await.unwrap()[0].total_size_in_bytes;
    let comp = c.find_component("docker-a", "team/app", "old").await.unwrap().unwrap();
    c.delete_component(&comp.id).await.unwrap();
    assert!(!n.registry_tags("docker-a", "team/app").contains_key("old"));
    assert!(n.registry_manifests("docker-a", "team/app").contains(&img.digest), "only the tag went");
    let e = c.delete_component(&comp.id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);

    let gc = c.tasks(Some(TASK_DOCKER_GC)).await.unwrap().remove(0);
    c.run_task(&gc.id).await.unwrap();
    let done = c.wait_task(&gc.id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(done.last_run_result.as_deref(), Some("OK"), "{done:?}");
    assert!(!n.registry_manifests("docker-a", "team/app").contains(&img.digest), "the unused manifest is gone");
    assert_eq!(c.blob_stores().await.unwrap()[0].total_size_in_bytes, size0, "nothing freed before compaction");

    let compact = c.tasks(Some(TASK_COMPACT)).await.unwrap().remove(0);
    c.run_task(&compact.id).await.unwrap();
    c.wait_task(&compact.id, Duration::from_secs(30)).await.unwrap();
    let after = c.blob_stores().await.unwrap()[0].total_size_in_bytes;
    assert!(after < size0, "{after} < {size0}");
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(c.run_task("no-such-task").await.unwrap_err().kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn wrong_credentials_and_a_read_only_nexus_are_explained() {
    let n = nexus().await;
    let wrong = NexusClient::new(
        &n.url(),
        Credentials::Basic { username: "admin".into(), password: "nope".into() },
        &TlsOptions::default(),
    )
    .unwrap();
    wrong.status().await.unwrap(); // no auth needed
    let e = wrong.check_login().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.message.contains("rejected the username or password"), "{}", e.message);

    let c = NexusClient::new(&n.url(), admin(), &TlsOptions::default()).unwrap();
    n.set_writable(false);
    let e = c.status_writable().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReadOnly);
    assert!(e.message.contains("read-only") && e.message.contains("503"), "{}", e.message);
    assert!(e.hint.contains("writable again"), "{}", e.hint);
    c.status().await.unwrap();
    n.set_available(false);
    let e = c.status().await.unwrap_err();
    assert!(e.message.contains("unavailable"), "{}", e.message);
}

#[tokio::test]
async fn on_3_89_a_v2_delete_leaves_the_tag_and_the_components_api_removes_it() {
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_delete_keeps_tags(true)
        .start()
        .await;
    let img = n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("keep")).await;
    let v2 = RegistryClient::new(&n.connector_url("docker-a").unwrap(), admin(), &TlsOptions::default()).unwrap();
    let digest = berth_registry::Digest::parse(&img.digest).unwrap();
    assert!(v2.delete_manifest("team/app", &digest).await.unwrap());
    assert_eq!(v2.tags("team/app").await.unwrap(), ["1.0"], "the tag is still listed");
    assert!(v2.get_manifest("team/app", &berth_registry::Reference::Tag("1.0".into())).await.unwrap().is_none());
    // The components API removes what the /v2 delete left behind.
    let c = NexusClient::new(&n.url(), admin(), &TlsOptions::default()).unwrap();
    let comp = c.find_component("docker-a", "team/app", "1.0").await.unwrap().expect("still a component");
    c.delete_component(&comp.id).await.unwrap();
    assert!(v2.tags("team/app").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_continuation_token_nexus_repeats_is_an_incomplete_listing() {
    let s = berth_testkit::FaultServer::start(vec![berth_testkit::Fault::NexusRepeatToken]);
    let c = berth_nexus::NexusClient::new(
        &s.url(),
        berth_registry::Credentials::Anonymous,
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    let e = c.components("r").await.unwrap_err();
    assert_eq!(e.kind, berth_registry::ErrorKind::IncompleteListing, "{e:?}");
    assert!(e.message.contains("continuationToken"), "{e}");
    assert!(s.count("/service/rest/v1/components") <= 3);
}

/// The fuzz target's parses (`fuzz/fuzz_targets/nexus.rs`) over mutated real answers: no panic.
#[test]
fn mutated_nexus_answers_never_panic() {
    let components: &[u8] = br#"{"items":[{"id":"ZG9ja2VyOjEyMw","repository":"docker-hosted","format":"docker","name":"team/app","version":"1.0",
        "assets":[{"downloadUrl":"http://n/repository/docker-hosted/v2/team/app/manifests/1.0","path":"v2/team/app/manifests/1.0","id":"a","repository":"docker-hosted","format":"docker",
        "checksum":{"sha1":"x","sha256":"abc"},"contentType":"application/vnd.oci.image.manifest.v1+json","fileSize":1234,"blobCreated":"2024-01-01T00:00:00.000+00:00","blobCreated":"2024-01-02T00:00:00.000+00:00"}]}],
        "continuationToken":"88491cd1d185dd136f143f20c4e7d50c"}"#;
    let tasks: &[u8] = br#"{"items":[{"id":"t1","name":"Docker - Delete unused manifests","type":"repository.docker.gc","currentState":"WAITING","lastRunResult":"OK","lastRun":"2024-01-01T00:00:00.000+00:00"}],"continuationToken":null}"#;
    let stores: &[u8] = br#"[{"name":"default","type":"File","unavailable":false,"blobCount":12,"totalSizeInBytes":1048576,"availableSpaceInBytes":-1}]"#;
    let repos: &[u8] = br#"[{"name":"docker-hosted","format":"docker","type":"hosted","url":"http://n/repository/docker-hosted","attributes":{}}]"#;
    for data in berth_testkit::mutations(&[components, tasks, stores, repos], 20_000) {
        berth_nexus::fuzz_parse(&data);
    }
}
