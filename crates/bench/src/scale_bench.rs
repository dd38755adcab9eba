//! The scale benchmark (issue 22, `--scale`): a test-kit registry holding 100,000 tags in 3,000
//! repositories, seeded straight onto its filesystem storage (pushing them would take an hour here):
//! the full sync's peak RSS, Berth's CPU per request, the cache's size per tag beside the raw manifests,
//! and the resync's rate beside the registry's own (wrk) for the same requests.

use std::path::Path;
use std::process::Command;

use berth_testkit::Registry;

use crate::{interleave, measure_wrk, process_cpu_seconds, run_measured, sha256_hex, sync_requests, Measured};

/// Writes `repos` repositories with `tags` tags in all (spread evenly) in registry:2's filesystem
/// layout under `root` (the storage root directory): each tag its own OCI image (a unique config,
/// one layer per repository), with the blob, the repository's layer and revision links and the tag's
/// current and index links. Returns the bytes of the manifests written.
pub fn seed_on_disk(root: &Path, repos: usize, tags: usize) -> u64 {
    let v2 = root.join("docker/registry/v2");
    let mut manifest_bytes = 0u64;
    let put_blob = |data: &[u8]| -> String {
        let digest = sha256_hex(data);
        let hex = &digest["sha256:".len()..];
        let dir = v2.join("blobs/sha256").join(&hex[..2]).join(hex);
        std::fs::create_dir_all(&dir).expect("blob dir");
        std::fs::write(dir.join("data"), data).expect("blob");
        digest
    };
    let link = |path: &Path, digest: &str| {
        std::fs::create_dir_all(path).expect("link dir");
        std::fs::write(path.join("link"), digest).expect("link");
    };
    for r in 0..repos {
        let name = format!("scale/team{:02}/service{r:05}", r % 50);
        let repo = v2.join("repositories").join(&name);
        let layer = format!("layer of {name}").repeat(64);
        let layer_digest = put_blob(layer.as_bytes());
        link(&repo.join("_layers/sha256").join(&layer_digest[7..]), &layer_digest);
        let n = tags / repos + usize::from(r < tags % repos);
        for t in 0..n {
            let config = format!(
                "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-{:02}-{:02}T{:02}:00:00Z\",\
                 \"config\":{{\"Labels\":{{\"build\":\"{r}-{t}\"}}}},\
                 \"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{layer_digest}\"]}}}}",
                t % 12 + 1,
                t % 28 + 1,
                t % 24
            );
            let config_digest = put_blob(config.as_bytes());
            link(&repo.join("_layers/sha256").join(&config_digest[7..]), &config_digest);
            let manifest = format!(
                "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
                 \"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{config_digest}\",\"size\":{}}},\
                 \"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{layer_digest}\",\"size\":{}}}]}}",
                config.len(),
                layer.len()
            );
            manifest_bytes += manifest.len() as u64;
            let digest = put_blob(manifest.as_bytes());
            let hex = &digest[7..];
            link(&repo.join("_manifests/revisions/sha256").join(hex), &digest);
            let tag = repo.join("_manifests/tags").join(format!("v1.{}.{t}", t % 10));
            link(&tag.join("current"), &digest);
            link(&tag.join("index/sha256").join(hex), &digest);
        }
    }
    manifest_bytes
}

pub async fn run(berth: &Path, seed_cache: Option<&Path>, repos: usize, tags: usize, concurrency: usize) -> String {
    let mut reg = Registry::start().await;
    reg.stop();
    let t = std::time::Instant::now();
    let cached = seed_cache.map(|d| d.join(format!("scale-{repos}x{tags}")));
    let manifest_bytes = match cached.as_ref() {
        Some(dir) if dir.join("manifest-bytes").is_file() => {
            // Hard links, not copies (seconds instead of minutes): the benchmark only reads the storage.
            let ok = Command::new("cp")
                .arg("-al")
                .arg(dir.join("docker"))
                .arg(reg.storage_dir())
                .status()
                .expect("cp")
                .success();
            assert!(ok, "linking the seed cache {} failed", dir.display());
            std::fs::read_to_string(dir.join("manifest-bytes")).expect("seed").trim().parse().expect("bytes")
        }
        _ => {
            let bytes = seed_on_disk(reg.storage_dir(), repos, tags);
            if let Some(dir) = &cached {
                std::fs::create_dir_all(dir).expect("seed cache dir");
                crate::copy_tree(reg.storage_dir(), dir);
                std::fs::write(dir.join("manifest-bytes"), bytes.to_string()).expect("seed");
            }
            bytes
        }
    };
    reg.restart(false).await;
    eprintln!("scale: seeded {repos} repositories, {tags} tags on disk in {:.1} s", t.elapsed().as_secs_f64());

    let data = tempfile::tempdir().expect("data dir");
    let out = Command::new(berth)
        .arg("--data-dir")
        .arg(data.path())
        .args(["profile", "add", "scale", "--url", &reg.url()])
        .output()
        .expect("profile add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sync = |label: &str| -> (Measured, serde_json::Value) {
        eprintln!("scale: {label} …");
        let m = run_measured(Command::new(berth).arg("--data-dir").arg(data.path()).args([
            "sync",
            "scale",
            "--json",
            "--concurrency",
            &concurrency.to_string(),
        ]));
        let v: serde_json::Value = serde_json::from_str(&m.stdout).expect("sync JSON");
        (m, v)
    };
    let (full, full_v) = sync("full sync");
    let synced = full_v["tags"].as_u64().unwrap_or(0);
    assert_eq!(synced as usize, tags, "the full sync saw {synced} of the {tags} tags seeded");
    let requests = full_v["requests"].as_f64().unwrap_or(0.0);
    let cpu_us = full.cpu_seconds() / requests * 1e6;
    // The cache on disk (database and WAL), less the raw manifests it keeps.
    let db_bytes: u64 = std::fs::read_dir(data.path())
        .expect("data dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(berth_store::DB_FILE))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    let per_tag = (db_bytes.saturating_sub(manifest_bytes)) as f64 / tags as f64;
    let breakdown = table_bytes(data.path()).await;
    // BENCH_KEEP_DATA=DIR keeps a copy of the cache for a look at it.
    if let Some(keep) = std::env::var_os("BENCH_KEEP_DATA") {
        std::fs::create_dir_all(&keep).expect("keep dir");
        crate::copy_tree(data.path(), Path::new(&keep));
    }

    let (lists, _, _, checks) = sync_requests(data.path(), "scale").await;
    let resync_paths = interleave(&[&lists, &checks]);
    let registry_pid = reg.pid().expect("registry running");
    let before = process_cpu_seconds(registry_pid);
    let wrk_resync = measure_wrk(data.path(), "scale-resync", &resync_paths, concurrency, &reg.url());
    eprintln!(
        "scale: wrk resync {wrk_resync:.0} req/s, registry CPU {:.1} s",
        process_cpu_seconds(registry_pid) - before
    );
    let (re, re_v) = sync("resync");
    let re_requests = re_v["requests"].as_f64().unwrap_or(0.0);
    let re_rate = re_requests / re.wall.as_secs_f64();
    let ratio = re_rate / wrk_resync;
    let peak_mb = full.rss_kib.max(re.rss_kib) as f64 / 1024.0;
    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    let mut s = format!("Scale: {repos} repositories, {tags} tags, concurrency {concurrency}\n");
    s += &format!(
        "(s1) full sync          {:8.1} s  {requests:7.0} requests  peak RSS {peak_mb:.1} MB (target <= 150 MB) {}\n",
        full.wall.as_secs_f64(),
        ok(peak_mb <= 150.0)
    );
    s += &format!("(s2) Berth CPU          {cpu_us:8.0} µs per request during the full sync\n");
    s += &format!(
        "(s3) cache              {:8.1} MB on disk, {:.1} MB of it raw manifests: {per_tag:.0} bytes per tag besides (target <= 1536) {}\n",
        db_bytes as f64 / 1e6,
        manifest_bytes as f64 / 1e6,
        ok(per_tag <= 1536.0)
    );
    s += &format!(
        "     by table and index (bytes per tag): {}\n",
        breakdown
            .iter()
            .take(12)
            .map(|(name, bytes)| format!("{name} {:.0}", *bytes as f64 / tags as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    s += &format!(
        "(s4) resync             {:8.1} s  {re_requests:7.0} requests  {re_rate:.0} req/s; wrk {wrk_resync:.0} req/s -> {ratio:.2} (target >= 0.9) {}\n",
        re.wall.as_secs_f64(),
        ok(ratio >= 0.9)
    );
    s += &serde_json::json!({
        "scale_repositories": repos, "scale_tags": tags, "scale_full_sync_s": full.wall.as_secs_f64(),
        "scale_requests": requests, "scale_peak_rss_mb": peak_mb, "scale_cpu_us_per_request": cpu_us,
        "scale_cache_bytes": db_bytes, "scale_manifest_bytes": manifest_bytes, "scale_bytes_per_tag": per_tag,
        "scale_resync_s": re.wall.as_secs_f64(), "scale_resync_req_per_s": re_rate,
        "scale_wrk_resync_req_per_s": wrk_resync, "scale_resync_ratio": ratio,
    })
    .to_string();
    s
}

/// Bytes on disk per table and index of the cache (SQLite's dbstat), largest first.
async fn table_bytes(data: &Path) -> Vec<(String, i64)> {
    let store = berth_store::Store::open(data).await.expect("store");
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .fetch_all(store.pool())
        .await
        .expect("dbstat");
    store.close().await;
    rows
}
