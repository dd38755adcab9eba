//! The protocol core against the test kit's real registries: every auth and TLS variant, and the
//! content rules (Accept list, digests, untag, referrers, retag, mount).

use berth_registry::{
    fetch_certificate_chain, media, Credentials, DeleteCapability, Digest, ErrorKind, Manifest, ManifestCheck,
    Reference, ReferrerSource, RegistryClient, TlsOptions, UntagMethod,
};
use berth_testkit::{
    skopeo_copy, write_oci_layout, ImageSpec, LayoutEntry, Nginx, NginxOptions, Registry, Seeder, SkopeoOpts, TlsMode,
    TokenIssuer, TokenUser,
};

fn anon(url: &str) -> RegistryClient {
    RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap()
}

fn basic(url: &str, user: &str, pw: &str, tls: TlsOptions) -> RegistryClient {
    RegistryClient::new(url, Credentials::Basic { username: user.into(), password: pw.into() }, &tls).unwrap()
}

fn tag(t: &str) -> Reference {
    Reference::Tag(t.into())
}

fn digest(s: &str) -> Digest {
    Digest::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn token_auth_scopes_cache_and_pull_only_delete() {
    let issuer = TokenIssuer::start(vec![
        TokenUser::new("alice", "secret", &["pull", "push", "delete"]),
        TokenUser::new("bob", "pullonly", &["pull"]),
    ])
    .await;
    let reg = Registry::builder().token_auth(&issuer).start().await;
    let seeder = Seeder::new(&reg.url()).with_basic("alice", "secret");
    let pushed = seeder.push_image("team/app", "v1", &ImageSpec::small("tok")).await;

    // alice: ping, catalog (registry:catalog:*), tags (repository pull) — tokens per scope set, reused.
    let alice = basic(&reg.url(), "alice", "secret", TlsOptions::default());
    let ping = alice.ping().await.unwrap();
    assert_eq!(ping.auth_scheme.as_deref(), Some("bearer"));
    assert_eq!(alice.catalog().await.unwrap(), vec!["team/app"]);
    assert_eq!(alice.tags("team/app").await.unwrap(), vec!["v1"]);
    let fetched = alice.token_requests();
    for _ in 0..3 {
        alice.tags("team/app").await.unwrap();
        alice.catalog().await.unwrap();
    }
    assert_eq!(alice.token_requests(), fetched, "tokens are cached by realm + service + scope set");

    // bob may pull but not delete: a clear permission error, after at most one token refetch.
    let bob = basic(&reg.url(), "bob", "pullonly", TlsOptions::default());
    assert_eq!(bob.tags("team/app").await.unwrap(), vec!["v1"]);
    let before = bob.token_requests();
    let e = bob.delete_manifest("team/app", &digest(&pushed.digest)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e}");
    assert!(e.message.contains("delete"), "{e}");
    assert!(bob.token_requests() - before <= 2, "no token loop: {} fetches", bob.token_requests() - before);
    assert_eq!(bob.probe_delete("team/app").await.unwrap(), DeleteCapability::NoPermission);
    // Nothing was deleted.
    assert!(alice.head_manifest("team/app", &tag("v1")).await.unwrap().is_some());
    assert_eq!(alice.probe_delete("team/app").await.unwrap(), DeleteCapability::Enabled);

    // Wrong password at the token service.
    let e = basic(&reg.url(), "alice", "wrong", TlsOptions::default()).catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e}");
    // No credentials at all: the anonymous token grants nothing.
    let e = anon(&reg.url()).catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e}");
    assert!(e.hint.contains("username and password"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_tls_and_basic_auth_in_front() {
    let reg = Registry::start().await;
    let nginx = Nginx::start(&reg, NginxOptions::with_user("ops", "s3cret")).await;
    let tls = TlsOptions { extra_ca_pem: vec![nginx.ca_pem().into_bytes()], ..Default::default() };
    let seeder = Seeder::new(&nginx.url()).with_basic("ops", "s3cret").with_ca(&nginx.ca_pem());
    seeder.push_image("web/site", "prod", &ImageSpec::small("nginx")).await;

    let c = basic(&nginx.url(), "ops", "s3cret", tls.clone());
    let ping = c.ping().await.unwrap();
    assert_eq!(ping.api_version.as_deref(), Some("registry/2.0"));
    assert_eq!(c.catalog().await.unwrap(), vec!["web/site"]);
    let e = basic(&nginx.url(), "ops", "nope", tls.clone()).catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized);
    assert!(e.hint.contains("bcrypt"), "{e}");
    // Without the CA: unknown CA, and the chain can be shown with fingerprints.
    let e = basic(&nginx.url(), "ops", "s3cret", TlsOptions::default()).ping().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TlsUnknownCa, "{e}");
    let chain = fetch_certificate_chain(c.base_url()).await.unwrap();
    assert!(!chain.is_empty());
    assert!(!chain[0].is_ca);
    assert!(chain[0].names.iter().any(|n| n == "127.0.0.1"), "{:?}", chain[0].names);
    assert_eq!(chain[0].sha256.len(), 64);
    // The conditional HEAD of a resync goes through the proxy both ways.
    let prod = c.head_manifest("web/site", &tag("prod")).await.unwrap().unwrap();
    assert_eq!(c.check_manifest("web/site", &tag("prod"), &prod.digest).await.unwrap(), Some(ManifestCheck::Unchanged));
    // Untag works through the proxy (uploads need Content-Length: nginx refuses chunked without the flag).
    c.untag("web/site", "prod").await.unwrap();
    assert!(c.tags("web/site").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn conditional_head_answers_unchanged_moved_and_gone() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let one = seeder.push_image("team/app", "v1", &ImageSpec::small("one")).await;
    let two = seeder.push_image("team/app", "v2", &ImageSpec::small("two")).await;
    let c = anon(&reg.url());
    let v1 = tag("v1");
    // Still at the cached digest: 304, nothing else sent.
    assert_eq!(c.check_manifest("team/app", &v1, &digest(&one.digest)).await.unwrap(), Some(ManifestCheck::Unchanged));
    // Cached at another digest: the full answer, with the digest the tag points at now.
    match c.check_manifest("team/app", &v1, &digest(&two.digest)).await.unwrap() {
        Some(ManifestCheck::Head(h)) => {
            assert_eq!(h.digest.as_str(), one.digest);
            assert!(media::is_manifest(&h.media_type), "{}", h.media_type);
            assert!(h.size > 0);
        }
        other => panic!("expected a full answer, got {other:?}"),
    }
    // The tag moves on the server: the old digest is no longer a match.
    seeder.push_image("team/app", "v1", &ImageSpec::small("moved")).await;
    match c.check_manifest("team/app", &v1, &digest(&one.digest)).await.unwrap() {
        Some(ManifestCheck::Head(h)) => assert_ne!(h.digest.as_str(), one.digest),
        other => panic!("a moved tag must not look unchanged: {other:?}"),
    }
    // Gone: None, as for a plain HEAD.
    c.untag("team/app", "v2").await.unwrap();
    assert_eq!(c.check_manifest("team/app", &tag("v2"), &digest(&two.digest)).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_client_certificate() {
    let reg = Registry::builder().tls(TlsMode::CaSignedWithClientCa).start().await;
    let ca = reg.ca_pem().unwrap().into_bytes();
    let without = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions { extra_ca_pem: vec![ca.clone()], ..Default::default() },
    )
    .unwrap();
    assert!(without.ping().await.is_err(), "the registry requires a client certificate");
    let (cert, key) = reg.client_identity().unwrap();
    let with = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions {
            extra_ca_pem: vec![ca],
            client_identity_pem: Some((cert.into_bytes(), key.clone().into_bytes())),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(with.ping().await.unwrap().status, 200);
    // A key that is not a key is refused at set-up, with a hint.
    let e = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions {
            client_identity_pem: Some((reg.ca_pem().unwrap().into_bytes(), b"garbage".to_vec())),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Tls);
}

#[tokio::test(flavor = "multi_thread")]
async fn self_signed_leaf_can_be_pinned_and_insecure_is_explicit() {
    let reg = Registry::builder().tls(TlsMode::SelfSignedLeaf).start().await;
    let chain = fetch_certificate_chain(&url::Url::parse(&reg.url()).unwrap()).await.unwrap();
    assert!(chain[0].is_ca && chain[0].self_signed, "the openssl req -x509 style certificate");
    let pinned = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions { pinned_sha256: vec![chain[0].sha256.to_uppercase()], ..Default::default() },
    )
    .unwrap();
    assert_eq!(pinned.ping().await.unwrap().status, 200);
    let wrong_pin = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions { pinned_sha256: vec!["00".repeat(32)], ..Default::default() },
    )
    .unwrap();
    assert!(wrong_pin.ping().await.is_err());
    let insecure = RegistryClient::new(
        &reg.url(),
        Credentials::Anonymous,
        &TlsOptions { insecure_skip_verify: true, ..Default::default() },
    )
    .unwrap();
    assert_eq!(insecure.ping().await.unwrap().status, 200);
    // Default: refused.
    assert_eq!(
        anon(&reg.url()).ping().await.unwrap_err().kind,
        ErrorKind::TlsCaUsedAsLeaf,
        "rustls checks the basic constraints first"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_disabled_and_read_only_are_told_apart() {
    let off = Registry::builder().delete_enabled(false).start().await;
    let p = Seeder::new(&off.url()).push_image("a/b", "t", &ImageSpec::small("off")).await;
    let c = anon(&off.url());
    assert_eq!(c.probe_delete("a/b").await.unwrap(), DeleteCapability::Disabled);
    let e = c.delete_manifest("a/b", &digest(&p.digest)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeleteDisabled);
    assert!(e.hint.contains("storage.delete.enabled"), "{e}");
    let e = c.untag("a/b", "t").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::DeleteDisabled);
    assert!(e.message.contains("nothing was changed"));
    assert_eq!(c.tags("a/b").await.unwrap(), vec!["t"], "no dummy left under the tag");
    assert_eq!(c.head_manifest("a/b", &tag("t")).await.unwrap().unwrap().digest.as_str(), p.digest);

    let mut ro = Registry::start().await;
    Seeder::new(&ro.url()).push_image("a/b", "t", &ImageSpec::small("ro")).await;
    ro.restart(true).await;
    let c = anon(&ro.url());
    assert_eq!(c.probe_delete("a/b").await.unwrap(), DeleteCapability::ReadOnly);
    let e = c.untag("a/b", "t").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ReadOnly, "{e}");
    assert_eq!(c.tags("a/b").await.unwrap(), vec!["t"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_arch_index_from_skopeo_and_untag_keeps_siblings() {
    let reg = Registry::start().await;
    let dir = tempfile::tempdir().unwrap();
    let platforms = vec![
        ImageSpec::platform("linux", "amd64", None, "multi"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "multi"),
        ImageSpec::platform("linux", "arm", Some("v7"), "multi"),
    ];
    write_oci_layout(dir.path(), &[("multi", LayoutEntry::Index(platforms))]);
    let out = skopeo_copy(
        dir.path(),
        "multi",
        &format!("{}/apps/api:1.0", reg.host()),
        &SkopeoOpts { all: true, ..Default::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let c = anon(&reg.url());
    let m = c.get_manifest("apps/api", &tag("1.0")).await.unwrap().unwrap();
    assert_eq!(m.media_type, media::OCI_INDEX);
    assert!(m.digest_verified);
    let Manifest::Index(index) = &m.manifest else { panic!("an index") };
    let plats: Vec<String> = index.manifests.iter().map(|d| d.platform.as_ref().unwrap().to_string()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]);
    // Children by digest: verified, with configs that say their platform.
    for child in &index.manifests {
        let cm = c.get_manifest("apps/api", &Reference::Digest(child.digest.clone())).await.unwrap().unwrap();
        assert_eq!(cm.digest, child.digest);
        let cfg = c.image_config("apps/api", &cm.manifest).await.unwrap().unwrap();
        assert_eq!(cfg.architecture.as_deref(), Some(child.platform.as_ref().unwrap().architecture.as_str()));
    }

    // The same digest under three tags; untag one: the others and the digest stay.
    c.put_manifest("apps/api", "1", &m.media_type, &m.bytes).await.unwrap();
    c.put_manifest("apps/api", "latest", &m.media_type, &m.bytes).await.unwrap();
    assert_eq!(c.tags("apps/api").await.unwrap(), ["1", "1.0", "latest"]);
    let method = c.untag("apps/api", "1.0").await.unwrap();
    assert_eq!(method, UntagMethod::DummyManifest, "registry 2.8 has no tag-delete API");
    assert_eq!(c.tags("apps/api").await.unwrap(), ["1", "latest"]);
    for t in ["1", "latest"] {
        assert_eq!(
            c.head_manifest("apps/api", &tag(t)).await.unwrap().unwrap().digest,
            m.digest,
            "{t} kept its digest"
        );
    }
    assert!(c.head_manifest("apps/api", &Reference::Digest(m.digest.clone())).await.unwrap().is_some());
    // 2.x answers the tag-delete API with 400 DIGEST_INVALID: reported as unsupported, not an error.
    assert!(!c.delete_tag_api("apps/api", "1").await.unwrap());
    assert_eq!(c.tags("apps/api").await.unwrap(), ["1", "latest"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_schema1_manifest_is_verified_by_its_payload() {
    // A real signed schema1 manifest: skopeo converts and signs it, registry 2.8 with schema1
    // compatibility checks the signature and serves it with the payload's digest.
    let reg = Registry::builder().schema1(true).start().await;
    let dir = tempfile::tempdir().unwrap();
    write_oci_layout(dir.path(), &[("old", LayoutEntry::Image(ImageSpec::small("schema1")))]);
    let out = skopeo_copy(
        dir.path(),
        "old",
        &format!("{}/legacy/old:v1", reg.host()),
        &SkopeoOpts { schema1: true, ..Default::default() },
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let c = anon(&reg.url());
    let m = c.get_manifest("legacy/old", &tag("v1")).await.unwrap().unwrap();
    assert!(media::is_schema1(&m.media_type), "{}", m.media_type);
    assert!(m.digest_verified, "checked against the canonical payload");
    let text = String::from_utf8_lossy(&m.bytes);
    assert!(text.contains("\"signatures\""), "the registry served it signed: {text}");
    // The digest is the payload's, not the bytes' (which include the signatures), and it is the
    // registry's own.
    assert_ne!(m.digest.as_str(), berth_testkit::sha256_digest(&m.bytes));
    let head = c.head_manifest("legacy/old", &tag("v1")).await.unwrap().unwrap();
    assert_eq!(head.digest, m.digest);
    // By digest: the same bytes, verified again.
    let by_digest = c.get_manifest("legacy/old", &Reference::Digest(m.digest.clone())).await.unwrap().unwrap();
    assert!(by_digest.digest_verified);
    assert_eq!(by_digest.digest, m.digest);
}

#[tokio::test(flavor = "multi_thread")]
async fn schema2_by_tag_keeps_its_true_digest_and_mount_works() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let mut spec = ImageSpec::small("docker");
    spec.docker = true;
    let pushed = seeder.push_image("legacy/app", "v2s2", &spec).await;
    let c = anon(&reg.url());
    let head = c.head_manifest("legacy/app", &tag("v2s2")).await.unwrap().unwrap();
    assert_eq!(head.media_type, media::DOCKER_MANIFEST, "not rewritten to schema1: the full Accept list was sent");
    assert_eq!(head.digest.as_str(), pushed.digest);
    let got = c.get_manifest("legacy/app", &tag("v2s2")).await.unwrap().unwrap();
    assert_eq!(got.digest.as_str(), pushed.digest);
    assert_eq!(got.manifest.image_size(), Some(pushed.blobs.iter().map(|b| b.1).sum::<u64>()));
    let cfg = c.image_config("legacy/app", &got.manifest).await.unwrap().unwrap();
    assert_eq!(cfg.labels()["org.berth.test.seed"], "docker");

    // Mount every blob into another repository, then PUT the exact bytes there: a copy with the same digest.
    for (blob, _) in &pushed.blobs {
        assert!(c.mount_blob("copy/app", &digest(blob), "legacy/app").await.unwrap(), "mounted {blob}");
    }
    let d = c.put_manifest("copy/app", "v1", &got.media_type, &got.bytes).await.unwrap();
    assert_eq!(d, got.digest);
    // A mount from a repository without the blob is refused cleanly (the session is cancelled).
    assert!(!c.mount_blob("copy/app", &Digest::sha256(b"nope"), "legacy/app").await.unwrap());
    // Unknown things are None, not errors.
    assert!(c.get_manifest("legacy/app", &tag("nope")).await.unwrap().is_none());
    assert!(c.head_blob("legacy/app", &Digest::sha256(b"nope")).await.unwrap().is_none());
    let e = c.tags("no/such").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn referrers_fall_back_to_the_tag_schema() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let subject = seeder.push_image("signed/app", "v1", &ImageSpec::small("subject")).await;
    let sig = seeder.push_referrer_tag("signed/app", &subject).await;
    let c = anon(&reg.url());
    let sd = digest(&subject.digest);
    // No referrers API on 2.8 and no fallback index yet: empty, via the tag schema.
    let r = c.referrers("signed/app", &sd).await.unwrap();
    assert_eq!(r.source, ReferrerSource::FallbackTag);
    assert!(r.descriptors.is_empty());
    // The cosign tag is found among the tags.
    let tags = c.tags("signed/app").await.unwrap();
    assert_eq!(berth_registry::cosign_tags(&tags, &sd), vec![format!("{}.sig", sd.referrers_tag())]);
    // Publish a fallback index listing the signature: it is read back.
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": [{"mediaType": sig.media_type, "digest": sig.digest, "size": sig.size, "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json"}],
    });
    c.put_manifest("signed/app", &sd.referrers_tag(), media::OCI_INDEX, &serde_json::to_vec(&index).unwrap())
        .await
        .unwrap();
    let r = c.referrers("signed/app", &sd).await.unwrap();
    assert_eq!(r.descriptors.len(), 1);
    assert_eq!(r.descriptors[0].digest.as_str(), sig.digest);
    assert_eq!(r.descriptors[0].artifact_type.as_deref(), Some("application/vnd.dev.cosign.artifact.sig.v1+json"));
}
