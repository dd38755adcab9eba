//! GC for registry:2 with the real `docker-registry garbage-collect`, run as a local command with real
//! before/after commands (read-only restart and back): it frees exactly the predicted blobs on disk, and
//! everything else still pulls byte for byte.

use std::collections::BTreeSet;
use std::sync::Arc;

use berth_backend::{GcCommands, GcRequest, Registry2};
use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store};
use berth_sync::{sync_profile, SyncOptions};
use berth_testkit::{skopeo_pull, ImageSpec, Registry, RegistryControl, Seeder};
use berth_workflows::gc;
use berth_workflows::{execute_plan, plan_delete, trash, PlanOptions, Selection, Target};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread")]
async fn gc_frees_exactly_the_predicted_blobs_and_keeps_everything_else() {
    let registry = Registry::start().await;
    let (url, host, config) = (registry.url(), registry.host(), registry.config_path().display().to_string());
    let registry = Arc::new(Mutex::new(registry));
    let control = RegistryControl::serve(registry.clone()).await;
    let seeder = Seeder::new(&url);

    let a_spec = ImageSpec::small("a");
    let a = seeder.push_image("app", "v1", &a_spec).await;
    let b = seeder.push_image("app", "v2", &ImageSpec::small("b")).await;
    let mut other_spec = ImageSpec::small("o");
    other_spec.layers.push(a_spec.layers[0].clone()); // shares a's layer: GC must keep it
    let other = seeder.push_image("other", "x", &other_spec).await;
    let keep = seeder
        .push_index(
            "multi",
            "keep",
            &[ImageSpec::platform("linux", "amd64", None, "k"), ImageSpec::platform("linux", "arm64", None, "k")],
        )
        .await;
    let gone = seeder
        .push_index(
            "multi",
            "gone",
            &[ImageSpec::platform("linux", "amd64", None, "g"), ImageSpec::platform("linux", "s390x", None, "g")],
        )
        .await;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let pid = store
        .add_profile(&NewProfile {
            name: "lab".into(),
            url: format!("{url}/"),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .unwrap()
        .id;
    let client = RegistryClient::new(&url, Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let cmds = GcCommands {
        command: format!("docker-registry garbage-collect {config}"),
        before: Some(control.read_only_command()),
        after: Some(control.read_write_command()),
    };
    let backend = Registry2::new(client.clone(), Some(cmds), "lab");
    let t = Target { store: &store, profile_id: pid, profile: "lab", backend: &backend };
    let cancel = CancellationToken::new();
    sync_profile(&store, pid, &backend, &SyncOptions::default(), &cancel, &|_| {}).await.unwrap();

    let sel = vec![Selection::parse("app:v1").unwrap(), Selection::parse("multi:gone").unwrap()];
    let plan = plan_delete(t, &sel, PlanOptions::default(), &cancel).await.unwrap();
    assert_eq!((plan.delete.len(), plan.children.len()), (2, 2), "{plan:?}");
    let report = execute_plan(t, &plan, &cancel, &|_| {}).await.unwrap();
    assert_eq!(report.failed, 0);

    // What Berth expects GC to free: a (but not the layer `other` shares) and the whole `gone` index.
    let live: BTreeSet<String> = [&b, &other, &keep].iter().flat_map(|p| p.all_blobs().into_keys()).collect();
    let expected: BTreeSet<String> =
        a.all_blobs().into_keys().chain(gone.all_blobs().into_keys()).filter(|d| !live.contains(d)).collect();
    let prediction = gc::predict(t, &cancel).await.unwrap();
    let predicted: BTreeSet<String> = prediction.blobs.iter().map(|b| b.digest.clone()).collect();
    assert_eq!(predicted, expected);
    assert_eq!(prediction.predicted_bytes, plan.reclaimable_bytes);
    assert_eq!(prediction.trash_entries.len(), 2);

    // The registry's own dry run lists every predicted blob.
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_string());
    let dry = gc::run(t, &GcRequest { dry_run: true, ..GcRequest::default() }, &log, &cancel).await.unwrap();
    assert!(dry.predicted_not_eligible.is_empty(), "{dry:?}");
    assert_eq!(dry.registry.blobs_eligible, Some(dry.registry.blobs.len() as u64));
    assert!(predicted.iter().all(|d| dry.registry.blobs.contains(d)));
    assert!(lines.lock().unwrap().iter().any(|l| l.contains("eligible for deletion")), "the log streams");
    let disk_before = registry.lock().await.blobs_on_disk();
    assert!(predicted.is_subset(&disk_before));

    let report = gc::run(t, &GcRequest::default(), &log, &cancel).await.unwrap();
    assert_eq!(report.verified, Some(true), "{:?}", report.problems);
    assert_eq!(report.predicted_bytes, prediction.predicted_bytes);
    assert_eq!(report.freed_bytes, prediction.predicted_bytes, "actual = predicted");
    assert_eq!(report.blobs_freed, predicted.len() as u64);
    let disk_after = registry.lock().await.blobs_on_disk();
    let freed: BTreeSet<String> = disk_before.difference(&disk_after).cloned().collect();
    assert_eq!(freed, predicted, "GC freed exactly the predicted blobs on disk");
    assert!(!registry.lock().await.is_read_only(), "the after command left read-only mode");

    assert_eq!(skopeo_pull(&format!("{host}/app:v2"), false).unwrap(), b.bytes);
    assert_eq!(skopeo_pull(&format!("{host}/other:x"), false).unwrap(), other.bytes);
    assert_eq!(skopeo_pull(&format!("{host}/multi:keep"), true).unwrap(), keep.bytes, "multi-arch survives");

    let entries = trash(&store, pid, true).await.unwrap();
    assert!(entries.iter().all(|e| e.state == "collected"), "{entries:?}");
    let history = gc::history(&store, pid, true).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(!history[0].dry_run && history[0].verified == Some(true) && history[0].log.contains("garbage-collect"));
    assert!(history[1].dry_run);
}

/// A cache with the profile `lab` for the registry at `url`, and its client.
async fn lab(url: &str) -> (tempfile::TempDir, Store, i64, RegistryClient) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let profile =
        NewProfile { name: "lab".into(), url: format!("{url}/"), kind: ProfileKind::Registry, username: None };
    let pid = store.add_profile(&profile).await.unwrap().id;
    let client = RegistryClient::new(url, Credentials::Anonymous, &TlsOptions::default()).unwrap();
    (dir, store, pid, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_before_command_collects_nothing_and_the_after_command_always_runs() {
    let registry = Registry::start().await;
    let url = registry.url();
    let config = registry.config_path().display().to_string();
    let (dir, store, pid, client) = lab(&url).await;
    let marker = dir.path().join("after-ran");
    let cmds = GcCommands {
        command: format!("docker-registry garbage-collect {config}"),
        before: Some("echo cannot reach the server >&2; exit 3".into()),
        after: Some(format!("touch {}", marker.display())),
    };
    let backend = Registry2::new(client.clone(), Some(cmds), "lab");
    let t = Target { store: &store, profile_id: pid, profile: "lab", backend: &backend };
    let err = gc::run(t, &GcRequest::default(), &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("before-GC command failed"), "{err}");
    let history = gc::history(&store, pid, true).await.unwrap();
    assert_eq!(history[0].status, "failed");
    assert!(history[0].log.contains("cannot reach the server"));
    // Once the before command started, the after command runs (it undoes what the before command did).
    assert!(marker.exists(), "after command ran although the before command failed");
    std::fs::remove_file(&marker).unwrap();

    // GC itself failing (a wrong config path): the after command still runs.
    let cmds = GcCommands {
        command: "docker-registry garbage-collect /nonexistent/config.yml".into(),
        before: None,
        after: Some(format!("touch {}", marker.display())),
    };
    let backend = Registry2::new(client.clone(), Some(cmds), "lab");
    let t = Target { store: &store, profile_id: pid, profile: "lab", backend: &backend };
    // Without a before command GC runs only when the user confirms the registry is stopped.
    let runs = gc::history(&store, pid, false).await.unwrap().len();
    let err = gc::run(t, &GcRequest::default(), &|_| {}, &CancellationToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("still accepts pushes"), "{err}");
    assert_eq!(gc::history(&store, pid, false).await.unwrap().len(), runs, "refused before anything ran");
    assert!(!marker.exists());
    let stopped = GcRequest { registry_stopped: true, ..GcRequest::default() };
    assert!(gc::run(t, &stopped, &|_| {}, &CancellationToken::new()).await.is_err());
    assert!(marker.exists(), "after command ran although GC failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_refuses_to_sweep_a_registry_the_before_command_left_writable() {
    let registry = Registry::start().await;
    let (url, config) = (registry.url(), registry.config_path().display().to_string());
    let seeder = Seeder::new(&url);
    let a = seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    seeder.push_image("app", "v2", &ImageSpec::small("b")).await;
    let (dir, store, pid, client) = lab(&url).await;
    let marker = dir.path().join("after-ran");
    // A before command that "succeeds" but leaves the registry accepting pushes.
    let cmds = GcCommands {
        command: format!("docker-registry garbage-collect {config}"),
        before: Some("echo maintenance on".into()),
        after: Some(format!("touch {}", marker.display())),
    };
    let backend = Registry2::new(client.clone(), Some(cmds), "lab");
    let t = Target { store: &store, profile_id: pid, profile: "lab", backend: &backend };
    let cancel = CancellationToken::new();
    sync_profile(&store, pid, &backend, &SyncOptions::default(), &cancel, &|_| {}).await.unwrap();
    let plan = plan_delete(t, &[Selection::parse("app:v1").unwrap()], PlanOptions::default(), &cancel).await.unwrap();
    execute_plan(t, &plan, &cancel, &|_| {}).await.unwrap();
    let disk_before = registry.blobs_on_disk();

    let err = gc::run(t, &GcRequest::default(), &|_| {}, &cancel).await.unwrap_err();
    assert!(err.to_string().contains("still accepts writes after the before-GC command"), "{err}");
    assert!(marker.exists(), "the after command undid the before command");
    assert_eq!(registry.blobs_on_disk(), disk_before, "nothing was swept");
    assert!(a.all_blobs().keys().all(|d| disk_before.contains(d)));
    let history = gc::history(&store, pid, true).await.unwrap();
    assert_eq!(history[0].status, "failed");
    assert!(history[0].log.contains("maintenance on"), "{}", history[0].log);
}
