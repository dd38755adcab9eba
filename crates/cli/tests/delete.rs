//! `berth delete`, `retention`, `trash`, `restore` and `audit` against a real registry, checked with skopeo.

use assert_cmd::Command;
use berth_testkit::{skopeo_pull, ImageSpec, Registry, Seeder};

fn berth(data: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("berth").expect("berth binary");
    c.arg("--data-dir").arg(data).env_remove("BERTH_DATA_DIR");
    c
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn strs(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x[key].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_is_a_plan_until_yes_then_trash_restore_and_audit() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let a = seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    seeder.tag("app", &a.digest, "latest").await;
    let solo = seeder.push_image("app", "solo", &ImageSpec::small("solo")).await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).assert().success();
    json(&berth(data.path()).args(["sync", "lab", "--json"]).output().unwrap());
    let pull = |r: &str| skopeo_pull(&format!("{}/app:{r}", reg.host()), false);

    // Without --yes: the plan, and nothing deleted.
    let out = berth(data.path()).args(["delete", "lab", "app:latest", "app:solo", "--json"]).output().unwrap();
    let plan = json(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(strs(&plan["untag"], "tag"), ["latest"]);
    assert_eq!(strs(&plan["delete"], "digest"), [solo.digest.clone()]);
    for key in ["siblings", "children", "referrers"] {
        assert!(plan[key].as_array().unwrap().is_empty(), "{key}: {plan}");
    }
    assert_eq!(plan["reclaimable_bytes"].as_u64().unwrap(), solo.all_blobs().values().sum::<u64>());
    assert_eq!(pull("latest").unwrap(), a.bytes, "a plan deletes nothing");
    assert_eq!(pull("solo").unwrap(), solo.bytes);

    // --image on v1: the sibling latest is listed.
    let plan =
        json(&berth(data.path()).args(["delete", "lab", "app:v1", "--image", "--dry-run", "--json"]).output().unwrap());
    assert_eq!(strs(&plan["siblings"], "tag"), ["latest"]);

    let done = json(
        &berth(data.path()).args(["delete", "lab", "app:latest", "app:solo", "--yes", "--json"]).output().unwrap(),
    );
    assert_eq!(done["report"]["untagged"], 1, "{done}");
    assert_eq!(done["report"]["deleted"], 1, "{done}");
    assert!(pull("latest").is_err() && pull("solo").is_err());
    assert_eq!(pull("v1").unwrap(), a.bytes, "v1 untouched");

    let trash = json(&berth(data.path()).args(["trash", "lab", "--json"]).output().unwrap());
    let entries = trash.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let solo_entry = entries.iter().find(|e| e["digest"] == solo.digest.as_str()).unwrap();
    assert_eq!(solo_entry["repository"], "app");
    assert_eq!(solo_entry["tags"], serde_json::json!(["solo"]));
    let id = solo_entry["id"].as_i64().unwrap().to_string();

    berth(data.path()).args(["restore", "lab", &id]).assert().success();
    assert_eq!(pull("solo").unwrap(), solo.bytes, "restored byte for byte");
    let again = berth(data.path()).args(["restore", "lab", &id]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("restored already"), "{again:?}");

    let audit = json(&berth(data.path()).args(["audit", "lab", "--json"]).output().unwrap());
    let rows: Vec<(String, String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["target"].as_str().unwrap().into(),
                r["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(rows.contains(&("untag".into(), "latest".into(), "ok".into())), "{rows:?}");
    assert!(rows.contains(&("delete".into(), "solo".into(), "ok".into())), "{rows:?}");
    assert!(rows.iter().any(|r| r.0 == "restore" && r.2 == "ok"), "{rows:?}");

    // Bad input: a clear error, nothing touched.
    let out = berth(data.path()).args(["delete", "lab", "app"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REPO:TAG"));
    let out = berth(data.path()).args(["retention", "lab"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--keep-last"));
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_dry_run_then_yes() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    for i in 1..=4 {
        let mut s = ImageSpec::small(&format!("r{i}"));
        s.created = format!("2024-02-0{i}T00:00:00Z");
        seeder.push_image("team/svc", &format!("1.{i}"), &s).await;
    }
    seeder.push_image("team/svc", "dev-x", &ImageSpec::small("dev")).await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).assert().success();

    let args = ["retention", "lab", "--keep-last", "2", "--match", r"^1\.", "--repo", "team/*"];
    let plan = json(&berth(data.path()).args(args).args(["--dry-run", "--json"]).output().unwrap());
    let mut gone: Vec<String> = plan["delete"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()))
        .collect();
    gone.sort();
    assert_eq!(gone, ["1.1", "1.2"]);
    assert!(plan["kept"].as_array().unwrap().iter().any(|k| k["tag"] == "dev-x" && k["reason"] == "not matched"));
    let mut tags = seeder_tags(&reg).await;
    tags.sort();
    assert_eq!(tags, ["1.1", "1.2", "1.3", "1.4", "dev-x"], "dry run deletes nothing");

    let done = json(&berth(data.path()).args(args).args(["--yes", "--json"]).output().unwrap());
    assert_eq!(done["report"]["deleted"], 2, "{done}");
    let mut tags = seeder_tags(&reg).await;
    tags.sort();
    assert_eq!(tags, ["1.3", "1.4", "dev-x"]);
}

async fn seeder_tags(reg: &Registry) -> Vec<String> {
    let c = berth_registry::RegistryClient::new(
        &reg.url(),
        berth_registry::Credentials::Anonymous,
        &berth_registry::TlsOptions::default(),
    )
    .unwrap();
    c.tags("team/svc").await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_dry_run_then_run_with_before_and_after_commands() {
    let registry = Registry::start().await;
    let (url, host, config) = (registry.url(), registry.host(), registry.config_path().display().to_string());
    let registry = std::sync::Arc::new(tokio::sync::Mutex::new(registry));
    let control = berth_testkit::RegistryControl::serve(registry.clone()).await;
    let seeder = Seeder::new(&url);
    let a = seeder.push_image("app", "v1", &ImageSpec::small("a")).await;
    let b = seeder.push_image("app", "v2", &ImageSpec::small("b")).await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &url]).assert().success();

    // No GC command yet: say how to set one.
    let out = berth(data.path()).args(["gc", "lab", "--dry-run"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--gc-command"));
    // --delete-untagged is refused with the reason.
    let out = berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect -m {config}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("#3178"));

    berth(data.path())
        .args(["profile", "edit", "lab", "--gc-command", &format!("docker-registry garbage-collect {config}")])
        .args(["--gc-before", &control.read_only_command(), "--gc-after", &control.read_write_command()])
        .assert()
        .success();
    json(&berth(data.path()).args(["delete", "lab", "app:v1", "--yes", "--json"]).output().unwrap());

    let dry = json(&berth(data.path()).args(["gc", "lab", "--dry-run", "--json"]).output().unwrap());
    let predicted = a.all_blobs().values().sum::<u64>();
    assert_eq!(dry["predicted_bytes"].as_u64().unwrap(), predicted, "{dry}");
    assert_eq!(dry["registry"]["blobs_eligible"].as_u64().unwrap(), 3, "{dry}");
    assert!(dry["registry"]["marked"].as_u64().unwrap() >= 3);

    let run = json(&berth(data.path()).args(["gc", "lab", "--yes", "--json"]).output().unwrap());
    assert_eq!(run["verified"], true, "{run}");
    assert_eq!(run["freed_bytes"].as_u64().unwrap(), predicted);
    assert_eq!(run["blobs_freed"].as_u64().unwrap(), 3);
    assert_eq!(skopeo_pull(&format!("{host}/app:v2"), false).unwrap(), b.bytes);

    let history = json(&berth(data.path()).args(["gc", "lab", "--history", "--json"]).output().unwrap());
    assert_eq!(history.as_array().unwrap().len(), 2);
    let trash = json(&berth(data.path()).args(["trash", "lab", "--all", "--json"]).output().unwrap());
    assert_eq!(trash[0]["state"], "collected");
}
