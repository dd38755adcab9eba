//! Safe deletes against real registries (distribution 2.8.2), checked with skopeo: untag, image delete
//! with siblings, multi-arch children, retention, trash and restore, refusals, and races with pushes.

use berth_backend::Registry2;
use berth_registry::{Credentials, Digest, Reference, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store};
use berth_sync::{sync_profile, SyncOptions};
use berth_testkit::{skopeo_pull, ImageSpec, Pushed, Registry, Seeder};
use berth_workflows::{
    execute_plan, plan_delete, plan_retention, restore, trash, DeleteMode, PlanOptions, RetentionPolicy, Selection,
    Target, WorkflowError,
};
use tokio_util::sync::CancellationToken;

struct Env {
    reg: Registry,
    _dir: tempfile::TempDir,
    store: Store,
    pid: i64,
    client: RegistryClient,
    backend: Registry2,
    seeder: Seeder,
}

impl Env {
    async fn new(reg: Registry) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let pid = store
            .add_profile(&NewProfile {
                name: "lab".into(),
                url: format!("{}/", reg.url()),
                kind: ProfileKind::Registry,
                username: None,
            })
            .await
            .unwrap()
            .id;
        let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
        let seeder = Seeder::new(&reg.url());
        let backend = Registry2::new(client.clone(), None, "lab");
        Env { reg, _dir: dir, store, pid, client, backend, seeder }
    }

    fn t(&self) -> Target<'_> {
        Target { store: &self.store, profile_id: self.pid, profile: "lab", backend: &self.backend }
    }

    async fn sync(&self) {
        let s = sync_profile(
            &self.store,
            self.pid,
            &self.backend,
            &SyncOptions::default(),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(s.status, "ok");
    }

    async fn tags(&self, repo: &str) -> Vec<String> {
        let mut t = self.client.tags(repo).await.unwrap();
        t.sort();
        t
    }

    async fn exists(&self, repo: &str, digest: &str) -> bool {
        let d = Digest::parse(digest).unwrap();
        self.client.head_manifest(repo, &Reference::Digest(d)).await.unwrap().is_some()
    }

    fn pull(&self, reference: &str, all: bool) -> Result<Vec<u8>, String> {
        skopeo_pull(&format!("{}/{reference}", self.reg.host()), all)
    }

    async fn plan(&self, refs: &[&str], mode: DeleteMode) -> berth_workflows::DeletePlan {
        let sel: Vec<Selection> = refs.iter().map(|r| Selection::parse(r).unwrap()).collect();
        plan_delete(self.t(), &sel, PlanOptions { mode, referrers: true }, &CancellationToken::new()).await.unwrap()
    }

    async fn execute(&self, plan: &berth_workflows::DeletePlan) -> berth_workflows::DeleteReport {
        execute_plan(self.t(), plan, &CancellationToken::new(), &|_| {}).await.unwrap()
    }
}

fn image(seed: &str, created: &str) -> ImageSpec {
    let mut s = ImageSpec::small(seed);
    s.created = created.into();
    s
}

fn sizes(p: &Pushed) -> u64 {
    p.all_blobs().values().sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn untag_latest_leaves_v1_unchanged_then_restore_retags() {
    let env = Env::new(Registry::start().await).await;
    let a = env.seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    env.seeder.tag("app", &a.digest, "latest").await;
    env.seeder.push_image("app", "other", &ImageSpec::small("b")).await;
    env.sync().await;

    let plan = env.plan(&["app:latest"], DeleteMode::Auto).await;
    assert_eq!(plan.untag.len(), 1, "{plan:?}");
    assert_eq!((plan.untag[0].tag.as_str(), plan.untag[0].digest.as_str()), ("latest", a.digest.as_str()));
    assert!(plan.delete.is_empty() && plan.siblings.is_empty() && plan.refused.is_empty(), "{plan:?}");
    assert_eq!(plan.reclaimable_bytes, 0, "an untag frees nothing");

    let report = env.execute(&plan).await;
    assert_eq!((report.untagged, report.deleted, report.skipped, report.failed), (1, 0, 0, 0), "{report:?}");
    assert_eq!(env.tags("app").await, ["other", "v1"]);
    assert_eq!(env.pull("app:v1", false).unwrap(), a.bytes, "v1 is byte-identical and pullable");
    assert!(env.pull("app:latest", false).is_err(), "latest is gone");

    let audit = berth_workflows::audit_log(&env.store, "lab", 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "untag" && a.target == "latest" && a.result == "ok"), "{audit:?}");
    let entries = trash(&env.store, env.pid, false).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].kind.as_str(), entries[0].tags.clone()), ("untag", vec!["latest".to_string()]));

    let r = restore(env.t(), entries[0].id).await.unwrap();
    assert_eq!(r.tags_restored, ["latest"]);
    assert_eq!(env.pull("app:latest", false).unwrap(), a.bytes);
    assert!(trash(&env.store, env.pid, false).await.unwrap().is_empty(), "restored entries leave the trash");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_delete_of_shared_digest_removes_every_sibling_and_restore_is_byte_identical() {
    let env = Env::new(Registry::start().await).await;
    let a = env.seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    env.seeder.tag("app", &a.digest, "latest").await;
    env.seeder.tag("app", &a.digest, "stable").await;
    let b = env.seeder.push_image("app", "keep", &ImageSpec::small("b")).await;
    env.sync().await;

    // Auto: v1 has siblings, so selecting it alone is an untag.
    let auto = env.plan(&["app:v1"], DeleteMode::Auto).await;
    assert_eq!(auto.untag.len(), 1);
    assert!(auto.delete.is_empty());

    let plan = env.plan(&["app:v1"], DeleteMode::Image).await;
    assert_eq!(plan.delete.len(), 1, "{plan:?}");
    assert_eq!(plan.delete[0].digest, a.digest);
    assert_eq!(plan.delete[0].tags, ["latest", "stable", "v1"]);
    let mut siblings: Vec<&str> = plan.siblings.iter().map(|s| s.tag.as_str()).collect();
    siblings.sort();
    assert_eq!(siblings, ["latest", "stable"]);
    assert_eq!(plan.reclaimable_bytes, sizes(&a), "manifest, config and layer of a, nothing of b");

    let report = env.execute(&plan).await;
    assert_eq!((report.deleted, report.failed, report.skipped), (1, 0, 0), "{report:?}");
    assert_eq!(env.tags("app").await, ["keep"]);
    for t in ["v1", "latest", "stable"] {
        assert!(env.pull(&format!("app:{t}"), false).is_err(), "{t} must be gone");
    }
    assert_eq!(env.pull("app:keep", false).unwrap(), b.bytes);

    let entries = trash(&env.store, env.pid, false).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].tags, ["latest", "stable", "v1"]);
    assert_eq!(entries[0].reclaimable_bytes, sizes(&a));
    let r = restore(env.t(), entries[0].id).await.unwrap();
    assert_eq!(r.manifests_restored, 1);
    assert_eq!(r.tags_restored, ["latest", "stable", "v1"]);
    for t in ["v1", "latest", "stable"] {
        assert_eq!(env.pull(&format!("app:{t}"), false).unwrap(), a.bytes, "{t} restored byte for byte");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn index_delete_takes_unreferenced_children_and_keeps_shared_ones() {
    let env = Env::new(Registry::start().await).await;
    let amd = ImageSpec::platform("linux", "amd64", None, "m");
    let arm = ImageSpec::platform("linux", "arm64", Some("v8"), "m");
    let s390 = ImageSpec::platform("linux", "s390x", None, "m");
    let one = env.seeder.push_index("multi", "one", &[amd.clone(), arm]).await;
    let two = env.seeder.push_index("multi", "two", &[amd, s390]).await;
    let shared = &one.children[0];
    assert_eq!(shared.digest, two.children[0].digest, "same amd64 child in both indexes");
    let only_one = &one.children[1];
    env.sync().await;

    let plan = env.plan(&["multi:one"], DeleteMode::Auto).await;
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.delete[0].digest, one.digest);
    assert_eq!(plan.children.iter().map(|c| c.digest.as_str()).collect::<Vec<_>>(), [only_one.digest.as_str()]);
    assert_eq!(plan.children[0].platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(plan.kept_children.len(), 1);
    assert_eq!(plan.kept_children[0].digest, shared.digest);
    // The arm64 child's blobs that the other index does not reach (platform images may share a layer).
    let live = two.all_blobs();
    let expected: u64 =
        one.size + only_one.all_blobs().iter().filter(|(d, _)| !live.contains_key(*d)).map(|(_, s)| s).sum::<u64>();
    assert_eq!(plan.reclaimable_bytes, expected, "the index and the arm64 child; the amd64 child lives on in two");

    let report = env.execute(&plan).await;
    assert_eq!((report.deleted, report.failed, report.skipped), (2, 0, 0), "{report:?}");
    assert!(!env.exists("multi", &one.digest).await);
    assert!(!env.exists("multi", &only_one.digest).await, "the arm64 child went with its index");
    assert!(env.exists("multi", &shared.digest).await, "the shared amd64 child stays");
    assert_eq!(env.pull("multi:two", true).unwrap(), two.bytes, "the other index pulls with every platform");

    // Restore puts the child back before the index.
    let entries = trash(&env.store, env.pid, false).await.unwrap();
    let r = restore(env.t(), entries[0].id).await.unwrap();
    assert_eq!(r.manifests_restored, 2);
    assert_eq!(env.pull("multi:one", true).unwrap(), one.bytes);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_keeps_exactly_the_right_tags() {
    let env = Env::new(Registry::start().await).await;
    let mut pushed = Vec::new();
    for i in 1..=6 {
        pushed.push(
            env.seeder
                .push_image("svc", &format!("t{i}"), &image(&format!("svc{i}"), &format!("2024-01-0{i}T00:00:00Z")))
                .await,
        );
    }
    env.seeder.tag("svc", &pushed[0].digest, "stable").await; // protected, shares t1's image
    env.seeder.push_image("other", "t1", &image("o1", "2020-01-01T00:00:00Z")).await;
    env.sync().await;

    let policy = RetentionPolicy {
        keep_last: Some(2),
        protect: vec!["^stable$".into()],
        repositories: Some("svc".into()),
        ..Default::default()
    };
    let r = plan_retention(env.t(), &policy, &CancellationToken::new()).await.unwrap();
    let untag: Vec<&str> = r.plan.untag.iter().map(|u| u.tag.as_str()).collect();
    assert_eq!(untag, ["t1"], "t1 shares its image with the protected tag: untag only");
    let mut deleted: Vec<&str> = r.plan.delete.iter().flat_map(|d| d.tags.iter().map(String::as_str)).collect();
    deleted.sort();
    assert_eq!(deleted, ["t2", "t3", "t4"]);
    assert!(r.kept.iter().any(|k| k.tag == "stable" && k.reason == "protected"));
    // keep-last 2 keeps t6 and t5.
    let newest: Vec<&str> = r.kept.iter().filter(|k| k.reason.starts_with("newest")).map(|k| k.tag.as_str()).collect();
    assert_eq!(newest, ["t6", "t5"]);

    let report = env.execute(&r.plan).await;
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(env.tags("svc").await, ["stable", "t5", "t6"]);
    assert_eq!(env.tags("other").await, ["t1"], "outside the repository glob");
    assert_eq!(env.pull("svc:stable", false).unwrap(), pushed[0].bytes);

    // An age rule on top: nothing is newer than 30 days here, so keep-last alone decides.
    let aged = RetentionPolicy { keep_last: Some(1), older_than_days: Some(30), ..Default::default() };
    let r = plan_retention(env.t(), &aged, &CancellationToken::new()).await.unwrap();
    assert!(r.kept.iter().any(|k| k.repository == "other" && k.tag == "t1"), "newest 1 in other");
    let err = plan_retention(env.t(), &RetentionPolicy::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(err, WorkflowError::Invalid { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_can_include_untagged_manifests() {
    let env = Env::new(Registry::builder().delete_enabled(true).start().await).await;
    let old = env.seeder.push_image("svc", "v1", &image("old", "2024-01-01T00:00:00Z")).await;
    let other_old = env.seeder.push_image("other", "v1", &image("o-old", "2024-01-01T00:00:00Z")).await;
    env.sync().await;
    env.seeder.push_image("svc", "v1", &image("new", "2024-02-01T00:00:00Z")).await;
    env.seeder.push_image("other", "v1", &image("o-new", "2024-02-01T00:00:00Z")).await;
    env.sync().await;

    // Untagged just now: an age rule of 30 days keeps them; no tag is touched either way.
    let aged = RetentionPolicy { untagged: true, older_than_days: Some(30), keep_last: Some(5), ..Default::default() };
    let r = plan_retention(env.t(), &aged, &CancellationToken::new()).await.unwrap();
    assert!(r.plan.delete.is_empty() && r.plan.untag.is_empty(), "{:?}", r.plan);

    // Untagged manifests only, in svc: the old svc image goes by digest; other's stays.
    let policy = RetentionPolicy { untagged: true, repositories: Some("svc".into()), ..Default::default() };
    let r = plan_retention(env.t(), &policy, &CancellationToken::new()).await.unwrap();
    let deleted: Vec<(&str, &str, usize)> =
        r.plan.delete.iter().map(|d| (d.repository.as_str(), d.digest.as_str(), d.tags.len())).collect();
    assert_eq!(deleted, [("svc", old.digest.as_str(), 0)]);
    assert!(r.plan.untag.is_empty() && r.kept.is_empty(), "no tag touched: {:?}", r.kept);
    let report = env.execute(&r.plan).await;
    assert_eq!((report.deleted, report.failed), (1, 0), "{report:?}");
    assert!(env.pull(&format!("svc@{}", old.digest), false).is_err(), "gone from the registry");
    assert!(env.pull(&format!("other@{}", other_old.digest), false).is_ok(), "outside the glob");
    assert_eq!(env.tags("svc").await, ["v1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled_and_read_only_registries_refuse_with_nothing_changed() {
    let env = Env::new(Registry::builder().delete_enabled(false).start().await).await;
    let a = env.seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    env.seeder.tag("app", &a.digest, "latest").await;
    env.sync().await;
    for mode in [DeleteMode::Auto, DeleteMode::UntagOnly, DeleteMode::Image] {
        let plan = env.plan(&["app:latest"], mode).await;
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.refused.len(), 1);
        assert!(plan.refused[0].reason.contains("disabled"), "{:?}", plan.refused);
        assert!(plan.refused[0].hint.contains("storage.delete.enabled"), "{:?}", plan.refused);
    }
    assert_eq!(env.tags("app").await, ["latest", "v1"]);

    // A plan made while deletes worked, executed after the registry went read-only: skipped, unchanged.
    let mut env = Env::new(Registry::start().await).await;
    let a = env.seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    env.seeder.tag("app", &a.digest, "latest").await;
    env.seeder.push_image("app", "solo", &ImageSpec::small("s")).await;
    env.sync().await;
    let plan = env.plan(&["app:latest", "app:solo"], DeleteMode::Auto).await;
    assert_eq!((plan.untag.len(), plan.delete.len()), (1, 1));
    env.reg.restart(true).await;
    let report = env.execute(&plan).await;
    assert_eq!((report.untagged, report.deleted, report.skipped), (0, 0, 2), "{report:?}");
    assert!(report.results.iter().all(|r| r.message.as_deref().unwrap_or("").contains("read-only")), "{report:?}");
    assert_eq!(env.tags("app").await, ["latest", "solo", "v1"]);
    let again = env.plan(&["app:latest"], DeleteMode::Auto).await;
    assert!(again.is_empty() && again.refused[0].reason.contains("read-only"), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_between_plan_and_execution_is_not_deleted() {
    let env = Env::new(Registry::start().await).await;
    env.seeder.push_image("app", "x", &ImageSpec::small("old-x")).await;
    let y = env.seeder.push_image("app", "y", &ImageSpec::small("old-y")).await;
    env.sync().await;
    let plan = env.plan(&["app:x", "app:y"], DeleteMode::Auto).await;
    assert_eq!(plan.delete.len(), 2);

    // Someone pushes a new image to x, and tags y's image as z, after the plan.
    let new_x = env.seeder.push_image("app", "x", &ImageSpec::small("new-x")).await;
    env.seeder.tag("app", &y.digest, "z").await;
    let report = env.execute(&plan).await;
    assert_eq!((report.deleted, report.skipped), (0, 2), "{report:?}");
    let msgs: Vec<String> = report.results.iter().filter_map(|r| r.message.clone()).collect();
    assert!(msgs.iter().any(|m| m.contains("moved since the plan")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("z now point")), "{msgs:?}");
    assert_eq!(env.pull("app:x", false).unwrap(), new_x.bytes, "the new push is intact");
    assert_eq!(env.pull("app:z", false).unwrap(), y.bytes);
    assert_eq!(env.tags("app").await, ["x", "y", "z"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn signatures_go_with_their_image_and_restore_is_refused_after_gc() {
    let mut env = Env::new(Registry::start().await).await;
    let a = env.seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    let sig = env.seeder.push_referrer_tag("app", &a).await;
    let b = env.seeder.push_image("app", "v2", &ImageSpec::small("b")).await;
    env.sync().await;
    let plan = env.plan(&["app:v1"], DeleteMode::Auto).await;
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.referrers.len(), 1, "{plan:?}");
    assert_eq!(plan.referrers[0].digest, sig.digest);
    assert_eq!(plan.referrers[0].kind, "sig");
    let report = env.execute(&plan).await;
    assert_eq!((report.deleted, report.failed), (2, 0), "{report:?}");
    assert_eq!(env.tags("app").await, ["v2"]);

    // GC frees the blobs; the trash can no longer bring the image back, and says why.
    env.reg.restart(true).await;
    let gc = env.reg.garbage_collect(false, false);
    assert!(gc.success, "{gc:?}");
    env.reg.restart(false).await;
    let entry = trash(&env.store, env.pid, false).await.unwrap().into_iter().find(|e| e.digest == a.digest).unwrap();
    let err = restore(env.t(), entry.id).await.unwrap_err();
    assert!(matches!(err, WorkflowError::NotRestorable { .. }), "{err:?}");
    assert!(err.hint().contains("garbage collection"), "{}", err.hint());
    assert_eq!(
        trash(&env.store, env.pid, true).await.unwrap().iter().find(|e| e.id == entry.id).unwrap().state,
        "collected"
    );
    assert_eq!(env.pull("app:v2", false).unwrap(), b.bytes);
}
