//! The copy benchmark (issue 20): a set of multi-layer images (about 200 MB, several sharing layers,
//! one multi-arch index) copied between two test-kit registries on loopback by `berth copy`, and by
//! `skopeo copy --all` per image in the same run; bytes sent against the unique blob bytes; the
//! copy's peak RSS; a retag of 100 tags within one registry.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use berth_testkit::{layer_of, ImageSpec, Registry, Seeder};

use crate::{berth_binary, run_measured};

/// `berth --data-dir D ARGS…`, which must succeed.
fn berth(data: &Path, args: &[&str]) {
    let out = Command::new(berth_binary()).arg("--data-dir").arg(data).args(args).output().expect("berth");
    assert!(out.status.success(), "berth {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

pub async fn run(total_mb: usize) {
    let src = Registry::start().await;
    let to_berth = Registry::start().await;
    let to_skopeo = Registry::start().await;
    let seeder = Seeder::new(&src.url());

    // Images of 4 layers: two base layers shared by every image of a family, two of their own; a
    // family per 3 images; plus a two-platform index. Layer size from the total asked.
    let images = 8usize;
    // Layer content compresses about 2:1 (hex text): twice the bytes asked, gzipped, make the total.
    let layer = 2 * (total_mb * 1024 * 1024) / (images * 3 + 4);
    eprintln!("copy bench: seeding {images} images + an index, layers of {} KiB …", layer / 1024);
    let t = Instant::now();
    let mut unique: BTreeMap<String, u64> = BTreeMap::new();
    let mut refs = Vec::new();
    for i in 0..images {
        let family = i / 3;
        let mut spec = ImageSpec::small(&format!("copy-{i}"));
        spec.layers = vec![
            layer_of(&format!("family-{family}-base-0"), layer),
            layer_of(&format!("family-{family}-base-1"), layer / 2),
            layer_of(&format!("image-{i}-a"), layer),
            layer_of(&format!("image-{i}-b"), layer),
        ];
        let p = seeder.push_image(&format!("bench/app{}", i % 3), &format!("1.{i}"), &spec).await;
        for (d, s) in &p.blobs {
            unique.insert(d.clone(), *s);
        }
        refs.push(format!("bench/app{}:1.{i}", i % 3));
    }
    let platforms = vec![
        {
            let mut s = ImageSpec::platform("linux", "amd64", None, "multi");
            s.layers.push(layer_of("multi-amd64", layer));
            s
        },
        {
            let mut s = ImageSpec::platform("linux", "arm64", Some("v8"), "multi");
            s.layers.push(layer_of("multi-arm64", layer));
            s
        },
    ];
    let idx = seeder.push_index("bench/multi", "1", &platforms).await;
    for c in &idx.children {
        for (d, s) in &c.blobs {
            unique.insert(d.clone(), *s);
        }
    }
    refs.push("bench/multi:1".into());
    let unique_bytes: u64 = unique.values().sum();
    eprintln!("seeded {:.0} MB of unique blobs in {:.1} s", unique_bytes as f64 / 1e6, t.elapsed().as_secs_f64());

    // skopeo, one image at a time (as a user would from a terminal).
    eprintln!("skopeo copy --all, per image …");
    let t = Instant::now();
    for r in &refs {
        let out = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(format!("docker://{}/{r}", src.host()))
            .arg(format!("docker://{}/{r}", to_skopeo.host()))
            .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
            .output()
            .expect("skopeo");
        assert!(out.status.success(), "skopeo {r}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let skopeo_s = t.elapsed().as_secs_f64();

    // Berth: one plan and copy of the whole set.
    let data = tempfile::tempdir().expect("data dir");
    berth(data.path(), &["profile", "add", "lab", "--url", &src.url()]);
    berth(data.path(), &["profile", "add", "prod", "--url", &to_berth.url()]);
    eprintln!("berth copy …");
    let mut cmd = Command::new(berth_binary());
    cmd.arg("--data-dir").arg(data.path()).args(["copy", "lab"]).args(&refs).args(["--to", "prod", "--yes", "--json"]);
    let crate::Measured { wall, rss_kib, stdout: out, .. } = run_measured(&mut cmd);
    let v: serde_json::Value = serde_json::from_str(&out).expect("copy JSON");
    let sent = v["report"]["bytes_sent"].as_u64().unwrap_or(u64::MAX);
    let verified = v["report"]["verified"].as_bool().unwrap_or(false);
    eprintln!(
        "    plan: {} bytes in {} blobs to send, {} to mount; sent {} blobs, mounted {}, present {}",
        v["plan"]["bytes_to_send"],
        v["plan"]["blobs_to_send"],
        v["plan"]["blobs_to_mount"],
        v["report"]["blobs_sent"],
        v["report"]["blobs_mounted"],
        v["report"]["blobs_present"]
    );

    // Retag 100 tags within one registry: one repository with 100 tags, each given a second tag.
    for i in 0..100 {
        seeder.push_image("bench/tags", &format!("t{i:03}"), &ImageSpec::small(&format!("tag-{i}"))).await;
    }
    eprintln!("berth copy (retag 100 tags within lab) …");
    let mut cmd = Command::new(berth_binary());
    cmd.arg("--data-dir").arg(data.path()).args([
        "copy",
        "lab",
        "bench/tags:t*",
        "--to",
        "lab:{tag}-rc",
        "--yes",
        "--json",
    ]);
    let crate::Measured { wall: retag_wall, stdout: out, .. } = run_measured(&mut cmd);
    let r: serde_json::Value = serde_json::from_str(&out).expect("retag JSON");
    let retag_sent = r["report"]["bytes_sent"].as_u64().unwrap_or(u64::MAX);
    let retagged = r["report"]["results"].as_array().map(|a| a.iter().filter(|x| x["result"] == "copied").count());

    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    let ratio = wall.as_secs_f64() / skopeo_s;
    let rss_mb = rss_kib as f64 / 1024.0;
    println!("Berth copy benchmark: {} images ({:.0} MB unique blob bytes)", refs.len(), unique_bytes as f64 / 1e6);
    println!(
        "(g) berth copy          {:8.2} s  vs skopeo copy --all per image {skopeo_s:.2} s  -> {ratio:.2}  (target <= 0.8) {}",
        wall.as_secs_f64(),
        ok(ratio <= 0.8)
    );
    println!(
        "(h) bytes sent          {sent} vs unique blob bytes {unique_bytes}  (target <=) {}; verified on the target: {verified}",
        ok(sent <= unique_bytes)
    );
    println!("(i) peak RSS of copy    {rss_mb:8.1} MB  (target <= 150 MB) {}", ok(rss_mb <= 150.0));
    println!(
        "(j) retag of 100 tags   {:8.2} s, {retag_sent} blob bytes sent, {} tags  (target < 2 s, 0 bytes) {}",
        retag_wall.as_secs_f64(),
        retagged.unwrap_or(0),
        ok(retag_wall.as_secs_f64() < 2.0 && retag_sent == 0 && retagged == Some(100))
    );
    println!(
        "{}",
        serde_json::json!({
            "copy_s": wall.as_secs_f64(), "skopeo_s": skopeo_s, "copy_vs_skopeo": ratio,
            "bytes_sent": sent, "unique_blob_bytes": unique_bytes, "copy_peak_rss_mb": rss_mb,
            "retag_100_s": retag_wall.as_secs_f64(), "retag_bytes_sent": retag_sent, "verified": verified,
        })
    );
}
