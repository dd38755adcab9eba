//! Copy, retag and promote between real registries (docker-registry 2.8 on loopback, skopeo to check
//! what the target serves): byte-identical digests, shared blobs sent once, mounts and retags that
//! move no blob, overwrites refused without consent, a cancelled copy resumed without re-sending,
//! read-only and mirror-only targets refused with why, referrers along.

use std::path::Path;
use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, CopyRequest, Secret, SortBy};
use berth_secrets::MemoryStore;
use berth_testkit::{
    skopeo_copy, skopeo_pull, write_oci_layout, ArtifactSpec, ImageSpec, LayoutEntry, Registry, Seeder, SkopeoOpts,
};

async fn berth(dir: &Path) -> Berth {
    Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap()
}

async fn add(b: &Berth, name: &str, url: &str, creds: Option<(&str, &str)>) {
    b.add_profile(AddProfileRequest {
        name: name.into(),
        url: url.into(),
        username: creds.map(|c| c.0.to_string()),
        password: creds.map(|c| Secret::new(c.1)),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
}

fn request(sources: &[&str]) -> CopyRequest {
    CopyRequest { sources: sources.iter().map(|s| s.to_string()).collect(), ..CopyRequest::default() }
}

/// A multi-layer image whose first layers are shared with other images of the same `base`.
fn layered(base: &str, own: &str, layers: usize) -> ImageSpec {
    let mut spec = ImageSpec::small(own);
    spec.layers = (0..layers)
        .map(|i| {
            let seed = if i + 1 < layers { format!("{base}-{i}") } else { format!("{own}-{i}") };
            berth_testkit::layer_of(&seed, 64 * 1024)
        })
        .collect();
    spec
}

/// The blobs the registry received: `PUT …/blobs/uploads/…?digest=D` answered (its log has a
/// "response completed" line per request; the digest is URL-encoded there, so match its hex).
fn blob_puts(reg: &Registry, digest: &str) -> usize {
    let hex = digest.split(':').nth(1).unwrap_or(digest);
    uploads(reg, "PUT").into_iter().filter(|l| l.contains(hex)).count()
}

/// "response completed" lines for `method` requests on upload sessions.
fn uploads(reg: &Registry, method: &str) -> Vec<String> {
    reg.log()
        .lines()
        .filter(|l| {
            l.contains("msg=\"response completed\"")
                && l.contains(&format!("http.request.method={method} "))
                && l.contains("/blobs/uploads/")
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn images_are_copied_between_registries_byte_for_byte_shared_blobs_once_and_verified() {
    let src = Registry::start().await;
    let dst = Registry::builder().htpasswd(&[("ci", "s3cret")]).start().await;
    let seeder = Seeder::new(&src.url());
    let a = seeder.push_image("team/app", "1.4", &layered("base", "app-1.4", 3)).await;
    let b14 = seeder.push_image("team/app", "1.5", &layered("base", "app-1.5", 3)).await;
    // A multi-arch index pushed by skopeo (OCI index, three platforms sharing a base layer).
    let dir = tempfile::tempdir().unwrap();
    let platforms = vec![
        ImageSpec::platform("linux", "amd64", None, "multi"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "multi"),
    ];
    write_oci_layout(dir.path(), &[("multi", LayoutEntry::Index(platforms))]);
    let out = skopeo_copy(
        dir.path(),
        "multi",
        &format!("{}/team/multi:1", src.host()),
        &SkopeoOpts { all: true, ..Default::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    add(&b, "prod", &dst.url(), Some(("ci", "s3cret"))).await;

    // The target was synced once (empty): after the copy its cache has the new tags without another.
    b.sync("prod", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let req = request(&["team/app:1.4", "team/app:1.5", "team/multi:1"]);
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    assert_eq!(plan.images.len(), 3);
    assert!(!plan.same_registry);
    // Shared base layers count once: the bytes to send are the unique blobs' bytes.
    let mut unique = std::collections::BTreeMap::new();
    for p in [&a, &b14] {
        for (d, s) in &p.blobs {
            unique.insert(d.clone(), *s);
        }
    }
    let app_bytes: u64 = plan.images[..2].iter().map(|i| i.bytes_to_send).sum();
    assert_eq!(app_bytes, unique.values().sum::<u64>(), "shared layers are counted once");
    assert_eq!(plan.images[2].manifests.len(), 3, "two platform manifests, then the index");
    assert!(plan.images.iter().all(|i| i.tag_action == berth_core::TagAction::Create));

    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert!(report.results.iter().all(|r| r.result == "copied"), "{:?}", report.results);
    assert_eq!(report.bytes_sent, plan.bytes_to_send, "no byte sent twice");
    assert_eq!(report.blobs_sent, plan.blobs_to_send);
    // Each shared blob reached the target once.
    let base = &a.blobs[1].0; // blobs[0] is the config
    assert_eq!(blob_puts(&dst, base), 1, "the shared base layer was uploaded once");

    // The target serves the same bytes (skopeo's own view), and the index pulls with every platform.
    for (repo_tag, want) in [("team/app:1.4", &a.bytes), ("team/app:1.5", &b14.bytes)] {
        let raw = skopeo_pull_creds(&dst, repo_tag);
        assert_eq!(&raw, want, "{repo_tag} byte for byte");
    }
    let src_raw = skopeo_pull(&format!("{}/team/multi:1", src.host()), true).unwrap();
    let dst_raw = skopeo_pull_creds(&dst, "team/multi:1");
    assert_eq!(src_raw, dst_raw, "the index is identical");

    // The target's cache knows the new tags at once, and the audit log has each copy.
    let tags: Vec<String> =
        b.tags("prod", "team/app", SortBy::Name, None).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, ["1.4", "1.5"]);
    let audit = b.audit("prod", 50).await.unwrap();
    assert_eq!(audit.iter().filter(|r| r.action == "copy" && r.result == "ok").count(), 3, "{audit:?}");
    assert!(audit.iter().any(|r| r.message.as_deref().unwrap_or("").contains("from lab/team/app:1.4")));

    // A second copy finds everything there: nothing sent, the tags unchanged.
    let again = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert_eq!(again.bytes_to_send, 0);
    assert!(again.images.iter().all(|i| i.tag_action == berth_core::TagAction::Same));
}

/// skopeo inspect --raw with the target's credentials (and a full pull with --all, every blob checked).
fn skopeo_pull_creds(reg: &Registry, repo_tag: &str) -> Vec<u8> {
    let src = format!("docker://{}/{repo_tag}", reg.host());
    let tmp = tempfile::tempdir().unwrap();
    let auth = tmp.path().join("auth.json");
    let pull = std::process::Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--all", "--src-tls-verify=false", "--src-creds", "ci:s3cret"])
        .arg(&src)
        .arg(format!("dir:{}", tmp.path().join("out").display()))
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .unwrap();
    assert!(pull.status.success(), "{}", String::from_utf8_lossy(&pull.stderr));
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", "ci:s3cret"])
        .arg(&src)
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overwrite_is_refused_without_consent_and_done_with_it() {
    let src = Registry::start().await;
    let dst = Registry::start().await;
    let new = Seeder::new(&src.url()).push_image("team/app", "stable", &ImageSpec::small("new")).await;
    let old = Seeder::new(&dst.url()).push_image("team/app", "stable", &ImageSpec::small("old")).await;
    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    add(&b, "prod", &dst.url(), None).await;

    let mut req = request(&["team/app:stable"]);
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert!(plan.images.is_empty());
    let r = &plan.refused[0];
    assert!(r.reason.contains("points at another image") && r.reason.contains(&old.digest), "{r:?}");
    assert!(r.hint.contains("overwrite"), "{r:?}");
    // Nothing was sent: the target still has the old image.
    let head = |d: &Registry| {
        let url = format!("{}/v2/team/app/manifests/stable", d.url());
        async move {
            reqwest::Client::new()
                .head(url)
                .header("Accept", "application/vnd.oci.image.manifest.v1+json")
                .send()
                .await
                .unwrap()
                .headers()["docker-content-digest"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(head(&dst).await, old.digest);

    req.overwrite = true;
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.images[0].tag_action, berth_core::TagAction::Overwrite { previous: old.digest.clone() });
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(head(&dst).await, new.digest);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retag_and_a_copy_within_one_registry_move_no_blob() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let img = seeder.push_image("team/app", "1.4", &layered("base", "app", 3)).await;
    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &reg.url(), None).await;
    let data_uploads = || uploads(&reg, "PUT").len() + uploads(&reg, "PATCH").len();
    let uploads_before = data_uploads();

    // Retag: a manifest PUT under the new tag, no blob request at all.
    let (plan, report) = b.retag("lab", "team/app:1.4", "stable", false, &CancellationToken::new()).await.unwrap();
    assert!(plan.same_registry);
    assert_eq!(plan.bytes_to_send, 0);
    assert!(report.verified, "{report:?}");
    assert_eq!(report.bytes_sent, 0);
    assert_eq!(data_uploads(), uploads_before, "no blob data was uploaded");
    // Moving an existing tag needs consent.
    seeder.push_image("team/app", "other", &ImageSpec::small("other")).await;
    let e = b.retag("lab", "team/app:1.4", "other", false, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("points at another image"), "{e:?}");

    // Into another repository of the same registry: every blob mounted, none sent.
    let mut req = request(&["team/app:1.4"]);
    req.target_repository = Some("release/{repo}".into());
    let plan = b.plan_copy("lab", "lab", &req, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.images[0].target_repository, "release/team/app");
    assert_eq!(plan.blobs_to_mount, img.blobs.len(), "{plan:?}");
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(report.bytes_sent, 0);
    assert_eq!(report.blobs_mounted, img.blobs.len());
    let audit = b.audit("lab", 20).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "retag" && r.target == "team/app:stable"), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_copy_resumes_without_sending_finished_blobs_again() {
    let src = Registry::start().await;
    let dst = Registry::start().await;
    let img = Seeder::new(&src.url()).push_image("big/app", "1", &layered("big", "big-app", 8)).await;
    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    add(&b, "prod", &dst.url(), None).await;
    let req = request(&["big/app:1"]);
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.blobs_to_send, img.blobs.len());

    // Cancel once two blobs are on the target.
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let report = b
        .execute_copy(&plan, &cancel, &move |p| {
            if p.blobs_done >= 2 {
                c.cancel();
            }
        })
        .await
        .unwrap();
    assert!(report.cancelled, "{report:?}");
    assert_eq!(report.results[0].result, "skipped");
    // The next plan sees what arrived (a transfer in flight at the cancel may have completed on the
    // server: the log, read after the plan, is the truth); the run sends only the rest.
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    let sent_first: Vec<&String> = img.blobs.iter().map(|(d, _)| d).filter(|d| blob_puts(&dst, d) == 1).collect();
    assert!(sent_first.len() >= 2 && sent_first.len() < img.blobs.len(), "{} of {}", sent_first.len(), img.blobs.len());
    assert_eq!(plan.blobs_present, sent_first.len(), "{plan:?}");
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified && !report.cancelled, "{report:?}");
    for (d, _) in &img.blobs {
        assert_eq!(blob_puts(&dst, d), 1, "{d} was uploaded exactly once over both runs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_target_is_refused_before_anything_is_sent() {
    let src = Registry::start().await;
    let dst = Registry::builder().read_only(true).start().await;
    Seeder::new(&src.url()).push_image("team/app", "1", &ImageSpec::small("app")).await;
    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    add(&b, "frozen", &dst.url(), None).await;
    let plan = b.plan_copy("lab", "frozen", &request(&["team/app:1"]), &CancellationToken::new()).await.unwrap();
    assert!(plan.images.is_empty());
    assert!(
        plan.refused[0].reason.contains("read-only") && plan.refused[0].reason.contains("nothing will be sent"),
        "{:?}",
        plan.refused
    );
    assert!(!plan.refused[0].hint.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn referrers_travel_with_their_image_when_asked() {
    let src = Registry::start().await;
    let dst = Registry::start().await;
    let seeder = Seeder::new(&src.url());
    let img = seeder.push_image("team/app", "1", &ImageSpec::small("signed")).await;
    let sig = seeder.push_referrer_tag("team/app", &img).await;
    // An SBOM with a subject, listed in the OCI fallback index (registry 2.8 has no referrers API).
    let sbom = seeder.push_artifact("team/app", None, &ArtifactSpec::sbom_for(&img)).await;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": sbom.media_type, "digest": sbom.digest, "size": sbom.size, "artifactType": "application/spdx+json"}],
    });
    let fallback = img.digest.replacen(':', "-", 1);
    seeder
        .put_manifest(
            "team/app",
            &fallback,
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        )
        .await;

    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    add(&b, "prod", &dst.url(), None).await;

    // Without --with-referrers: the image alone.
    let plan = b.plan_copy("lab", "prod", &request(&["team/app:1"]), &CancellationToken::new()).await.unwrap();
    assert!(plan.images[0].referrers.is_empty());

    let mut req = request(&["team/app:1"]);
    req.with_referrers = true;
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    let kinds: Vec<&str> = plan.images[0].referrers.iter().map(|r| r.digest.as_str()).collect();
    assert!(
        kinds.contains(&sig.digest.as_str()) && kinds.contains(&sbom.digest.as_str()),
        "{:?}",
        plan.images[0].referrers
    );
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");

    // On the target: the cosign tag, the SBOM by digest, and a fallback index that lists it.
    let t = Seeder::new(&dst.url());
    let (sig_bytes, _) = t.get_manifest("team/app", &format!("{fallback}.sig")).await;
    assert_eq!(berth_testkit::sha256_digest(&sig_bytes), sig.digest);
    let (sbom_bytes, _) = t.get_manifest("team/app", &sbom.digest).await;
    assert_eq!(sbom_bytes, sbom.bytes);
    let (idx, _) = t.get_manifest("team/app", &fallback).await;
    assert!(String::from_utf8_lossy(&idx).contains(&sbom.digest));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_registry_with_a_ca_promotes_to_a_token_auth_registry() {
    // Source: TLS with a company CA and htpasswd; target: token auth (pull on one side, push on the
    // other, each with its own profile's credentials).
    let src = Registry::builder().tls(berth_testkit::TlsMode::CaSigned).htpasswd(&[("lab", "lab-pw")]).start().await;
    let issuer =
        berth_testkit::TokenIssuer::start(vec![berth_testkit::TokenUser::new("ci", "tok-pw", &["pull", "push"])]).await;
    let dst = Registry::builder().token_auth(&issuer).start().await;
    let img = Seeder::new(&src.url())
        .with_ca(&src.ca_pem().unwrap())
        .with_basic("lab", "lab-pw")
        .push_image("team/app", "1.4", &layered("tls", "tls-app", 2))
        .await;
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, src.ca_pem().unwrap()).unwrap();
    let b = berth(home.path()).await;
    b.add_profile(AddProfileRequest {
        name: "lab".into(),
        url: src.url(),
        username: Some("lab".into()),
        password: Some(Secret::new("lab-pw")),
        ca_files: Some(vec![ca.to_string_lossy().into_owned()]),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
    b.add_profile(AddProfileRequest {
        name: "prod".into(),
        url: dst.url(),
        auth: Some("token".into()),
        username: Some("ci".into()),
        password: Some(Secret::new("tok-pw")),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
    let mut req = request(&["team/app:1.4"]);
    req.target_repository = Some("release/app".into());
    req.target_tag = Some("{tag}-prod".into());
    let plan = b.plan_copy("lab", "prod", &req, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.images[0].target_tag.as_deref(), Some("1.4-prod"));
    let before = issuer.requests();
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert!(issuer.requests() > before, "push tokens came from the token service");
    let got = Seeder::new(&dst.url()).with_basic("ci", "tok-pw").get_manifest("release/app", "1.4-prod").await.0;
    assert_eq!(got, img.bytes);
}

#[tokio::test(flavor = "multi_thread")]
async fn harbor_projects_and_nexus_hosted_repositories_are_targets_proxies_are_refused() {
    use berth_testkit::{Harbor, HarborRole, Nexus};
    let src = Registry::start().await;
    let img = Seeder::new(&src.url()).push_image("team/app", "1.4", &layered("hx", "hx-app", 2)).await;
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "Dev12345")
        .project("team", false)
        .project("other", false)
        .member("team", "dev", HarborRole::Developer)
        .member("other", "dev", HarborRole::Guest)
        .start()
        .await;
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_proxy("docker-hub", true)
        .start()
        .await;
    let home = tempfile::tempdir().unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    b.add_profile(AddProfileRequest {
        name: "harbor".into(),
        url: h.url(),
        kind: Some("harbor".into()),
        username: Some("dev".into()),
        password: Some(Secret::new("Dev12345")),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
    b.add_profile(AddProfileRequest {
        name: "nx".into(),
        url: n.url(),
        kind: Some("nexus".into()),
        username: Some("admin".into()),
        password: Some(Secret::new("admin123")),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
    b.nexus_discover("nx").await.unwrap();

    // Harbor: a project where the account is a developer takes the image; one where it is a guest
    // is refused in the plan, before anything is sent.
    let mut req = request(&["team/app:1.4"]);
    let plan = b.plan_copy("lab", "harbor", &req, &CancellationToken::new()).await.unwrap();
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(h.registry_tags("team/app").get("1.4"), Some(&img.digest));
    req.target_repository = Some("other/app".into());
    let plan = b.plan_copy("lab", "harbor", &req, &CancellationToken::new()).await.unwrap();
    assert!(plan.images.is_empty() && plan.refused[0].reason.contains("may not push"), "{:?}", plan.refused);

    // Nexus: the hosted repository takes it; the proxy and the server profile are refused with why.
    let req = request(&["team/app:1.4"]);
    let plan = b.plan_copy("lab", "nx-docker-a", &req, &CancellationToken::new()).await.unwrap();
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(n.registry_tags("docker-a", "team/app").get("1.4"), Some(&img.digest));
    let plan = b.plan_copy("lab", "nx-docker-hub", &req, &CancellationToken::new()).await.unwrap();
    assert!(plan.images.is_empty() && plan.refused[0].reason.contains("proxy"), "{:?}", plan.refused);
    assert!(plan.refused[0].hint.contains("hosted"), "{:?}", plan.refused);
    let plan = b.plan_copy("lab", "nx", &req, &CancellationToken::new()).await.unwrap();
    assert!(plan.images.is_empty() && plan.refused[0].reason.contains("server profile"), "{:?}", plan.refused);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_behind_a_proxy_with_a_body_limit_gets_the_blob_in_chunks() {
    use berth_testkit::{Nginx, NginxOptions};
    let src = Registry::start().await;
    let upstream = Registry::start().await;
    // nginx's default client_max_body_size (1 MiB): a monolithic PUT of a bigger layer gets 413.
    let nginx = Nginx::start(&upstream, NginxOptions { max_body_size_zero: false, ..NginxOptions::default() }).await;
    let mut spec = ImageSpec::small("big");
    spec.layers = vec![berth_testkit::layer_of("big-layer", 4 * 1024 * 1024)];
    let img = Seeder::new(&src.url()).push_image("team/big", "1", &spec).await;
    assert!(img.blobs[1].1 > 1024 * 1024, "the layer is over nginx's limit: {}", img.blobs[1].1);
    let home = tempfile::tempdir().unwrap();
    let ca = home.path().join("ca.pem");
    std::fs::write(&ca, nginx.ca_pem()).unwrap();
    let b = berth(home.path()).await;
    add(&b, "lab", &src.url(), None).await;
    b.add_profile(AddProfileRequest {
        name: "edge".into(),
        url: nginx.url(),
        ca_files: Some(vec![ca.to_string_lossy().into_owned()]),
        ..AddProfileRequest::default()
    })
    .await
    .unwrap();
    let plan = b.plan_copy("lab", "edge", &request(&["team/big:1"]), &CancellationToken::new()).await.unwrap();
    let report = b.execute_copy(&plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(report.bytes_sent, plan.bytes_to_send, "only what reached the target counts");
    assert!(uploads(&upstream, "PATCH").len() >= 2, "the layer went in chunks");
    let (got, _) = Seeder::new(&upstream.url()).get_manifest("team/big", "1").await;
    assert_eq!(got, img.bytes);
}
