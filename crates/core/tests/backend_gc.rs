//! Safe deletes and GC of Harbor and Nexus profiles through their APIs, against the emulators with real
//! registries behind: untag through the backend's own API (no dummy manifest pushed into it); GC run,
//! log, freed bytes, the check afterwards, history and audit.

use std::path::Path;
use std::sync::{Arc, Mutex};

use berth_core::{AddProfileRequest, Berth, CancellationToken, DeleteMode, Secret};
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

#[tokio::test(flavor = "multi_thread")]
async fn harbor_gc_runs_through_its_api_frees_space_and_is_verified() {
    for window in [0, 2] {
        let h = Harbor::builder()
            .admin("admin", "Harbor12345")
            .project("team", false)
            .gc_time_window_hours(window)
            .start()
            .await;
        let s = h.seeder();
        let old = s.push_image("team/app", "v1", &ImageSpec::small("old")).await;
        s.push_image("team/app", "v2", &ImageSpec::small("new")).await;
        let dir = tempfile::tempdir().unwrap();
        let b = berth(dir.path()).await;
        b.add_profile(profile("harbor", &h.url(), "harbor", "admin", "Harbor12345")).await.unwrap();
        b.sync("harbor", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
        let (_, report) = delete(&b, "harbor", &format!("team/app@{}", old.digest), DeleteMode::Image).await.unwrap();
        assert_eq!(report.deleted, 1, "{report:?}");
        let entry = report.trash_ids[0];

        let dry = b.gc_dry_run("harbor", &|_| {}, &CancellationToken::new()).await.unwrap();
        assert!(dry.dry_run && dry.freed_bytes == 0 && dry.verified.is_none(), "{dry:?}");
        let before = h.registry().blobs_on_disk().len();
        let lines = Mutex::new(Vec::<String>::new());
        let log = |l: &str| lines.lock().unwrap().push(l.to_string());
        let run = b.gc_run("harbor", &log, &CancellationToken::new()).await.unwrap();
        assert_eq!(run.verified, Some(true), "{:?}", run.problems);
        assert!(lines.lock().unwrap().iter().any(|l| l.contains("Harbor GC job")), "the log streams");
        if window == 0 {
            assert!(run.freed_bytes > 0, "{run:?}");
            assert!(h.registry().blobs_on_disk().len() < before);
        } else {
            // Inside Harbor's 2-hour window nothing is freed, and the report says why.
            assert_eq!(run.freed_bytes, 0, "{run:?}");
            assert!(run.notes.iter().any(|n| n.contains("2 hours")), "{:?}", run.notes);
        }
        let tags = b.tags("harbor", "team/app", berth_core::SortBy::Name, None).await.unwrap();
        assert_eq!(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["v2"]);
        let history = b.gc_history("harbor", true).await.unwrap();
        assert_eq!(history.len(), 2);
        assert!(history[0].log.contains("success to run gc"), "{}", history[0].log);
        let audit = b.audit("harbor", 10).await.unwrap();
        assert!(audit.iter().any(|a| a.action == "gc" && a.result == "ok"), "{audit:?}");
        assert!(audit.iter().any(|a| a.action == "delete" && a.result == "ok"), "{audit:?}");
        // The trash entry is collected once Harbor freed its blobs (and restorable while it has not).
        let trash = b.trash("harbor", true).await.unwrap();
        let state = &trash.iter().find(|t| t.id == entry).expect("the delete's trash entry").state;
        assert_eq!(state, if window == 0 { "collected" } else { "trashed" }, "{trash:?}");
        if window == 0 {
            assert!(b.gc_pending("harbor").await.unwrap().blobs.is_empty(), "nothing predicted after GC");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nexus_gc_runs_the_docker_gc_then_compact_tasks_and_reports_the_blob_store_shrinking() {
    let n = Nexus::builder().user("admin", "admin123").docker_hosted("docker-a", true).start().await;
    n.seeder("docker-a").push_image("team/app", "old", &ImageSpec::small("old")).await;
    let new = n.seeder("docker-a").push_image("team/app", "new", &ImageSpec::small("new")).await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("nx", &n.url(), "nexus", "admin", "admin123")).await.unwrap();
    b.sync("nx", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    let (_, report) = delete(&b, "nx-docker-a", "team/app:old", DeleteMode::Auto).await.unwrap();
    assert_eq!(report.deleted, 1, "{report:?}");
    let entry = report.trash_ids[0];

    let e = b.gc_dry_run("nx", &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("no GC dry run"), "{e:?}");
    let lines = Mutex::new(Vec::<String>::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let run = b.gc_run("nx-docker-a", &log, &CancellationToken::new()).await.unwrap();
    assert_eq!(run.verified, Some(true), "{:?}", run.problems);
    assert!(run.freed_bytes > 0, "{run:?}");
    let l = lines.lock().unwrap().join("\n");
    assert!(l.contains("blob stores after"), "{l}");
    assert!(l.contains("OK"), "{l}");
    assert_eq!(
        n.registry_tags("docker-a", "team/app").into_iter().map(|(t, d)| (t, d)).collect::<Vec<_>>(),
        [("new".to_string(), new.digest.clone())]
    );
    assert_eq!(b.gc_history("nx-docker-a", false).await.unwrap()[0].freed_bytes, run.freed_bytes);
    // The deleted image's trash entry is collected: its blobs are gone, nothing is predicted any more.
    let trash = b.trash("nx-docker-a", true).await.unwrap();
    assert_eq!(trash.iter().find(|t| t.id == entry).expect("the delete's trash entry").state, "collected");
    assert!(b.gc_pending("nx-docker-a").await.unwrap().blobs.is_empty());
    let audit = b.audit("nx-docker-a", 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "delete" && a.result == "ok"), "{audit:?}");
    assert!(audit.iter().any(|a| a.action == "gc" && a.result == "ok"), "{audit:?}");
    // The server profile runs the same tasks (there is nothing of its own to predict).
    let run = b.gc_run("nx", &|_| {}, &CancellationToken::new()).await.unwrap();
    assert_eq!(run.verified, Some(true), "{:?}", run.problems);

    // Read-only Nexus: refused with the reason, nothing run.
    n.set_writable(false);
    let runs = n.task_runs();
    assert!(runs >= 4, "the two GCs ran their tasks: {runs}");
    let e = b.gc_run("nx", &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(e.message.contains("read-only"), "{e:?}");
    assert_eq!(n.task_runs(), runs, "no task ran while Nexus is read-only");
}

#[tokio::test(flavor = "multi_thread")]
async fn untag_on_harbor_and_nexus_goes_through_their_apis() {
    use berth_core::{DeleteMode, PlanOptions, Selection};
    let h = Harbor::builder().admin("admin", "Harbor12345").project("team", false).start().await;
    let s = h.seeder();
    let app = s.push_image("team/app", "v1", &ImageSpec::small("app")).await;
    s.tag("team/app", &app.digest, "latest").await;
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path()).await;
    b.add_profile(profile("harbor", &h.url(), "harbor", "admin", "Harbor12345")).await.unwrap();
    b.sync("harbor", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    let manifests_before = h.registry_manifests("team/app").len();
    let sel = [Selection { repository: "team/app".into(), reference: "latest".into() }];
    let opts = PlanOptions { mode: DeleteMode::Auto, referrers: true };
    let plan = b.plan_delete("harbor", &sel, opts, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.untag.len(), 1, "{plan:?}");
    let report = b.execute_delete("harbor", &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(report.untagged, 1, "{report:?}");
    assert!(report.results[0].message.as_deref().unwrap_or("").contains("harbor tag API"), "{report:?}");
    assert_eq!(h.registry_tags("team/app").keys().collect::<Vec<_>>(), ["v1"]);
    assert_eq!(h.registry_manifests("team/app").len(), manifests_before, "no dummy manifest pushed into Harbor");

    let n = Nexus::builder().user("admin", "admin123").docker_hosted("docker-a", true).start().await;
    let img = n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("a")).await;
    n.seeder("docker-a").tag("team/app", &img.digest, "stable").await;
    b.add_profile(profile("nx", &n.url(), "nexus", "admin", "admin123")).await.unwrap();
    b.sync("nx", 8, &CancellationToken::new(), &|_| {}).await.unwrap();
    let sel = [Selection { repository: "team/app".into(), reference: "stable".into() }];
    let plan = b.plan_delete("nx-docker-a", &sel, opts, &CancellationToken::new()).await.unwrap();
    assert_eq!(plan.untag.len(), 1, "{plan:?}");
    let report = b.execute_delete("nx-docker-a", &plan, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(report.untagged, 1, "{report:?}");
    assert!(report.results[0].message.as_deref().unwrap_or("").contains("nexus components API"), "{report:?}");
    assert_eq!(n.registry_tags("docker-a", "team/app").keys().collect::<Vec<_>>(), ["1.0"]);
}
