//! `berth profile test` and `berth inspect` end to end against real registries.

use assert_cmd::Command;
use berth_testkit::{ImageSpec, Registry, Seeder, TlsMode};

fn berth(data: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("berth").expect("berth binary");
    c.arg("--data-dir").arg(data).env_remove("BERTH_DATA_DIR");
    c
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_test_reports_capabilities_and_diagnoses() {
    let on = Registry::start().await;
    Seeder::new(&on.url()).push_image("a/b", "t", &ImageSpec::small("on")).await;
    let off = Registry::builder().delete_enabled(false).start().await;
    Seeder::new(&off.url()).push_image("a/b", "t", &ImageSpec::small("off")).await;
    let tls = Registry::builder().tls(TlsMode::CaSigned).start().await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "on", "--url", &on.url()]).assert().success();
    berth(data.path()).args(["profile", "add", "off", "--url", &off.url()]).assert().success();
    berth(data.path()).args(["profile", "add", "mixup", "--url", &format!("http://{}", tls.host())]).assert().success();
    berth(data.path()).args(["profile", "add", "untrusted", "--url", &tls.url()]).assert().success();

    let out = berth(data.path()).args(["profile", "test", "on", "--json"]).output().unwrap();
    assert!(out.status.success());
    let r = json(&out);
    assert_eq!(r["ok"], true);
    assert_eq!(r["status"], 200);
    assert_eq!(r["api_version"], "registry/2.0");
    assert_eq!(r["auth"], serde_json::Value::Null);
    assert_eq!(r["repositories"], 1);
    assert_eq!(r["delete"], "enabled");

    let r = json(&berth(data.path()).args(["profile", "test", "off", "--json"]).output().unwrap());
    assert_eq!(r["delete"], "disabled");
    assert!(r["delete_explained"].as_str().unwrap().contains("storage.delete.enabled"));

    let out = berth(data.path()).args(["profile", "test", "mixup", "--json"]).output().unwrap();
    assert!(!out.status.success());
    let r = json(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["registry"], "http_to_tls_port");
    assert!(r["error"]["hint"].as_str().unwrap().contains(&format!("https://{}", tls.host())));

    let out = berth(data.path()).args(["profile", "test", "untrusted"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cert[0]"), "the chain is shown: {text}");
    assert!(text.contains("sha256"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown certificate authority") && err.to_lowercase().contains("import the registry's ca"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inspect_image_and_index() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let mut spec = ImageSpec::small("inspect");
    spec.labels.insert("html".into(), "<img src=x onerror=alert(1)>".into());
    let img = seeder.push_image("team/app", "1.0", &spec).await;
    seeder.tag("team/app", &img.digest, "stable").await;
    let sig = seeder.push_referrer_tag("team/app", &img).await;
    let index = seeder
        .push_index(
            "team/multi",
            "v1",
            &[ImageSpec::platform("linux", "amd64", None, "m"), ImageSpec::platform("linux", "arm64", Some("v8"), "m")],
        )
        .await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &reg.url()]).assert().success();

    let out = berth(data.path()).args(["inspect", "lab", "team/app:1.0", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d = json(&out);
    assert_eq!(d["digest"], img.digest);
    assert_eq!(d["media_type"], img.media_type);
    let blob_total: u64 = img.blobs.iter().map(|b| b.1).sum::<u64>() + img.size;
    assert_eq!(d["size"], blob_total);
    assert_eq!(d["platforms"][0]["os"], "linux");
    assert_eq!(d["platforms"][0]["architecture"], "amd64");
    assert_eq!(d["layers"].as_array().unwrap().len(), 1);
    assert_eq!(d["layers"][0]["size"], img.blobs[1].1);
    assert_eq!(d["config"]["created"], "2024-01-02T03:04:05Z");
    assert_eq!(d["config"]["labels"]["html"], "<img src=x onerror=alert(1)>");
    assert_eq!(d["sibling_tags"], serde_json::json!(["stable"]));
    let refs = d["referrers"].as_array().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0]["digest"], sig.digest);
    assert_eq!(refs[0]["source"], "cosign_tag");

    // By digest gives the same digest back.
    let by_digest = json(
        &berth(data.path()).args(["inspect", "lab", &format!("team/app@{}", img.digest), "--json"]).output().unwrap(),
    );
    assert_eq!(by_digest["digest"], img.digest);

    let d = json(&berth(data.path()).args(["inspect", "lab", "team/multi:v1", "--json"]).output().unwrap());
    assert_eq!(d["digest"], index.digest);
    let plats = d["platforms"].as_array().unwrap();
    assert_eq!(plats.len(), 2);
    assert_eq!(plats[1]["architecture"], "arm64");
    assert_eq!(plats[1]["variant"], "v8");
    assert_eq!(plats[1]["digest"], index.children[1].digest);
    assert_eq!(d["resolved_platform"], "linux/amd64");

    // Bad references and unknown tags: one clear line, non-zero exit.
    let out = berth(data.path()).args(["inspect", "lab", "team/app"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REPO:TAG"));
    let out = berth(data.path()).args(["inspect", "lab", "team/app:nope"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}
