//! `berth copy` and `berth retag` against real registries, checked with skopeo: a plan until --yes,
//! then the copy; an overwrite refused with a non-zero exit; a retag that moves no blob.

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

#[tokio::test(flavor = "multi_thread")]
async fn copy_is_a_plan_until_yes_and_retag_moves_no_blob() {
    let src = Registry::start().await;
    let dst = Registry::start().await;
    let img = Seeder::new(&src.url()).push_image("team/app", "1.4", &ImageSpec::small("cli-copy")).await;
    Seeder::new(&dst.url()).push_image("team/app", "stable", &ImageSpec::small("other")).await;
    let data = tempfile::tempdir().unwrap();
    berth(data.path()).args(["profile", "add", "lab", "--url", &src.url()]).assert().success();
    berth(data.path()).args(["profile", "add", "prod", "--url", &dst.url()]).assert().success();

    // Without --yes: the plan (text), and nothing on the target.
    let out = berth(data.path()).args(["copy", "lab", "team/app:1.4", "--to", "prod/release/{repo}"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("lab/team/app:1.4 → prod/release/team/app:1.4") && text.contains("new tag"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(skopeo_pull(&format!("{}/release/team/app:1.4", dst.host()), false).is_err(), "a plan copies nothing");

    let done = json(
        &berth(data.path())
            .args(["copy", "lab", "team/app:1.4", "--to", "prod/release/{repo}", "--yes", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(done["report"]["verified"], true, "{done}");
    assert_eq!(done["report"]["results"][0]["result"], "copied", "{done}");
    assert_eq!(skopeo_pull(&format!("{}/release/team/app:1.4", dst.host()), false).unwrap(), img.bytes);

    // A tag that points at another image: refused, exit non-zero, the target unchanged.
    let out =
        berth(data.path()).args(["copy", "lab", "team/app:1.4", "--to", "prod:stable", "--yes"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("points at another image") && err.contains("overwrite"), "{err}");
    assert_ne!(skopeo_pull(&format!("{}/team/app:stable", dst.host()), false).unwrap(), img.bytes);

    // retag within one profile.
    let r = json(&berth(data.path()).args(["retag", "lab", "team/app:1.4", "latest", "--json"]).output().unwrap());
    assert_eq!(r["plan"]["same_registry"], true);
    assert_eq!(r["report"]["bytes_sent"], 0);
    assert_eq!(skopeo_pull(&format!("{}/team/app:latest", src.host()), false).unwrap(), img.bytes);
    let audit = berth(data.path()).args(["audit", "lab"]).output().unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("retag"), "{}", String::from_utf8_lossy(&audit.stdout));
}
