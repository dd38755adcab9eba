//! Harbor beyond the happy path, through berth-core against the Harbor emulator (a real registry
//! behind, every API answer validated against Harbor's swagger): accounts with limited rights,
//! login types, the artifacts view (types, labels, scans, accessories), tag immutability in plans,
//! accessories deleted with their subject and restored, names that look like IDs, older versions.

use std::path::Path;
use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, DeleteMode, PlanOptions, Secret, Selection};
use berth_secrets::MemoryStore;
use berth_testkit::{ArtifactSpec, Harbor, HarborRole, ImageSpec};

async fn berth(dir: &Path) -> Berth {
    Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap()
}

fn profile(name: &str, url: &str, user: &str, password: &str) -> AddProfileRequest {
    AddProfileRequest {
        name: name.into(),
        url: url.into(),
        kind: Some("harbor".into()),
        username: Some(user.into()),
        password: Some(Secret::new(password)),
        ..AddProfileRequest::default()
    }
}

async fn plan(b: &Berth, profile: &str, refs: &[&str], mode: DeleteMode) -> berth_core::DeletePlan {
    let sel: Vec<Selection> = refs.iter().map(|r| Selection::parse(r).expect("reference")).collect();
    b.plan_delete(profile, &sel, PlanOptions { mode, referrers: true }, &CancellationToken::new()).await.unwrap()
}

#[tokio::test]
async fn limited_accounts_see_every_project_they_may_with_what_they_may_not_named() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("lg", "lgpass")
        .project("library", true)
        .project("team", false)
        .project("ops", false)
        .project("secret", false)
        .member("team", "lg", HarborRole::LimitedGuest)
        .member("ops", "lg", HarborRole::Maintainer)
        .quota("team", 10_000_000)
        // A push-only robot: it cannot list the repositories of its project, nor read its summary.
        .robot("ops", "pusher", "p", &["push"])
        .start()
        .await;
    let s = h.seeder();
    s.push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;
    s.push_image("team/app", "1.0", &ImageSpec::small("app")).await;
    s.push_image("ops/tool", "1", &ImageSpec::small("tool")).await;
    s.push_image("secret/x", "1", &ImageSpec::small("x")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;

    b.add_profile(profile("lg", &h.url(), "lg", "lgpass")).await.unwrap();
    let projects = b.harbor_projects("lg").await.unwrap();
    assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["library", "team", "ops"]);
    // A public project it is no member of: listed, its quota not visible, and it says so.
    let library = &projects[0];
    assert!(library.public && library.quota_used.is_none() && library.role.is_none(), "{library:?}");
    assert!(
        library.hidden.iter().any(|h| h.contains("quota not visible") && h.contains("limited guest")),
        "{library:?}"
    );
    assert_eq!(library.rights.as_deref(), Some("pull"), "{library:?}");
    // Limited guest: quota visible, pull only.
    let team = &projects[1];
    assert_eq!(team.role.as_deref(), Some("limited guest"));
    assert_eq!(team.quota_limit, Some(10_000_000));
    assert!(team.quota_used.is_some_and(|u| u > 0) && team.hidden.is_empty(), "{team:?}");
    assert_eq!((team.rights.as_deref(), team.can_delete), (Some("pull"), Some(false)));
    let ops = &projects[2];
    assert_eq!((ops.role.as_deref(), ops.can_delete), (Some("maintainer"), Some(true)));

    // The robot: its project is listed with what it may not see; browsing finds nothing to list there.
    b.add_profile(profile("pusher", &h.url(), "robot$ops+pusher", "p")).await.unwrap();
    let projects = b.harbor_projects("pusher").await.unwrap();
    let ops = projects.iter().find(|p| p.name == "ops").expect("its own project");
    assert!(ops.quota_used.is_none(), "{ops:?}");
    assert!(ops.hidden.iter().any(|h| h.contains("summary and quota not visible")), "{ops:?}");
    assert!(ops.hidden.iter().any(|h| h.contains("repositories not listed")), "{ops:?}");
    assert_eq!(ops.rights.as_deref(), Some("pull, push"));
    let repos: Vec<String> = b.repositories("pusher").await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(repos, ["library/nginx"], "the public project still browses");

    // A delete plan where the account may not delete: refused with why, nothing attempted.
    let p = plan(&b, "lg", &["team/app:1.0"], DeleteMode::UntagOnly).await;
    assert!(p.untag.is_empty(), "{p:?}");
    assert!(p.refused[0].reason.contains("may not delete in Harbor project team (role: limited guest)"), "{p:?}");
    assert!(p.refused[0].hint.contains("maintainer"), "{p:?}");
    assert!(h.registry_tags("team/app").contains_key("1.0"));
}

#[tokio::test]
async fn the_connection_test_names_the_login_type_and_the_rights_per_project() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "devpass")
        .project("library", true)
        .project("team", false)
        .member("team", "dev", HarborRole::Developer)
        .robot("team", "ci", "s1", &["pull", "push", "delete"])
        .system_robot("mirror", "s2", &[("*", &["pull"])])
        .start()
        .await;
    h.seeder().push_image("team/app", "1", &ImageSpec::small("app")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    let cases = [
        ("admin", "admin", "Harbor12345", "system administrator"),
        ("dev", "dev", "devpass", "local user"),
        ("ci", "robot$team+ci", "s1", "project robot account of team"),
        ("mirror", "robot$mirror", "s2", "system robot account"),
    ];
    for (name, user, pw, kind) in cases {
        b.add_profile(profile(name, &h.url(), user, pw)).await.unwrap();
        let r = b.test_profile(name).await.unwrap();
        let account = r.checks.iter().find(|c| c.name == "account").unwrap_or_else(|| panic!("{name}: {r:?}"));
        assert!(account.ok && account.detail.contains(kind), "{name}: {account:?}");
        let team = r.checks.iter().find(|c| c.name == "project team").unwrap_or_else(|| panic!("{name}: {r:?}"));
        let want = match name {
            "admin" | "ci" => "may pull, push, delete",
            "dev" => "may pull, push as developer",
            _ => "may pull",
        };
        assert!(team.detail.contains(want), "{name}: {team:?}");
    }
    let dev = b.test_profile("dev").await.unwrap();
    let team = dev.checks.iter().find(|c| c.name == "project team").unwrap();
    assert!(team.detail.contains("deletes are refused"), "{team:?}");

    // A wrong secret is a failed, fatal check with the credentials as its fix.
    b.add_profile(profile("bad", &h.url(), "robot$team+ci", "nope")).await.unwrap();
    let r = b.test_profile("bad").await.unwrap();
    assert!(!r.ok);
    let login = r.checks.iter().find(|c| c.name == "Harbor login").expect("login check");
    assert!(!login.ok && login.fatal && login.fix.is_some(), "{login:?}");
}

#[tokio::test]
async fn oidc_users_log_in_with_their_cli_secret() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .oidc_user("alice", "cli-secret-1")
        .project("team", false)
        .member("team", "alice", HarborRole::Maintainer)
        .start()
        .await;
    h.seeder().push_image("team/app", "1", &ImageSpec::small("app")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("alice", &h.url(), "alice", "cli-secret-1")).await.unwrap();
    let r = b.test_profile("alice").await.unwrap();
    let account = r.checks.iter().find(|c| c.name == "account").expect("account check");
    assert!(account.detail.contains("OIDC user (logging in with its CLI secret)"), "{account:?}");
    let summary = b.sync("alice", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((summary.repositories, summary.errors), (1, 0), "{summary:?}");
}

#[tokio::test]
async fn artifacts_show_types_labels_scans_and_accessories_under_their_subject() {
    let app = ImageSpec::small("app");
    let probe = Harbor::builder().project("team", false).start().await;
    // Digests are content addressed: learn the image's digest to label and scan it in the real run.
    let digest = probe.seeder().push_image("team/app", "1.0", &app).await.digest;
    drop(probe);
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .project("team", false)
        .label(&digest, "release", "#1D5100")
        .scan(&digest, &[("Critical", 1), ("High", 2), ("Low", 4)], 3)
        .immutable("team", "app", "1.*")
        .start()
        .await;
    let s = h.seeder();
    let img = s.push_image("team/app", "1.0", &app).await;
    assert_eq!(img.digest, digest);
    s.tag("team/app", &img.digest, "latest").await;
    let sig = s.push_referrer_tag("team/app", &img).await;
    let sbom = s.push_artifact("team/app", None, &ArtifactSpec::sbom_for(&img)).await;
    let notation = s.push_artifact("team/app", None, &ArtifactSpec::notation_signature_for(&img)).await;
    s.push_artifact("team/charts/web", Some("0.3.1"), &ArtifactSpec::helm_chart("web", "0.3.1")).await;
    s.push_artifact("team/app", Some("plugin"), &ArtifactSpec::wasm("plugin")).await;
    let untagged = s.push_image("team/app", "tmp", &ImageSpec::small("old")).await;
    let tmp = h.registry_tags("team/app");
    assert!(tmp.contains_key("tmp"));
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("h", &h.url(), "admin", "Harbor12345")).await.unwrap();
    // Untag `tmp` so one artifact is untagged.
    let p = plan(&b, "h", &["team/app:tmp"], DeleteMode::UntagOnly).await;
    b.execute_delete("h", &p, &CancellationToken::new(), &|_| {}).await.unwrap();

    // A pull through /v2 shows as the pull time.
    let v2 = berth_registry::RegistryClient::new(
        &h.url(),
        berth_registry::Credentials::Basic { username: "admin".into(), password: "Harbor12345".into() },
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    v2.get_manifest("team/app", &berth_registry::Reference::Tag("1.0".into())).await.unwrap();

    let arts = b.harbor_artifacts("h", "team/app").await.unwrap();
    assert_eq!(arts.len(), 3, "image, wasm, untagged; accessories are not artifacts: {arts:#?}");
    let main = arts.iter().find(|a| a.digest == img.digest).unwrap();
    assert_eq!(main.kind, "image");
    let tags: Vec<(&str, bool)> = main.tags.iter().map(|t| (t.name.as_str(), t.immutable)).collect();
    assert_eq!(tags, [("1.0", true), ("latest", false)], "immutability rule on 1.*");
    assert_eq!(main.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["release"]);
    let scan = main.scan.as_ref().expect("scan overview");
    assert_eq!(scan.severity.as_deref(), Some("Critical"));
    assert_eq!((scan.total, scan.fixable), (7, 3));
    assert_eq!(scan.counts[0], ("Critical".to_string(), 1));
    assert!(scan.scanner.as_deref().is_some_and(|s| s.starts_with("Trivy")), "{scan:?}");
    assert!(main.pull_time.is_some(), "pulled just now: {main:?}");
    let mut acc: Vec<(&str, &str)> =
        main.accessories.iter().map(|a| (a.digest.as_str(), a.harbor_type.as_str())).collect();
    acc.sort();
    let mut want = vec![
        (sig.digest.as_str(), "signature.cosign"),
        (sbom.digest.as_str(), "sbom.harbor"),
        (notation.digest.as_str(), "signature.notation"),
    ];
    want.sort();
    assert_eq!(acc, want);
    let wasm = arts.iter().find(|a| a.tags.iter().any(|t| t.name == "plugin")).unwrap();
    assert_eq!(wasm.kind, "wasm");
    let old = arts.iter().find(|a| a.digest == untagged.digest).unwrap();
    assert!(old.tags.is_empty(), "{old:?}");
    let charts = b.harbor_artifacts("h", "team/charts/web").await.unwrap();
    assert_eq!(charts[0].kind, "chart");

    // The immutable tag is refused in a plan with the rule; the image with it cannot be deleted.
    b.sync("h", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let p = plan(&b, "h", &["team/app:1.0"], DeleteMode::UntagOnly).await;
    assert!(p.untag.is_empty(), "{p:?}");
    let r = &p.refused[0];
    assert!(r.reason.contains("team/app:1.0 is immutable: tag immutability rule #1"), "{r:?}");
    assert!(r.reason.contains("\"1.*\""), "{r:?}");
    assert!(r.hint.contains("Tag Immutability"), "{r:?}");
    let p = plan(&b, "h", &["team/app:latest"], DeleteMode::Image).await;
    assert!(p.delete.is_empty(), "{p:?}");
    assert!(p.refused.iter().any(|r| r.reference == "1.0"), "{p:?}");
    assert!(p.refused.iter().any(|r| r.reference == "latest" && r.hint.contains("Untag only")), "{p:?}");
    // Untagging the mutable sibling works.
    let p = plan(&b, "h", &["team/app:latest"], DeleteMode::UntagOnly).await;
    assert_eq!(p.untag.len(), 1, "{p:?}");
}

#[tokio::test]
async fn deleting_an_artifact_takes_its_accessories_listed_in_the_plan_and_restore_brings_them_back() {
    let h = Harbor::builder().admin("admin", "Harbor12345").project("team", false).start().await;
    let s = h.seeder();
    let img = s.push_image("team/app", "1.0", &ImageSpec::small("app")).await;
    let sig = s.push_referrer_tag("team/app", &img).await;
    let sbom = s.push_artifact("team/app", None, &ArtifactSpec::sbom_for(&img)).await;
    let keep = s.push_image("team/app", "2.0", &ImageSpec::small("keep")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("h", &h.url(), "admin", "Harbor12345")).await.unwrap();
    let summary = b.sync("h", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(summary.errors, 0);
    // The cosign signature's tag is known to the cache although Harbor lists it under its subject.
    let tags: Vec<String> =
        b.tags("h", "team/app", berth_core::SortBy::Name, None).await.unwrap().into_iter().map(|t| t.name).collect();
    assert!(tags.contains(&format!("{}.sig", img.digest.replacen(':', "-", 1))), "{tags:?}");

    let p = plan(&b, "h", &["team/app:1.0"], DeleteMode::Image).await;
    assert_eq!(p.delete.len(), 1, "{p:?}");
    let mut listed: Vec<&str> = p.referrers.iter().map(|r| r.digest.as_str()).collect();
    listed.sort();
    let mut want = vec![sig.digest.as_str(), sbom.digest.as_str()];
    want.sort();
    assert_eq!(listed, want, "the plan lists the accessories: {p:#?}");
    let report = b.execute_delete("h", &p, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((report.deleted, report.failed), (3, 0), "the image and its two accessories: {report:?}");
    let left = h.registry_manifests("team/app");
    assert!(!left.contains(&img.digest) && !left.contains(&sig.digest) && !left.contains(&sbom.digest), "{left:?}");
    assert!(left.contains(&keep.digest), "nothing else touched: {left:?}");

    // Restore: the image and its accessories come back.
    let trash = b.trash("h", false).await.unwrap();
    assert!(!trash.is_empty());
    for t in &trash {
        b.restore("h", t.id).await.unwrap();
    }
    let back = h.registry_manifests("team/app");
    for d in [&img.digest, &sig.digest, &sbom.digest] {
        assert!(back.contains(d), "{d} restored: {back:?}");
    }
    let arts = b.harbor_artifacts("h", "team/app").await.unwrap();
    let main = arts.iter().find(|a| a.digest == img.digest).expect("restored artifact");
    assert_eq!(main.accessories.len(), 2, "{main:?}");
}

#[tokio::test]
async fn project_names_that_look_like_ids_nested_repositories_and_older_versions() {
    // Project 1 is `library`; a project named `2` must not be read as the project with ID 2.
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "devpass")
        .project("library", true)
        .project("team", false)
        .project("2", false)
        .member("2", "dev", HarborRole::Developer)
        .member("team", "dev", HarborRole::Developer)
        .old_version()
        .start()
        .await;
    let s = h.seeder();
    s.push_image("2/app", "1", &ImageSpec::small("two")).await;
    s.push_image("team/a/b/c", "1", &ImageSpec::small("nested")).await;
    s.push_image("library/base/alpine", "3", &ImageSpec::small("alpine")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("dev", &h.url(), "dev", "devpass")).await.unwrap();
    let projects = b.harbor_projects("dev").await.unwrap();
    let two = projects.iter().find(|p| p.name == "2").expect("project 2");
    assert_eq!((two.repo_count, two.role.as_deref()), (1, Some("developer")), "{two:?}");
    let summary = b.sync("dev", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!((summary.repositories, summary.errors), (3, 0), "{summary:?}");
    // Older Harbor: no artifact_type, no accessories; the view still loads.
    let arts = b.harbor_artifacts("dev", "team/a/b/c").await.unwrap();
    assert_eq!((arts.len(), arts[0].artifact_type.as_deref()), (1, None));

    // Anonymous pulls of a nested public repository: a token scoped to exactly that name.
    let anon = berth_registry::RegistryClient::new(
        &h.url(),
        berth_registry::Credentials::Anonymous,
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    assert_eq!(anon.tags("library/base/alpine").await.unwrap(), ["3"]);
    assert!(anon.token_requests() > 0);
    assert!(anon.tags("team/a/b/c").await.is_err(), "a private project stays closed");
}

#[tokio::test]
async fn gc_parameters_reach_harbor_and_its_own_history_shows_runs_started_elsewhere() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "devpass")
        .project("team", false)
        .member("team", "dev", HarborRole::ProjectAdmin)
        .gc_time_window_hours(0)
        .start()
        .await;
    let s = h.seeder();
    let img = s.push_image("team/app", "old", &ImageSpec::small("old")).await;
    s.push_image("team/app", "keep", &ImageSpec::small("keep")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("h", &h.url(), "admin", "Harbor12345")).await.unwrap();
    b.sync("h", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    // Untag `old`: its artifact stays, untagged, until a GC that deletes untagged artifacts.
    let p = plan(&b, "h", &["team/app:old"], DeleteMode::UntagOnly).await;
    b.execute_delete("h", &p, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert!(h.registry_manifests("team/app").contains(&img.digest));

    // A run started outside Berth (Harbor's UI, a schedule): Harbor's own history shows it.
    let api = berth_harbor::HarborClient::new(
        &h.url(),
        berth_registry::Credentials::Basic { username: "admin".into(), password: "Harbor12345".into() },
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    let outside = api.run_gc(&berth_harbor::GcParameters { dry_run: true, ..Default::default() }).await.unwrap();
    api.wait_gc(outside, std::time::Duration::from_secs(30)).await.unwrap();

    let request = berth_core::GcRequest { delete_untagged: true, workers: Some(3), ..Default::default() };
    let report = b.gc("h", &request, &|_| {}, &CancellationToken::new()).await.unwrap();
    assert!(report.freed_bytes > 0, "{report:?}");
    assert!(!h.registry_manifests("team/app").contains(&img.digest), "the untagged artifact is gone");
    let v = b.server_gc("h").await.unwrap();
    assert_eq!(v.runs.len(), 2, "{v:?}");
    let ours = &v.runs[0];
    assert!(ours.delete_untagged && !ours.dry_run && ours.workers == Some(3), "{ours:?}");
    assert!(ours.freed_bytes.is_some_and(|f| f > 0), "{ours:?}");
    assert!(v.runs[1].dry_run && v.runs[1].id == outside, "{v:?}");
    assert_eq!(v.time_window_hours, Some(0));
    assert!(v.collects_before.is_some() && v.collectable_from.is_some());

    // Bad parameters are refused before anything runs.
    let bad = berth_core::GcRequest { workers: Some(11), ..Default::default() };
    let e = b.gc("h", &bad, &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("1 to 10"), "{e:?}");
    // A project admin is not a system administrator: Harbor's refusal, explained.
    b.add_profile(profile("dev", &h.url(), "dev", "devpass")).await.unwrap();
    let e = b.server_gc("dev").await.unwrap_err();
    assert!(e.message.contains("for system administrators") && e.hint.contains("system administrator"), "{e:?}");
    let e = b.gc("dev", &berth_core::GcRequest::default(), &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("dev may not run GC"), "refused before anything is predicted: {e:?}");
    assert_eq!(h.gc_runs(), 2, "no run started for dev");
}

#[tokio::test]
async fn registry2_refuses_gc_parameters() {
    let r = berth_testkit::Registry::builder().start().await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    let req = AddProfileRequest { name: "r".into(), url: r.url(), ..AddProfileRequest::default() };
    b.add_profile(req).await.unwrap();
    let request = berth_core::GcRequest { delete_untagged: true, dry_run: true, ..Default::default() };
    let e = b.gc("r", &request, &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("takes no parameters") && e.hint.contains("#3178"), "{e:?}");
}
