//! Seeding, layouts + skopeo, garbage collection, against a real registry.

use berth_testkit::media_types as mt;
use berth_testkit::{
    seed_repo_name, skopeo_copy, write_oci_layout, GcRun, ImageSpec, LayoutEntry, Registry, Seeder, SkopeoOpts,
};
use reqwest::StatusCode;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// HEAD a manifest: (status, Docker-Content-Digest, Content-Type).
async fn head(reg: &Registry, repo: &str, reference: &str) -> (StatusCode, String, String) {
    let resp = client()
        .head(format!("{}/v2/{repo}/manifests/{reference}", reg.url()))
        .header("Accept", mt::ALL_MANIFESTS)
        .send()
        .await
        .unwrap();
    let h = |k: &str| resp.headers().get(k).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (resp.status(), h("docker-content-digest"), h("content-type"))
}

#[test]
fn specs_are_deterministic() {
    assert_eq!(ImageSpec::small("a"), ImageSpec::small("a"));
    assert_ne!(ImageSpec::small("a").layers, ImageSpec::small("b").layers);
    let amd = ImageSpec::platform("linux", "amd64", None, "s");
    let arm = ImageSpec::platform("linux", "arm64", Some("v8"), "s");
    assert_eq!(amd.layers[0], arm.layers[0], "base layer shared");
    assert_ne!(amd.layers[1], arm.layers[1]);
    // Layers are real gzip'd tars.
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&amd.layers[1][..]).read_to_end(&mut raw).unwrap();
    assert_eq!(&raw[257..262], b"ustar");
    assert_eq!(raw.len() % 512, 0);
}

#[test]
fn gc_output_parsing() {
    let out = "test/img\ntest/img: marking manifest sha256:aa \n21 blobs marked, 2 blobs and 1 manifests eligible for deletion\nblob eligible for deletion: sha256:27d7\nblob eligible for deletion: sha256:a4a3\n";
    let run = GcRun::parse(true, out.into(), String::new());
    assert_eq!(run.marked, Some(21));
    assert_eq!(run.blobs_eligible, Some(2));
    assert_eq!(run.manifests_eligible, Some(1));
    assert_eq!(run.eligible_blobs, vec!["sha256:27d7", "sha256:a4a3"]);
}

#[tokio::test]
async fn push_image_index_tag_and_referrer() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());

    let img = seeder.push_image("lib/app", "1.0", &ImageSpec::small("app")).await;
    assert_eq!(img.media_type, mt::OCI_MANIFEST);
    assert_eq!(img.digest, berth_testkit::sha256_digest(&img.bytes));
    assert_eq!(img.blobs.len(), 2);
    let (s, d, ct) = head(&reg, "lib/app", "1.0").await;
    assert_eq!((s, d.as_str(), ct.as_str()), (StatusCode::OK, img.digest.as_str(), mt::OCI_MANIFEST));

    // Same spec in another repository: same digest, blobs mounted.
    let again = seeder.push_image("lib/other", "x", &ImageSpec::small("app")).await;
    assert_eq!(again.digest, img.digest);

    // Docker schema2.
    let mut docker = ImageSpec::small("docker");
    docker.docker = true;
    let d2 = seeder.push_image("lib/app", "docker", &docker).await;
    assert_eq!(d2.media_type, mt::DOCKER_MANIFEST);
    let (_, d, ct) = head(&reg, "lib/app", "docker").await;
    assert_eq!((d.as_str(), ct.as_str()), (d2.digest.as_str(), mt::DOCKER_MANIFEST));

    // OCI index.
    let platforms = [
        ImageSpec::platform("linux", "amd64", None, "multi"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "multi"),
    ];
    let idx = seeder.push_index("lib/app", "multi", &platforms).await;
    assert_eq!(idx.media_type, mt::OCI_INDEX);
    assert_eq!(idx.children.len(), 2);
    let (_, d, ct) = head(&reg, "lib/app", "multi").await;
    assert_eq!((d.as_str(), ct.as_str()), (idx.digest.as_str(), mt::OCI_INDEX));
    for c in &idx.children {
        let (s, d, _) = head(&reg, "lib/app", &c.digest).await;
        assert_eq!((s, d), (StatusCode::OK, c.digest.clone()));
    }

    // Docker manifest list.
    let docker_platforms: Vec<ImageSpec> = platforms
        .iter()
        .cloned()
        .map(|mut p| {
            p.docker = true;
            p
        })
        .collect();
    let list = seeder.push_index("lib/list", "v1", &docker_platforms).await;
    assert_eq!(list.media_type, mt::DOCKER_MANIFEST_LIST);
    let (_, d, ct) = head(&reg, "lib/list", "v1").await;
    assert_eq!((d.as_str(), ct.as_str()), (list.digest.as_str(), mt::DOCKER_MANIFEST_LIST));

    // Retag: same digest.
    seeder.tag("lib/app", &idx.digest, "latest").await;
    let (_, d, _) = head(&reg, "lib/app", "latest").await;
    assert_eq!(d, idx.digest);

    // cosign-style signature tag.
    let sig = seeder.push_referrer_tag("lib/app", &img).await;
    let sig_tag = format!("sha256-{}.sig", img.digest.trim_start_matches("sha256:"));
    let (_, d, _) = head(&reg, "lib/app", &sig_tag).await;
    assert_eq!(d, sig.digest);

    let tags: serde_json::Value =
        client().get(format!("{}/v2/lib/app/tags/list", reg.url())).send().await.unwrap().json().await.unwrap();
    let mut tags: Vec<String> = serde_json::from_value(tags["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, vec!["1.0", "docker", "latest", "multi", sig_tag.as_str()]);

    // Everything pushed is on disk.
    let on_disk = reg.blobs_on_disk();
    for p in [&img, &d2, &idx, &list, &sig] {
        for d in p.all_blobs().keys() {
            assert!(on_disk.contains(d), "{d} missing on disk");
        }
    }
}

#[tokio::test]
async fn seed_many_fills_the_catalog() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let t = std::time::Instant::now();
    let summary = seeder.seed_many(50, 3, "bench/app", 8).await;
    eprintln!("seed_many 50x3: {:?} in {:?}", summary, t.elapsed());
    assert_eq!(summary.repositories, 50);
    assert_eq!(summary.tags, 150);
    assert!(summary.requests >= 150);
    let v: serde_json::Value =
        client().get(format!("{}/v2/_catalog?n=1000", reg.url())).send().await.unwrap().json().await.unwrap();
    let repos = v["repositories"].as_array().unwrap();
    assert_eq!(repos.len(), 50);
    assert_eq!(repos[42], seed_repo_name("bench/app", 42));
    assert_eq!(repos[42], "bench/app00042");
    let v: serde_json::Value =
        client().get(format!("{}/v2/bench/app00042/tags/list", reg.url())).send().await.unwrap().json().await.unwrap();
    // 2.8 lists tags in directory order, not sorted.
    let mut tags: Vec<String> = serde_json::from_value(v["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, vec!["v0000", "v0001", "v0002"]);
    // One shared base layer + per tag a unique layer, a config and a manifest.
    assert_eq!(reg.blobs_on_disk().len(), 1 + 150 * 3);
}

#[tokio::test]
async fn skopeo_copies_layouts() {
    let reg = Registry::builder().htpasswd(&[("alice", "secret")]).start().await;
    let dir = tempfile::tempdir().unwrap();
    let platforms = vec![
        ImageSpec::platform("linux", "amd64", None, "sk"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "sk"),
    ];
    write_oci_layout(
        dir.path(),
        &[("single", LayoutEntry::Image(ImageSpec::small("sk"))), ("multi", LayoutEntry::Index(platforms))],
    );
    let creds = Some(("alice".to_string(), "secret".to_string()));
    let out = skopeo_copy(
        dir.path(),
        "multi",
        &format!("{}/test/img:multi", reg.host()),
        &SkopeoOpts { all: true, creds: creds.clone(), ..SkopeoOpts::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let resp = client()
        .get(format!("{}/v2/test/img/manifests/multi", reg.url()))
        .basic_auth("alice", Some("secret"))
        .header("Accept", mt::ALL_MANIFESTS)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], mt::OCI_INDEX);
    let index: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(index["manifests"][1]["platform"]["variant"], "v8");

    // Docker format: a manifest list; the single image as schema2.
    let out = skopeo_copy(
        dir.path(),
        "multi",
        &format!("{}/test/list:v1", reg.host()),
        &SkopeoOpts { all: true, docker_format: true, creds: creds.clone(), ca_pem: None, schema1: false },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = skopeo_copy(
        dir.path(),
        "single",
        &format!("{}/test/docker:v2s2", reg.host()),
        &SkopeoOpts { docker_format: true, creds, ..SkopeoOpts::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (repo, tag, want) in
        [("test/list", "v1", mt::DOCKER_MANIFEST_LIST), ("test/docker", "v2s2", mt::DOCKER_MANIFEST)]
    {
        let resp = client()
            .head(format!("{}/v2/{repo}/manifests/{tag}", reg.url()))
            .basic_auth("alice", Some("secret"))
            .header("Accept", mt::ALL_MANIFESTS)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-type"], want);
    }
}

#[tokio::test]
async fn skopeo_with_tls_ca() {
    let reg = Registry::builder().tls(berth_testkit::TlsMode::CaSigned).start().await;
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), &[("one", LayoutEntry::Image(ImageSpec::small("tls")))]);
    let out = skopeo_copy(
        dir.path(),
        "one",
        &format!("{}/tls/img:one", reg.host()),
        &SkopeoOpts { ca_pem: reg.ca_pem(), ..SkopeoOpts::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn garbage_collect_dry_run_and_real() {
    let mut reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let keep = seeder.push_image("gc/app", "keep", &ImageSpec::small("keep")).await;
    let gone = seeder.push_image("gc/app", "gone", &ImageSpec::small("gone")).await;
    let resp = client().delete(format!("{}/v2/gc/app/manifests/{}", reg.url(), gone.digest)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    let run = reg.garbage_collect(true, false);
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.marked, Some(3));
    assert_eq!(run.blobs_eligible, Some(3));
    assert_eq!(run.manifests_eligible, Some(0));
    let mut eligible = run.eligible_blobs.clone();
    eligible.sort();
    let mut want: Vec<String> = gone.all_blobs().keys().cloned().collect();
    want.sort();
    assert_eq!(eligible, want);
    // Dry run deletes nothing.
    assert_eq!(reg.blobs_on_disk().len(), 6);

    reg.restart(true).await;
    let run = reg.garbage_collect(false, false);
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    let on_disk = reg.blobs_on_disk();
    assert_eq!(on_disk.len(), 3);
    for d in keep.all_blobs().keys() {
        assert!(on_disk.contains(d));
    }
    reg.restart(false).await;
    let (s, d, _) = head(&reg, "gc/app", "keep").await;
    assert_eq!((s, d), (StatusCode::OK, keep.digest.clone()));
    assert!(reg.repositories_on_disk().contains("gc/app"));
}

#[tokio::test]
async fn skopeo_with_token_auth() {
    // skopeo blocks this thread; the issuer keeps answering on its own thread.
    let issuer =
        berth_testkit::TokenIssuer::start(vec![berth_testkit::TokenUser::new("alice", "secret", &["pull", "push"])])
            .await;
    let reg = Registry::builder().token_auth(&issuer).start().await;
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), &[("one", LayoutEntry::Image(ImageSpec::small("tok")))]);
    let out = skopeo_copy(
        dir.path(),
        "one",
        &format!("{}/tok/img:one", reg.host()),
        &SkopeoOpts { creds: Some(("alice".into(), "secret".into())), ..SkopeoOpts::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(issuer.requests() >= 1);
}
