//! `berth untagged`, deleting an untagged manifest by digest, `berth search` pages and sorts, and
//! `berth delete-repository`, against a real registry (distribution 2.8.2), checked with skopeo.

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

fn digests(v: &serde_json::Value) -> Vec<String> {
    v["manifests"].as_array().unwrap().iter().map(|m| m["digest"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn untagged_are_listed_checked_and_deleted_by_digest_and_repositories_delete_whole() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let old = seeder.push_image("team/app", "v1", &ImageSpec::small("old")).await;
    seeder.push_image("team/app", "v2", &ImageSpec::small("v2")).await;
    seeder.push_image("team/keep", "stay", &ImageSpec::small("stay")).await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).assert().success();
    json(&berth(data.path()).args(["sync", "lab", "--json"]).output().unwrap());
    let none = json(&berth(data.path()).args(["untagged", "lab", "--json"]).output().unwrap());
    assert!(digests(&none).is_empty(), "nothing untagged yet: {none}");

    // v1 pushed over: its old manifest stays in the registry, untagged.
    let new = seeder.push_image("team/app", "v1", &ImageSpec::small("new")).await;
    json(&berth(data.path()).args(["sync", "lab", "--json"]).output().unwrap());
    let by_digest = |d: &str| skopeo_pull(&format!("{}/team/app@{d}", reg.host()), false);
    assert_eq!(by_digest(&old.digest).unwrap(), old.bytes, "registry:2 keeps it");

    let listed = json(&berth(data.path()).args(["untagged", "lab", "team/app", "--check", "--json"]).output().unwrap());
    assert_eq!(digests(&listed), [old.digest.clone()], "{listed}");
    assert_eq!(listed["checked"], true);
    assert_eq!(listed["gone"], 0);
    assert!(listed["manifests"][0]["size"].as_u64().unwrap() > 0);
    assert!(listed["manifests"][0]["created"].is_string(), "{listed}");
    let text = berth(data.path()).args(["untagged", "lab"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains(&format!("team/app@{}", old.digest)) && text.contains("1 untagged manifest"), "{text}");

    // Delete it by digest: a plan first (nothing deleted), then --yes; the tagged image stays.
    let at = format!("team/app@{}", old.digest);
    let plan = json(&berth(data.path()).args(["delete", "lab", &at, "--json"]).output().unwrap());
    assert_eq!(plan["delete"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["delete"][0]["digest"], old.digest.as_str());
    assert!(plan["delete"][0]["tags"].as_array().unwrap().is_empty());
    assert!(plan["untag"].as_array().unwrap().is_empty());
    assert_eq!(by_digest(&old.digest).unwrap(), old.bytes, "a plan deletes nothing");
    let done = json(&berth(data.path()).args(["delete", "lab", &at, "--yes", "--json"]).output().unwrap());
    assert_eq!(done["report"]["deleted"], 1, "{done}");
    assert!(by_digest(&old.digest).is_err(), "gone from the registry");
    assert_eq!(skopeo_pull(&format!("{}/team/app:v1", reg.host()), false).unwrap(), new.bytes);
    let after = json(&berth(data.path()).args(["untagged", "lab", "--json"]).output().unwrap());
    assert!(digests(&after).is_empty(), "{after}");

    // Search: every hit with --all, sorted by repository; pages with --limit/--offset.
    let all = json(
        &berth(data.path())
            .args(["search", "lab", "team/", "--all", "--sort", "repository", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(all["total"], 3, "{all}");
    let repos: Vec<&str> = all["tags"].as_array().unwrap().iter().map(|t| t["repository"].as_str().unwrap()).collect();
    assert_eq!(repos, ["team/app", "team/app", "team/keep"], "{all}");
    let page2 = json(
        &berth(data.path())
            .args(["search", "lab", "team/", "--limit", "2", "--offset", "2", "--sort", "repository", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(page2["total"], 3);
    assert_eq!(page2["tags"].as_array().unwrap().len(), 1);
    assert_eq!(page2["tags"][0]["repository"], "team/keep");
    let text = berth(data.path()).args(["search", "lab", "team/", "--limit", "1"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("2 more"), "{text:?}");

    // Delete the whole repository: the plan lists every tag, --yes deletes them; team/keep stays.
    let plan = json(&berth(data.path()).args(["delete-repository", "lab", "team/app", "--json"]).output().unwrap());
    let planned: Vec<&str> =
        plan["delete"].as_array().unwrap().iter().map(|d| d["repository"].as_str().unwrap()).collect();
    assert_eq!(planned, ["team/app", "team/app"], "{plan}");
    assert!(
        plan["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("empty")),
        "the note points to the empty-repository step: {plan}"
    );
    assert!(skopeo_pull(&format!("{}/team/app:v2", reg.host()), false).is_ok(), "a plan deletes nothing");
    let done =
        json(&berth(data.path()).args(["delete-repository", "lab", "team/app", "--yes", "--json"]).output().unwrap());
    assert_eq!(done["report"]["deleted"], 2, "{done}");
    for tag in ["v1", "v2"] {
        assert!(skopeo_pull(&format!("{}/team/app:{tag}", reg.host()), false).is_err(), "{tag} gone");
    }
    assert!(skopeo_pull(&format!("{}/team/keep:stay", reg.host()), false).is_ok(), "another repository untouched");
}
