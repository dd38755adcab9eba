//! Harbor and Nexus profiles through berth-core, against the emulators (real registries behind):
//! the same sync / browse flows as registry:2 profiles, projects and quotas, discovery of Nexus
//! docker repositories as child profiles, deletes through the backends' APIs, clear errors.

use std::path::Path;
use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, ErrorCode, Secret, SortBy};
use berth_secrets::MemoryStore;
use berth_testkit::{Harbor, ImageSpec, Nexus};

async fn berth(dir: &Path) -> Berth {
    Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap()
}

/// A delete the way every front end does it: the plan, then its execution (trash and audit included).
async fn delete(
    b: &Berth,
    profile: &str,
    image: &str,
    mode: berth_core::DeleteMode,
) -> Result<(berth_core::DeletePlan, berth_core::DeleteReport), berth_core::ApiError> {
    let sel = [berth_core::Selection::parse(image).expect("image reference")];
    let opts = berth_core::PlanOptions { mode, referrers: true };
    let plan = b.plan_delete(profile, &sel, opts, &CancellationToken::new()).await?;
    let report = b.execute_delete(profile, &plan, &CancellationToken::new(), &|_| {}).await?;
    Ok((plan, report))
}

fn profile(name: &str, url: &str, kind: &str, user: &str, password: &str) -> AddProfileRequest {
    AddProfileRequest {
        name: name.into(),
        url: url.into(),
        kind: Some(kind.into()),
        username: Some(user.into()),
        password: Some(Secret::new(password)),
        ..AddProfileRequest::default()
    }
}

async fn sync(b: &Berth, name: &str) -> Result<berth_core::SyncSummaryView, berth_core::ApiError> {
    b.sync(name, 8, &CancellationToken::new(), &|_| {}).await
}

#[tokio::test]
async fn a_harbor_profile_with_a_robot_syncs_and_browses_like_any_registry() {
    let h = Harbor::builder()
        .admin("admin", "Harbor12345")
        .project("library", true)
        .project("team", false)
        .project("other", false)
        .robot("team", "ci", "s3cret", &["pull", "delete"])
        .start()
        .await;
    let s = h.seeder();
    let app = s.push_image("team/app", "v1", &ImageSpec::small("app")).await;
    s.tag("team/app", &app.digest, "latest").await;
    s.push_image("team/tools/lint", "1", &ImageSpec::small("lint")).await;
    s.push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;
    s.push_image("other/hidden", "1", &ImageSpec::small("hidden")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("harbor", &h.url(), "harbor", "robot$team+ci", "s3cret")).await.unwrap();

    // Before the first sync the repositories come live from the API.
    let live: Vec<String> = b.repositories("harbor").await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(live, ["library/nginx", "team/app", "team/tools/lint"]);

    let summary = sync(&b, "harbor").await.unwrap();
    assert_eq!(summary.repositories, 3, "{summary:?}");
    assert_eq!(summary.errors, 0, "{summary:?}");
    let repos = b.repositories("harbor").await.unwrap();
    assert_eq!(
        repos.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["library/nginx", "team/app", "team/tools/lint"]
    );
    let tags: Vec<String> =
        b.tags("harbor", "team/app", SortBy::Name, None).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, ["latest", "v1"]);
    assert_eq!(b.search("harbor", "lint", SortBy::Name, 10).await.unwrap().total, 1);

    let projects = b.harbor_projects("harbor").await.unwrap();
    assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["library", "team"]);
    // A robot without "Read project" sees its project listed, but not its summary or quota.
    let team = &projects[1];
    assert!(!team.public && team.repo_count == 2 && team.quota_used.is_none(), "{team:?}");
    assert!(team.hidden.iter().any(|h| h.contains("not visible to this account")), "{team:?}");
    assert_eq!(team.rights.as_deref(), Some("pull, delete"), "{team:?}");

    // Delete a tag, then the artifact; a re-sync shows it.
    let (_, r) = delete(&b, "harbor", "team/app:latest", berth_core::DeleteMode::UntagOnly).await.unwrap();
    assert_eq!(r.untagged, 1, "{r:?}");
    let arts = b.harbor_artifacts("harbor", "team/app").await.unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(arts[0].tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["v1"]);
    let (_, r) =
        delete(&b, "harbor", &format!("team/app@{}", app.digest), berth_core::DeleteMode::Image).await.unwrap();
    assert_eq!(r.deleted, 1, "{r:?}");
    assert!(b.harbor_artifacts("harbor", "team/app").await.unwrap().is_empty());
    assert_eq!(b.trash("harbor", false).await.unwrap().len(), 2, "both deletes are in the trash");
    sync(&b, "harbor").await.unwrap();
    let repos = b.repositories("harbor").await.unwrap();
    let app = repos.iter().find(|r| r.name == "team/app").expect("Harbor keeps the emptied repository");
    assert_eq!(app.tags, Some(0), "{repos:?}");

    // Wrong secret: a clear error, not an empty (anonymous) sync.
    b.add_profile(profile("harbor-bad", &h.url(), "harbor", "robot$team+ci", "wrong")).await.unwrap();
    let e = sync(&b, "harbor-bad").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Registry);
    assert_eq!(e.registry.as_deref(), Some("unauthorized"));
    assert!(e.message.contains("rejected the username or password"), "{}", e.message);
    assert!(e.hint.contains("robot$"), "{}", e.hint);
}

#[tokio::test]
async fn harbor_explains_why_a_platform_of_an_index_cannot_be_deleted() {
    let h = Harbor::builder().admin("admin", "Harbor12345").project("team", false).start().await;
    let index = h
        .seeder()
        .push_index(
            "team/multi",
            "1.0",
            &[ImageSpec::platform("linux", "amd64", None, "m"), ImageSpec::platform("linux", "arm64", Some("v8"), "m")],
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("harbor", &h.url(), "harbor", "admin", "Harbor12345")).await.unwrap();
    let arts = b.harbor_artifacts("harbor", "team/multi").await.unwrap();
    assert_eq!(arts[0].platforms, ["linux/amd64", "linux/arm64/v8"]);
    b.sync("harbor", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    let child = format!("team/multi@{}", index.children[1].digest);
    let (plan, report) = delete(&b, "harbor", &child, berth_core::DeleteMode::Image).await.unwrap();
    assert!(plan.delete.is_empty() && plan.refused.len() == 1, "{plan:?}");
    assert!(plan.refused[0].reason.contains("no tag"), "{plan:?}");
    assert_eq!(report.deleted, 0);
    assert_eq!(h.registry_manifests("team/multi").len(), 3, "nothing was deleted");
}

#[tokio::test]
async fn a_nexus_profile_discovers_two_repositories_and_browses_both() {
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("a")).await;
    n.seeder("docker-a").push_image("team/app", "2.0", &ImageSpec::small("a2")).await;
    n.seeder("docker-b").push_image("tools/lint", "3.0", &ImageSpec::small("b")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("nx", &n.url(), "nexus", "admin", "admin123")).await.unwrap();

    // Syncing the server profile discovers the repositories, creates their profiles, syncs both.
    let summary = sync(&b, "nx").await.unwrap();
    assert_eq!((summary.repositories, summary.tags), (2, 3), "{summary:?}");
    let children = b.nexus_children("nx").await.unwrap();
    assert_eq!(children, ["nx-docker-a", "nx-docker-b"]);
    let a = b.profile("nx-docker-a").await.unwrap();
    assert_eq!(a.url, format!("{}/", n.connector_url("docker-a").unwrap()));
    assert_eq!((a.kind.as_str(), a.username.as_deref(), a.has_password), ("nexus", Some("admin"), true));
    assert_ne!(a.url, b.profile("nx-docker-b").await.unwrap().url, "two connector ports");
    let tags: Vec<String> =
        b.tags("nx-docker-a", "team/app", SortBy::Name, None).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, ["1.0", "2.0"]);
    let repos: Vec<String> = b.repositories("nx-docker-b").await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(repos, ["tools/lint"]);

    // A second discovery finds the same profiles.
    let again = b.nexus_discover("nx").await.unwrap();
    assert!(again.repositories.iter().all(|r| !r.created) && again.removed.is_empty(), "{again:?}");
    assert_eq!(b.profiles().await.unwrap().len(), 3);

    // Delete through the components API, from the child profile.
    let (_, r) = delete(&b, "nx-docker-a", "team/app:1.0", berth_core::DeleteMode::UntagOnly).await.unwrap();
    assert_eq!(r.untagged, 1, "{r:?}");
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["2.0"]);
    let (plan, _) = delete(&b, "nx-docker-a", "team/app:1.0", berth_core::DeleteMode::UntagOnly).await.unwrap();
    assert!(plan.untag.is_empty() && plan.refused.len() == 1, "gone already: {plan:?}");
    let stores = b.nexus_blob_stores("nx").await.unwrap();
    assert_eq!(stores.len(), 1);
    assert!(stores[0].total_size > 0 && stores[0].blob_count > 0, "{stores:?}");

    // A read-only Nexus: the delete is refused with the reason, nothing changes.
    n.set_writable(false);
    let (plan, r) = delete(&b, "nx-docker-a", "team/app:2.0", berth_core::DeleteMode::UntagOnly).await.unwrap();
    assert!(plan.untag.is_empty() && r.results.is_empty(), "nothing attempted: {plan:?} {r:?}");
    let why = &plan.refused[0];
    assert!(why.reason.contains("read-only") && why.hint.contains("writable again"), "{why:?}");
    assert!(n.registry_tags("docker-a", "team/app").contains_key("2.0"));

    // Wrong password on the server profile.
    b.add_profile(profile("nx-bad", &n.url(), "nexus", "admin", "nope")).await.unwrap();
    let e = b.nexus_discover("nx-bad").await.unwrap_err();
    assert_eq!(e.registry.as_deref(), Some("unauthorized"));
    assert!(e.message.contains("rejected the username or password"), "{}", e.message);
}
