//! Nexus the way users deploy it (seed deployment 000: REST API on the main port, each docker
//! repository on its own connector), through berth-core against the Nexus emulator with real
//! registries behind it: the server profile added by its REST URL, its connection test, discovery
//! (hosted and proxy, removed repositories, endpoint overrides), the views (components, tasks,
//! cleanup policies), and each diagnosis of what the seed's steps get wrong, with its fix.

use std::path::Path;
use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, ConnectionReport, FixAction, ProfileField, Secret};
use berth_secrets::MemoryStore;
use berth_testkit::{ImageSpec, Nexus};

async fn berth(dir: &Path) -> Berth {
    Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap()
}

fn server(name: &str, url: &str, login: Option<(&str, &str)>) -> AddProfileRequest {
    AddProfileRequest {
        name: name.into(),
        url: url.into(),
        kind: Some("nexus".into()),
        username: login.map(|l| l.0.into()),
        password: login.map(|l| Secret::new(l.1)),
        ..AddProfileRequest::default()
    }
}

fn check<'a>(r: &'a ConnectionReport, name: &str) -> &'a berth_core::CheckView {
    r.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name:?} in {:#?}", r.checks))
}

async fn delete(
    b: &Berth,
    profile: &str,
    image: &str,
) -> Result<(berth_core::DeletePlan, berth_core::DeleteReport), berth_core::ApiError> {
    let sel = [berth_core::Selection::parse(image).expect("image reference")];
    let opts = berth_core::PlanOptions { mode: berth_core::DeleteMode::UntagOnly, referrers: true };
    let plan = b.plan_delete(profile, &sel, opts, &CancellationToken::new()).await?;
    let report = b.execute_delete(profile, &plan, &CancellationToken::new(), &|_| {}).await?;
    Ok((plan, report))
}

#[tokio::test]
async fn a_server_added_by_its_rest_url_tests_discovers_and_keeps_its_repositories_in_step() {
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .cleanup_policy("docker-30d", 30)
        .docker_hosted("docker-b", true)
        .docker_proxy("docker-hub", true)
        .docker_group("docker-all", false, &["docker-b"])
        .start()
        .await;
    for i in 0..12 {
        n.seeder("docker-a").push_image("team/app", &format!("1.{i}"), &ImageSpec::small(&format!("a{i}"))).await;
    }
    n.seeder("docker-b").push_image("tools/lint", "3.0", &ImageSpec::small("b")).await;
    n.seeder("docker-hub").push_image("library/nginx", "1.27", &ImageSpec::small("hub")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    // The REST URL as users give it, with the API path pasted in.
    b.add_profile(server("nx", &format!("{}/service/rest", n.url()), Some(("admin", "admin123")))).await.unwrap();

    // The connection test checks the REST API and, separately, each repository's /v2/.
    let r = b.test_profile("nx").await.unwrap();
    assert!(r.ok && r.error.is_none(), "{r:#?}");
    assert!(r.checks.iter().all(|c| c.ok), "{:#?}", r.checks);
    assert!(check(&r, "REST API").detail.contains("service/rest"));
    assert_eq!(check(&r, "Docker Bearer Token Realm").detail, "active");
    assert!(check(&r, "privileges").detail.contains("tasks and blob stores"));
    let a = check(&r, "repository docker-a");
    assert!(a.detail.contains("connector") && a.detail.contains("1 image(s)"), "{a:?}");
    assert!(check(&r, "repository docker-hub: deletes").detail.contains("proxy"), "{:#?}", r.checks);

    // Discovery: one profile per repository beneath the server, proxies read-only.
    let d = b.nexus_discover("nx").await.unwrap();
    let names: Vec<&str> = d.repositories.iter().map(|r| r.profile.as_str()).collect();
    assert_eq!(names, ["nx-docker-a", "nx-docker-b", "nx-docker-hub", "nx-docker-all"]);
    let group = &d.repositories[3];
    assert_eq!(
        (group.kind.as_str(), group.routing.as_str(), &group.members[..]),
        ("group", "path", &["docker-b".to_string()][..])
    );
    assert!(group.read_only.as_deref().is_some_and(|w| w.contains("group")), "{group:?}");
    let hub = &d.repositories[2];
    assert_eq!((hub.kind.as_str(), hub.routing.as_str()), ("proxy", "connector"));
    assert!(hub.read_only.as_deref().is_some_and(|w| w.contains("proxy")), "{hub:?}");
    let da = &d.repositories[0];
    assert_eq!(da.cleanup_policies, ["docker-30d"]);
    assert_eq!(da.write_policy.as_deref(), Some("ALLOW"));
    assert_eq!(format!("{}/", da.endpoint), format!("{}/", n.connector_url("docker-a").unwrap()));
    let views = b.profiles().await.unwrap();
    let child = views.iter().find(|p| p.name == "nx-docker-hub").unwrap();
    let link = child.link.as_ref().expect("a discovered profile has its link");
    assert_eq!((link.parent.as_deref(), link.repository.as_str()), (Some("nx"), "docker-hub"));
    assert!(link.read_only.is_some() && child.capabilities.browse && !child.capabilities.discovers_repositories);
    assert!(views.iter().find(|p| p.name == "nx").unwrap().link.is_none());

    // The proxy browses like any registry, and its deletes are refused in the plan with why.
    let s = b.sync("nx", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(s.tags, 15, "the group reads through its member: {s:?}");
    let (plan, _) = delete(&b, "nx-docker-all", "tools/lint:3.0").await.unwrap();
    assert!(plan.untag.is_empty() && plan.refused[0].reason.contains("group"), "{:?}", plan.refused);
    let (plan, report) = delete(&b, "nx-docker-hub", "library/nginx:1.27").await.unwrap();
    assert!(plan.untag.is_empty() && report.results.is_empty(), "{plan:?}");
    assert!(plan.refused[0].reason.contains("proxy"), "{:?}", plan.refused);
    assert!(n.registry_tags("docker-hub", "library/nginx").contains_key("1.27"), "the cache is untouched");

    // Components page by page (10 per page, as up to 3.74), each with its manifest digest.
    let first = b.nexus_components("nx-docker-a", None).await.unwrap();
    assert_eq!(first.items.len(), 10);
    let token = first.continuation_token.clone().expect("a full page has a token");
    let second = b.nexus_components("nx-docker-a", Some(&token)).await.unwrap();
    assert_eq!(second.items.len(), 2);
    let c = &second.items[1];
    assert_eq!((c.image.as_str(), c.tag.as_str()), ("team/app", "1.9"));
    assert_eq!(c.digest.as_deref(), n.registry_tags("docker-a", "team/app").get("1.9").map(String::as_str));
    assert!(c.assets[0].size.unwrap() > 0 && c.assets[0].path.ends_with("/manifests/1.9"));
    let e = b.nexus_components("nx", None).await.unwrap_err();
    assert!(e.message.contains("server profile"), "{e:?}");

    // Tasks and cleanup policies.
    let tasks = b.nexus_tasks("nx").await.unwrap();
    let kinds: Vec<&str> = tasks.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["repository.docker.gc", "blobstore.compact"]);
    assert!(tasks.iter().all(|t| t.last_run.is_none()), "never run yet");
    let policies = b.nexus_cleanup_policies("nx-docker-a").await.unwrap();
    assert!(policies.available);
    assert_eq!(policies.policies[0].name, "docker-30d");
    assert_eq!(
        (policies.policies[0].last_blob_updated_days, &policies.policies[0].repositories[..]),
        (Some(30), &["docker-a".to_string()][..])
    );

    // Untag through the components API, then undo it from the trash (pushed back through the connector).
    let (_, report) = delete(&b, "nx-docker-a", "team/app:1.3").await.unwrap();
    assert_eq!(report.untagged, 1, "{report:?}");
    assert!(!n.registry_tags("docker-a", "team/app").contains_key("1.3"));
    let trash = b.trash("nx-docker-a", false).await.unwrap();
    assert_eq!(trash.len(), 1, "{trash:?}");
    let restored = b.restore("nx-docker-a", trash[0].id).await.unwrap();
    assert_eq!(restored.tags_restored, ["1.3"], "{restored:?}");
    assert!(n.registry_tags("docker-a", "team/app").contains_key("1.3"));
    let audit = b.audit("nx-docker-a", 50).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "untag") && audit.iter().any(|a| a.action == "restore"), "{audit:?}");

    // An endpoint the user sets (a reverse proxy, here the path route) survives the next discovery.
    let path_route = format!("{}/repository/docker-b/", n.url());
    let edited = b
        .edit_profile(
            "nx-docker-b",
            berth_core::EditProfileRequest { url: Some(path_route.clone()), ..Default::default() },
        )
        .await
        .unwrap();
    assert!(edited.link.as_ref().unwrap().endpoint_override);
    let d = b.nexus_discover("nx").await.unwrap();
    assert_eq!(d.repositories[1].endpoint, path_route);
    assert_eq!(b.profile("nx-docker-b").await.unwrap().url, path_route);
    let tags = b.repositories("nx-docker-b").await.unwrap();
    assert_eq!(tags[0].name, "tools/lint");

    // A repository deleted from Nexus disappears with the next discovery; the others stay.
    n.remove_repository("docker-b");
    let d = b.nexus_discover("nx").await.unwrap();
    assert_eq!(d.removed, ["nx-docker-b"]);
    let left: Vec<String> = b.profiles().await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(left, ["nx", "nx-docker-a", "nx-docker-all", "nx-docker-hub"]);
}

#[tokio::test]
async fn each_deployment_mistake_is_diagnosed_with_its_fix() {
    // The seed's steps, each got wrong once: the realm left inactive with anonymous pulls allowed, a
    // connector port not published, redeploy left disabled.
    let n = Nexus::builder()
        .user("admin", "admin123")
        .anonymous(true)
        .docker_token_realm(false)
        .docker_hosted("pull", true)
        .anonymous_pull()
        .docker_hosted("hidden", true)
        .unpublished_connector()
        .docker_hosted("once", true)
        .write_policy("ALLOW_ONCE")
        .start()
        .await;
    n.seeder("pull").push_image("app", "1", &ImageSpec::small("p")).await;
    n.seeder("once").push_image("app", "1", &ImageSpec::small("o")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(server("nx", &n.url(), Some(("admin", "admin123")))).await.unwrap();
    b.nexus_discover("nx").await.unwrap();
    let r = b.test_profile("nx").await.unwrap();
    assert!(r.ok, "the REST API works: the server profile is usable: {r:#?}");

    let realm = check(&r, "Docker Bearer Token Realm");
    assert!(!realm.ok && realm.detail.contains("not active"), "{realm:?}");
    assert!(realm.hint.as_deref().unwrap().contains("Security → Realms"));
    assert_eq!(realm.fix.as_ref().unwrap().action, FixAction::Command);
    // Berth's own login still works (Nexus takes Basic credentials directly).
    assert!(check(&r, "repository pull").ok, "{:#?}", r.checks);
    // An anonymous profile depends on the realm's tokens: its test says why the pull fails.
    b.add_profile(server("anon", &n.url(), None)).await.unwrap();
    b.nexus_discover("anon").await.unwrap();
    let ra = b.test_profile("anon").await.unwrap();
    let pull = check(&ra, "repository pull");
    assert!(!pull.ok && pull.detail.contains("Docker Bearer Token Realm is not active"), "{pull:?}");
    assert_eq!(pull.fix.as_ref().unwrap().action, FixAction::Command);

    let hidden = check(&r, "repository hidden");
    assert!(!hidden.ok && hidden.detail.contains("not published"), "{hidden:?}");
    assert!(hidden.hint.as_deref().unwrap().contains("docker run -p"), "{hidden:?}");
    assert_eq!(
        hidden.fix.as_ref().unwrap().action,
        FixAction::EditProfile { profile: "nx-hidden".into(), field: ProfileField::Url },
        "the fix opens the endpoint of that repository's profile"
    );

    let once = check(&r, "repository once: redeploy");
    assert!(!once.ok && once.detail.contains("Disable redeploy"), "{once:?}");
    assert!(once.hint.as_deref().unwrap().contains("Allow redeploy"));
    // And the server really refuses a push of an existing tag there, while a new tag goes in.
    let c = berth_registry::RegistryClient::new(
        &n.connector_url("once").unwrap(),
        berth_registry::Credentials::Basic { username: "admin".into(), password: "admin123".into() },
        &Default::default(),
    )
    .unwrap();
    let m = c.get_manifest("app", &berth_registry::Reference::Tag("1".into())).await.unwrap().unwrap();
    let e = c.put_manifest("app", "1", &m.media_type, &m.bytes).await.unwrap_err();
    assert!(e.message.contains("does not allow updating"), "{e:?}");
    c.put_manifest("app", "2", &m.media_type, &m.bytes).await.unwrap();

    // Realm on again: the repository that uses tokens answers.
    n.set_docker_token_realm(true);
    let r = b.test_profile("nx").await.unwrap();
    assert!(check(&r, "Docker Bearer Token Realm").ok, "{:#?}", r.checks);
    let ra = b.test_profile("anon").await.unwrap();
    assert!(check(&ra, "repository pull").ok, "{:#?}", ra.checks);
}

#[tokio::test]
async fn an_anonymous_profile_and_a_limited_user_are_told_what_they_lack() {
    let n = Nexus::builder()
        .user_with("dev", "dev123", &["nx-repository-view-docker-*-browse", "nx-repository-view-docker-docker-a-read"])
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("team/app", "1", &ImageSpec::small("a")).await;
    n.seeder("docker-b").push_image("team/api", "1", &ImageSpec::small("b")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;

    // Anonymous profile, anonymous access off: the test fails, and its fix opens the credentials.
    b.add_profile(server("anon", &n.url(), None)).await.unwrap();
    let r = b.test_profile("anon").await.unwrap();
    assert!(!r.ok, "{r:#?}");
    let anon = check(&r, "anonymous access");
    assert!(anon.fatal && anon.detail.contains("anonymous access is off"), "{anon:?}");
    let fix = r.error.as_ref().unwrap().fix.as_ref().unwrap();
    assert_eq!(fix.action, FixAction::EditProfile { profile: "anon".into(), field: ProfileField::Password });
    n.set_anonymous(true);
    let r = b.test_profile("anon").await.unwrap();
    assert!(r.ok && check(&r, "login").detail.contains("anonymous"), "{r:#?}");

    // A user with view privileges only: it browses what it may, and each missing privilege is named.
    b.add_profile(server("dev", &n.url(), Some(("dev", "dev123")))).await.unwrap();
    let r = b.test_profile("dev").await.unwrap();
    assert!(r.ok, "{r:#?}");
    let p = check(&r, "privileges");
    assert!(!p.ok && p.detail.contains("nx-tasks-read") && p.detail.contains("nx-blobstores-read"), "{p:?}");
    let a = check(&r, "repository docker-a");
    assert!(a.ok && a.detail.contains("path"), "without the admin read privilege, the path route: {a:?}");
    let del = check(&r, "repository docker-a: deletes");
    assert!(!del.ok && del.detail.contains("nx-repository-view-docker-docker-a-delete"), "{del:?}");
    let denied = check(&r, "repository docker-b");
    assert!(!denied.ok && denied.detail.contains("nx-repository-view-docker-docker-b-read"), "{denied:?}");

    // Discovery works with what it may see; a delete is refused before anything is attempted.
    let d = b.nexus_discover("dev").await.unwrap();
    assert!(d.repositories.iter().all(|r| r.routing == "path" && !r.settings_visible), "{d:?}");
    let e = b.nexus_blob_stores("dev").await.unwrap_err();
    assert!(e.message.contains("nx-blobstores-read") && e.hint.contains("Security → Roles"), "{e:?}");
    b.sync("dev-docker-a", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let (plan, report) = delete(&b, "dev-docker-a", "team/app:1").await.unwrap();
    assert!(plan.untag.is_empty() && report.results.is_empty(), "{plan:?}");
    assert!(plan.refused[0].reason.contains("may not delete"), "{:?}", plan.refused);
    assert!(n.registry_tags("docker-a", "team/app").contains_key("1"));
}

#[tokio::test]
async fn old_servers_and_odd_answers_still_discover_sync_and_delete() {
    // 3.27 shapes (no repository settings call, six asset fields) and a key given twice per asset.
    let n = Nexus::builder()
        .user("admin", "admin123")
        .old_api()
        .duplicate_keys(true)
        .docker_hosted("docker-a", false)
        .start()
        .await;
    let img = n.seeder("docker-a").push_image("team/app", "1", &ImageSpec::small("a")).await;
    n.seeder("docker-a").push_image("team/app", "2", &ImageSpec::small("a2")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(server("old", &n.url(), Some(("admin", "admin123")))).await.unwrap();
    let d = b.nexus_discover("old").await.unwrap();
    let r = &d.repositories[0];
    assert_eq!((r.routing.as_str(), r.http_port, r.settings_visible), ("path", None, false), "{r:?}");
    let policies = b.nexus_cleanup_policies("old").await.unwrap();
    assert!(!policies.available && policies.policies.is_empty());
    let s = b.sync("old", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(s.tags, 2, "{s:?}");
    let page = b.nexus_components("old-docker-a", None).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].digest.as_deref(), Some(img.digest.as_str()));
    assert_eq!(page.items[0].assets[0].size, None, "3.27 assets carry no size");
    let (_, report) = delete(&b, "old-docker-a", "team/app:1").await.unwrap();
    assert_eq!(report.untagged, 1, "{report:?}");
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["2"]);
}

#[tokio::test]
async fn gc_anywhere_on_the_server_collects_and_marks_the_trash_of_every_repository() {
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("team/app", "old", &ImageSpec::small("a-old")).await;
    n.seeder("docker-a").push_image("team/app", "new", &ImageSpec::small("a-new")).await;
    n.seeder("docker-b").push_image("tools/lint", "old", &ImageSpec::small("b-old")).await;
    n.seeder("docker-b").push_image("tools/lint", "new", &ImageSpec::small("b-new")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(server("nx", &n.url(), Some(("admin", "admin123")))).await.unwrap();
    b.sync("nx", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    let delete_image = |profile: &'static str, image: &'static str| {
        let b = &b;
        async move {
            let sel = [berth_core::Selection::parse(image).unwrap()];
            let opts = berth_core::PlanOptions { mode: berth_core::DeleteMode::Image, referrers: true };
            let plan = b.plan_delete(profile, &sel, opts, &CancellationToken::new()).await.unwrap();
            let r = b.execute_delete(profile, &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
            assert_eq!(r.deleted, 1, "{r:?}");
            r.trash_ids[0]
        }
    };
    let a_entry = delete_image("nx-docker-a", "team/app:old").await;
    let b_entry = delete_image("nx-docker-b", "tools/lint:old").await;
    let state = |profile: &'static str, id: i64| {
        let b = &b;
        async move { b.trash(profile, true).await.unwrap().into_iter().find(|t| t.id == id).unwrap().state }
    };

    // GC from docker-a's profile runs the server-wide tasks: docker-b's deleted image goes too, and
    // its trash entry says so (no Restore offered for what is gone).
    let run = b.gc_run("nx-docker-a", &|_| {}, &CancellationToken::new()).await.unwrap();
    assert_eq!(run.verified, Some(true), "{:?}", run.problems);
    assert!(run.predicted_blobs >= 2, "both repositories' blobs predicted: {run:?}");
    assert_eq!(state("nx-docker-a", a_entry).await, "collected");
    assert_eq!(state("nx-docker-b", b_entry).await, "collected");
    assert!(b.gc_pending("nx-docker-b").await.unwrap().blobs.is_empty());

    // From the server profile: its repositories' kept tags are checked, and their trash too.
    let c_entry = delete_image("nx-docker-b", "tools/lint:new").await;
    let run = b.gc_run("nx", &|_| {}, &CancellationToken::new()).await.unwrap();
    assert_eq!(run.verified, Some(true), "{:?}", run.problems);
    assert!(run.predicted_blobs >= 1, "{run:?}");
    assert_eq!(state("nx-docker-b", c_entry).await, "collected");
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["new"], "kept");
}

/// A tag pushed over between the plan and its execution is not removed through the components
/// API: the asset's sha256 is checked against the planned digest, and the report says why.
#[tokio::test]
async fn a_tag_moved_after_the_plan_is_skipped_with_why() {
    let n = Nexus::builder().user("admin", "admin123").docker_hosted("docker-a", true).start().await;
    n.seeder("docker-a").push_image("team/app", "1", &ImageSpec::small("before")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(server("nx", &n.url(), Some(("admin", "admin123")))).await.unwrap();
    b.sync("nx", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    // Each repository's profile is searchable; the server says where its tags are.
    let found = b.search("nx-docker-a", "app", berth_core::SortBy::Name, 50).await.unwrap();
    assert_eq!(found.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["1"], "{found:?}");
    let e = b.search("nx", "app", berth_core::SortBy::Name, 50).await.unwrap_err();
    assert!(e.message.contains("nx-docker-a"), "{e:?}");
    let sel = [berth_core::Selection::parse("team/app:1").unwrap()];
    let opts = berth_core::PlanOptions { mode: berth_core::DeleteMode::UntagOnly, referrers: true };
    let plan = b.plan_delete("nx-docker-a", &sel, opts, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.untag.len(), 1, "{plan:?}");
    let after = n.seeder("docker-a").push_image("team/app", "1", &ImageSpec::small("after")).await;
    let report = b.execute_delete("nx-docker-a", &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((report.untagged, report.skipped), (0, 1), "{report:?}");
    let msg = report.results[0].message.clone().unwrap_or_default();
    assert!(msg.contains("moved") && msg.contains(&after.digest), "{msg}");
    assert_eq!(n.registry_tags("docker-a", "team/app").get("1"), Some(&after.digest), "the new image keeps its tag");
    assert!(b.trash("nx-docker-a", true).await.unwrap().is_empty(), "nothing went to the trash");
}

/// Nexus 3.6x writes `blobCreated` twice in one asset: the component pages still parse, with
/// every asset's size and date (checked on the raw answer that the key is really there twice).
#[tokio::test]
async fn component_pages_with_a_key_written_twice_parse() {
    let n =
        Nexus::builder().user("admin", "admin123").duplicate_keys(true).docker_hosted("docker-a", true).start().await;
    let img = n.seeder("docker-a").push_image("team/app", "1", &ImageSpec::small("dup")).await;
    let raw = reqwest::Client::new()
        .get(format!("{}/service/rest/v1/components?repository=docker-a", n.url()))
        .basic_auth("admin", Some("admin123"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(raw.matches("\"blobCreated\"").count(), 2, "one asset, its key written twice: {raw}");
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(server("dup", &n.url(), Some(("admin", "admin123")))).await.unwrap();
    let s = b.sync("dup", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(s.tags, 1, "{s:?}");
    let page = b.nexus_components("dup-docker-a", None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].digest.as_deref(), Some(img.digest.as_str()));
    assert!(page.items[0].assets.iter().all(|a| a.size.is_some()), "{:?}", page.items[0].assets);
}
