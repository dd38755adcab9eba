//! Untagged manifests and whole-repository deletes against a real registry (distribution 2.8.2): a tag
//! pushed over leaves its old manifest untagged; Berth lists it (with its size and creation date),
//! checks it by digest, deletes it through the plan, trash and audit path, restores it; a repository
//! delete plans every tag and untagged manifest. Also what removing a profile deletes, and the Docker
//! config preview that writes nothing.

use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, PlanOptions, Selection};
use berth_registry::{Credentials, Digest, Reference, RegistryClient, TlsOptions};
use berth_secrets::MemoryStore;
use berth_testkit::{ImageSpec, Registry, Seeder};

async fn present(client: &RegistryClient, repo: &str, digest: &str) -> bool {
    let d = Digest::parse(digest).unwrap();
    client.head_manifest(repo, &Reference::Digest(d)).await.unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn untagged_manifests_are_listed_checked_deleted_restored_and_repositories_delete_whole() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let old = seeder.push_image("team/app", "v1", &ImageSpec::small("old")).await;
    let old_index = seeder
        .push_index(
            "team/app",
            "multi",
            &[ImageSpec::platform("linux", "amd64", None, "ia"), ImageSpec::platform("linux", "arm64", None, "ib")],
        )
        .await;
    seeder.push_image("team/other", "keep", &ImageSpec::small("other")).await;

    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::open_with_secrets(dir.path(), Arc::new(MemoryStore::new())).await.unwrap();
    berth.add_profile(AddProfileRequest { name: "lab".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(berth.untagged("lab", None, false).await.unwrap().manifests.is_empty(), "nothing untagged yet");

    // Push over both tags: their old manifests stay in the registry, untagged.
    let new = seeder.push_image("team/app", "v1", &ImageSpec::small("new")).await;
    seeder.push_image("team/app", "multi", &ImageSpec::small("single now")).await;
    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(present(&client, "team/app", &old.digest).await, "registry:2 keeps the old manifest");

    let v = berth.untagged("lab", Some("team/app"), true).await.unwrap();
    let digests: Vec<&str> = v.manifests.iter().map(|m| m.digest.as_str()).collect();
    assert_eq!(digests.len(), 2, "the old image and the old index: {v:?}");
    assert!(digests.contains(&old.digest.as_str()) && digests.contains(&old_index.digest.as_str()));
    assert!(v.checked && v.gone == 0 && v.unchecked.is_empty());
    let m = v.manifests.iter().find(|m| m.digest == old.digest).unwrap();
    assert!(m.size > 0 && m.created.is_some() && m.untagged_since.is_some(), "{m:?}");
    assert!(!digests.contains(&new.digest.as_str()), "the tagged image is not untagged");
    assert_eq!(v.total_size, v.manifests.iter().map(|m| m.size).sum::<u64>());
    // Registry-wide: the same two (team/other has none).
    assert_eq!(berth.untagged("lab", None, false).await.unwrap().manifests.len(), 2);

    // Delete the old image by digest: a plan with no tag, then the registry no longer has it.
    let sel = [Selection { repository: "team/app".into(), reference: old.digest.clone() }];
    let plan = berth.plan_delete("lab", &sel, PlanOptions::default(), &CancellationToken::new()).await.unwrap();
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    assert_eq!(plan.delete.len(), 1);
    assert_eq!((plan.delete[0].digest.as_str(), plan.delete[0].tags.len()), (old.digest.as_str(), 0));
    assert!(plan.untag.is_empty() && plan.siblings.is_empty());
    assert!(plan.reclaimable_bytes > 0, "its own layer frees bytes");
    let report = berth.execute_delete("lab", &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((report.deleted, report.failed), (1, 0), "{report:?}");
    assert!(!present(&client, "team/app", &old.digest).await, "gone from the registry");
    let v = berth.untagged("lab", Some("team/app"), false).await.unwrap();
    assert_eq!(v.manifests.len(), 1, "only the old index is left: {v:?}");
    let audit = berth.audit("lab", 50).await.unwrap();
    assert!(audit.iter().any(|a| a.digest.as_deref() == Some(old.digest.as_str()) && a.result == "ok"));

    // The trash puts it back, untagged again.
    let restored = berth.restore("lab", report.trash_ids[0]).await.unwrap();
    assert_eq!(restored.manifests_restored, 1);
    assert!(present(&client, "team/app", &old.digest).await);
    assert_eq!(berth.untagged("lab", Some("team/app"), true).await.unwrap().manifests.len(), 2);

    // Deleted outside Berth: the check forgets it.
    client.delete_manifest("team/app", &Digest::parse(&old.digest).unwrap()).await.unwrap();
    let v = berth.untagged("lab", Some("team/app"), true).await.unwrap();
    assert_eq!((v.manifests.len(), v.gone), (1, 1));

    // The whole repository: its tags with their images, the untagged index with its platforms.
    let plan = berth.plan_delete_repository("lab", "team/app", &CancellationToken::new()).await.unwrap();
    let planned: Vec<&str> = plan.delete.iter().map(|d| d.digest.as_str()).collect();
    assert!(planned.contains(&new.digest.as_str()) && planned.contains(&old_index.digest.as_str()), "{plan:?}");
    assert_eq!(plan.delete.len(), 3, "v1, multi and the old index: {planned:?}");
    assert_eq!(plan.children.len(), 2, "the old index's two platforms");
    assert!(plan.notes.iter().any(|n| n.contains("empty-repository step")), "{:?}", plan.notes);
    assert!(plan.delete.iter().all(|d| d.repository == "team/app"), "nothing outside the repository");
    let report = berth.execute_delete("lab", &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    for d in [&new.digest, &old_index.digest, &old_index.children[0].digest] {
        assert!(!present(&client, "team/app", d).await, "{d} deleted");
    }
    let tags = client.tags("team/app").await.unwrap_or_default();
    assert!(tags.is_empty(), "no tag left: {tags:?}");
    assert!(berth.untagged("lab", None, true).await.unwrap().manifests.is_empty());
    assert_eq!(berth.tags("lab", "team/other", berth_core::SortBy::Name, None).await.unwrap().len(), 1, "untouched");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_profile_says_what_goes_and_a_docker_preview_writes_nothing() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    seeder.push_image("a", "1", &ImageSpec::small("a")).await;
    seeder.push_image("b", "1", &ImageSpec::small("b")).await;
    seeder.push_image("b", "2", &ImageSpec::small("b2")).await;
    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::open_with_secrets(dir.path(), Arc::new(MemoryStore::new())).await.unwrap();
    berth
        .add_profile(AddProfileRequest {
            name: "lab".into(),
            url: reg.url(),
            username: Some("alice".into()),
            password: Some(berth_secrets::Secret::new("pw".to_string())),
            ..Default::default()
        })
        .await
        .unwrap();
    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let r = berth.profile_removal("lab").await.unwrap();
    assert_eq!((r.repositories, r.tags, r.trash_entries), (2, 3, 0));
    assert_eq!(r.keyring_entries, ["password"]);
    assert!(r.history_rows >= 1, "the sync run");
    berth.delete_profile("lab").await.unwrap();
    assert!(berth.profile_removal("lab").await.is_err(), "gone");

    // config.json with one registry: the preview lists it, creates nothing.
    let cfg = dir.path().join("config.json");
    let host = reg.url().trim_start_matches("http://").trim_end_matches('/').to_string();
    std::fs::write(&cfg, format!(r#"{{"auths":{{"http://{host}":{{"auth":"Ym9iOnNlY3JldA=="}}}}}}"#)).unwrap();
    let p = berth.preview_docker_config(Some(&cfg)).await.unwrap();
    assert_eq!(p.planned.len(), 1, "{p:?}");
    assert_eq!(p.planned[0].username.as_deref(), Some("bob"));
    assert_eq!(p.planned[0].credentials.as_deref(), Some("config.json"));
    assert!(p.created.is_empty());
    assert!(berth.profiles().await.unwrap().is_empty(), "a preview writes nothing");
    let done = berth.import_docker_config(Some(&cfg)).await.unwrap();
    assert_eq!(done.created.len(), 1);
    assert_eq!(done.created[0].name, p.planned[0].name, "the preview named it as the import does");
    assert!(done.created[0].has_password);
}
