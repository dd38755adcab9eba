//! `berth sync`, then `repos`, `tags` and `search` from the cache — also with the registry stopped.

use assert_cmd::Command;
use berth_testkit::{ImageSpec, Registry, Seeder};

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

#[tokio::test(flavor = "multi_thread")]
async fn sync_then_browse_offline() {
    let mut reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    seeder.seed_many(5, 3, "team/svc", 8).await;
    let mut old = ImageSpec::small("old");
    old.created = "2020-01-01T00:00:00Z".into();
    let mut new = ImageSpec::small("new");
    new.created = "2025-06-01T00:00:00Z".into();
    new.layers.push(vec![1u8; 5000]);
    seeder.push_image("team/app", "1.0", &old).await;
    seeder.push_image("team/app", "2.0-rc1", &new).await;
    let multi = seeder
        .push_index(
            "team/app",
            "multi",
            &[ImageSpec::platform("linux", "amd64", None, "m"), ImageSpec::platform("linux", "arm64", None, "m")],
        )
        .await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).assert().success();

    // Before any sync, tags cannot answer from the cache: it says what to do.
    let out = berth(data.path()).args(["tags", "lab", "team/app"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("berth sync lab"));

    let s = json(&berth(data.path()).args(["sync", "lab", "--concurrency", "4", "--json"]).output().unwrap());
    assert_eq!(s["repositories"], 6);
    assert_eq!(s["tags"], 18);
    assert_eq!(s["manifests_fetched"], 15 + 2 + 3);
    assert_eq!(s["errors"], 0);
    assert!(s["requests"].as_u64().unwrap() > 40);
    assert!(s["seconds"].as_f64().unwrap() > 0.0);

    // Stop the registry: the answers stay.
    reg.stop();
    let repos = json(&berth(data.path()).args(["repos", "lab", "--json"]).output().unwrap());
    let arr = repos.as_array().unwrap();
    assert_eq!(arr.len(), 6);
    let app = arr.iter().find(|r| r["name"] == "team/app").unwrap();
    assert_eq!(app["tags"], 3);
    assert!(app["size"].as_u64().unwrap() > 5000);

    let tags =
        json(&berth(data.path()).args(["tags", "lab", "team/app", "--sort", "created", "--json"]).output().unwrap());
    let names: Vec<&str> = tags.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "2.0-rc1", "newest first: {names:?}");
    assert_eq!(*names.last().unwrap(), "1.0");
    for t in tags.as_array().unwrap() {
        assert!(t["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(t["created"].is_string());
        assert!(t["size"].as_u64().unwrap() > 0);
    }
    let multi_row = tags.as_array().unwrap().iter().find(|t| t["name"] == "multi").unwrap();
    assert_eq!(multi_row["digest"], multi.digest);

    let by_size =
        json(&berth(data.path()).args(["tags", "lab", "team/app", "--sort", "size", "--json"]).output().unwrap());
    let sizes: Vec<u64> = by_size.as_array().unwrap().iter().map(|t| t["size"].as_u64().unwrap()).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");

    // By digest: the order of the digests themselves; by platforms: the index (linux/amd64,linux/arm64)
    // sorts apart from the single-platform images, and the text output shows them.
    let by_digest =
        json(&berth(data.path()).args(["tags", "lab", "team/app", "--sort", "digest", "--json"]).output().unwrap());
    let digests: Vec<&str> = by_digest.as_array().unwrap().iter().map(|t| t["digest"].as_str().unwrap()).collect();
    assert!(digests.windows(2).all(|w| w[0] <= w[1]), "{digests:?}");
    let by_platforms =
        json(&berth(data.path()).args(["tags", "lab", "team/app", "--sort", "platforms", "--json"]).output().unwrap());
    let platforms: Vec<String> = by_platforms
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["platforms"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect::<Vec<_>>().join(","))
        .collect();
    assert!(platforms.windows(2).all(|w| w[0] <= w[1]), "{platforms:?}");
    assert!(platforms.contains(&"linux/amd64,linux/arm64".to_string()), "{platforms:?}");
    let text = berth(data.path()).args(["tags", "lab", "team/app", "--sort", "platforms"]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let multi_line = text.lines().find(|l| l.starts_with("multi ")).unwrap_or_else(|| panic!("{text}"));
    assert!(multi_line.ends_with("linux/amd64,linux/arm64"), "{multi_line}");

    let rc =
        json(&berth(data.path()).args(["tags", "lab", "team/app", "--filter", "-rc\\d+$", "--json"]).output().unwrap());
    assert_eq!(rc.as_array().unwrap().len(), 1);
    assert_eq!(rc[0]["name"], "2.0-rc1");
    let out = berth(data.path()).args(["tags", "lab", "team/app", "--filter", "(unclosed"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid filter"));

    let found = json(&berth(data.path()).args(["search", "lab", "svc00003", "--json"]).output().unwrap());
    assert_eq!(found["total"], 3);

    // A sync now fails with a clear line, and the cache still answers afterwards.
    let out = berth(data.path()).args(["sync", "lab"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection refused") && err.contains("next sync resumes"), "{err}");
    let repos = json(&berth(data.path()).args(["repos", "lab", "--json"]).output().unwrap());
    assert_eq!(repos.as_array().unwrap().len(), 6);
}
