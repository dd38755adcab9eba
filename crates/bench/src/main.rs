//! The sync benchmark (issue 4). Run: `make bench` (release build), or
//! `cargo run --release -p berth-bench -- [--repos 300] [--tags 20] [--skopeo-sample 200]`.
//!
//! Seeds a test-kit registry (300 repositories × 20 tags; shared digests; multi-arch indexes), then:
//! (a) `berth sync` (the real CLI, a child process); (b) wrk replaying the same HEAD requests at the
//! same concurrency; (c) sequential `skopeo inspect --raw` + `--config` on a sample, extrapolated;
//! (d) a resync with nothing changed; (e) search and sort over 100,000 cached tags, p50/p95;
//! (f) the sync's peak RSS; (p) the resync again with the profile's storage root set (every tag's
//! digest from one `find` over the registry's files), its tag → digest map checked against (d)'s.
//! Prints a report and a JSON line. Then the copy benchmark (issue 20,
//! `copy_bench`): (g) `berth copy` of about 200 MB of images against `skopeo copy --all` per image,
//! (h) bytes sent against the unique blob bytes, (i) the copy's peak RSS, (j) a retag of 100 tags.
//! `--copy-only` runs just that part (`--copy-mb N` sizes it). Between them the Harbor and Nexus resync
//! benchmark (issue 22, `backend_bench`): requests of a resync against registry:2's; `--backends-only`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth_store::{ManifestRecord, NewProfile, ProfileKind, Store, TagRecord, TagSort};
use berth_testkit::{seed_repo_name, seed_tag_name, ImageSpec, Registry, Seeder};

mod backend_bench;
mod copy_bench;
mod scale_bench;
mod window_bench;

struct Args {
    search_only: bool,
    /// Seed, then (a) and (d) only, with the registry's CPU time: for profiling the sync.
    sync_only: bool,
    repos: usize,
    tags: usize,
    concurrency: usize,
    skopeo_sample: usize,
    /// Keep the seeded storage here and reuse it on the next run (same --repos/--tags).
    seed_cache: Option<PathBuf>,
    /// Start the registry with this `GOGC` (Go's default: 100).
    registry_gogc: Option<u32>,
    /// Only the copy benchmark.
    copy_only: bool,
    /// Only the Harbor / Nexus resync benchmark.
    backends_only: bool,
    /// Megabytes of images the copy benchmark copies.
    copy_mb: usize,
    /// Only the scale benchmark (`--scale-repos`, `--scale-tags`).
    scale_only: bool,
    /// Skip the scale benchmark in a full run.
    no_scale: bool,
    scale_repos: usize,
    scale_tags: usize,
    /// Only the window benchmark.
    window_only: bool,
    /// Skip the window benchmark in a full run.
    no_window: bool,
    /// Tags of the window benchmark's big repository (the others: 900 × 1,000).
    window_big_tags: usize,
}

fn args() -> Args {
    let mut a = Args {
        search_only: false,
        sync_only: false,
        repos: 300,
        tags: 20,
        concurrency: 16,
        skopeo_sample: 200,
        seed_cache: None,
        registry_gogc: None,
        copy_only: false,
        backends_only: false,
        copy_mb: 200,
        scale_only: false,
        no_scale: false,
        scale_repos: 3000,
        scale_tags: 100_000,
        window_only: false,
        no_window: false,
        window_big_tags: 100_000,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let n = v.get(i + 1).and_then(|s| s.parse().ok());
        match (v[i].as_str(), n) {
            ("--repos", Some(n)) => a.repos = n,
            ("--tags", Some(n)) => a.tags = n,
            ("--concurrency", Some(n)) => a.concurrency = n,
            ("--skopeo-sample", Some(n)) => a.skopeo_sample = n,
            ("--registry-gogc", Some(n)) => a.registry_gogc = Some(n as u32),
            ("--copy-mb", Some(n)) => a.copy_mb = n,
            ("--scale-repos", Some(n)) => a.scale_repos = n,
            ("--scale-tags", Some(n)) => a.scale_tags = n,
            ("--window-big-tags", Some(n)) => a.window_big_tags = n,
            ("--window-only", _) => {
                a.window_only = true;
                i += 1;
                continue;
            }
            ("--no-window", _) => {
                a.no_window = true;
                i += 1;
                continue;
            }
            ("--scale-only", _) => {
                a.scale_only = true;
                i += 1;
                continue;
            }
            ("--no-scale", _) => {
                a.no_scale = true;
                i += 1;
                continue;
            }
            ("--copy-only", _) => {
                a.copy_only = true;
                i += 1;
                continue;
            }
            ("--backends-only", _) => {
                a.backends_only = true;
                i += 1;
                continue;
            }
            ("--search-only", _) => {
                a.search_only = true;
                i += 1;
                continue;
            }
            ("--seed-cache", _) if i + 1 < v.len() => a.seed_cache = Some(PathBuf::from(&v[i + 1])),
            ("--sync-only", _) => {
                a.sync_only = true;
                i += 1;
                continue;
            }
            ("--bench", _) => {
                i += 1;
                continue;
            }
            (other, _) => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

/// `cp -a FROM/. TO`.
fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp").arg("-a").arg(from.join(".")).arg(to).status().expect("cp").success();
    assert!(ok, "copying {} to {} failed", from.display(), to.display());
}

/// 300 repositories × 20 tags; shared digests: `latest` = the newest tag in every 4th repository;
/// multi-arch indexes in 20.
async fn seed(reg: &Registry, repos: usize, tags: usize) {
    let seeder = Seeder::new(&reg.url());
    seeder.seed_many(repos, tags, "bench/app", 16).await;
    for r in (0..repos).step_by(4) {
        let repo = seed_repo_name("bench/app", r);
        let (bytes, mt) = seeder.get_manifest(&repo, &seed_tag_name(tags - 1)).await;
        seeder.put_manifest(&repo, "latest", &mt, &bytes).await;
    }
    for r in 0..20.min(repos) {
        let repo = seed_repo_name("bench/app", r);
        let plats = [
            ImageSpec::platform("linux", "amd64", None, &format!("idx{r}")),
            ImageSpec::platform("linux", "arm64", Some("v8"), &format!("idx{r}")),
        ];
        seeder.push_index(&repo, "multi", &plats).await;
    }
}

fn berth_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let p = exe.parent().expect("target dir").join("berth");
    assert!(p.is_file(), "{} not found: build it with `cargo build --release -p berth-cli`", p.display());
    p
}

/// What [`run_measured`] saw of a child process.
struct Measured {
    wall: Duration,
    /// Peak RSS, KiB.
    rss_kib: u64,
    stdout: String,
    user: f64,
    sys: f64,
}

impl Measured {
    /// User + system CPU seconds.
    fn cpu_seconds(&self) -> f64 {
        self.user + self.sys
    }
}

/// Runs a command and returns its wall time, peak RSS, CPU time and stdout; prints its CPU time.
fn run_measured(cmd: &mut Command) -> Measured {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit()).spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    // The child's peak RSS from its own VmHWM, sampled while it runs: wait4's ru_maxrss is no use here,
    // since a child spawned with vfork (as Rust spawns) records the parent's peak at its exec, so that
    // ru_maxrss reported the benchmark's own memory whenever it was the larger.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let hwm = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
                if let Some(kib) = hwm {
                    peak = peak.max(kib);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let mut stdout = child.stdout.expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let elapsed = start.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let rss_kib = sampler.join().expect("sampler");
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    eprintln!(
        "    wall {:.2} s, CPU user {:.2} s + sys {:.2} s",
        elapsed.as_secs_f64(),
        cpu(usage.ru_utime),
        cpu(usage.ru_stime)
    );
    let out = reader.join().expect("reader");
    assert!(std::process::ExitStatus::from_raw(status).success(), "{cmd:?} failed: {out}");
    Measured { wall: elapsed, rss_kib, stdout: out, user: cpu(usage.ru_utime), sys: cpu(usage.ru_stime) }
}

/// User + system CPU seconds a process has used so far (from /proc).
fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let a = args();
    if a.search_only {
        let data = tempfile::tempdir().expect("data dir");
        let (p50, p95, cached) = search_latency(data.path()).await;
        println!("(e) search+sort {cached} tags  p50 {p50:.2} ms  p95 {p95:.2} ms  (target p95 <= 20 ms)");
        return;
    }
    let window = window_bench::Shape { small_repos: 900, small_tags: 1000, big_tags: a.window_big_tags };
    if a.window_only {
        println!("{}", window_bench::run(&window).await);
        return;
    }
    if a.backends_only {
        println!("{}", backend_bench::run(a.repos, a.tags, a.concurrency).await);
        return;
    }
    if a.copy_only {
        copy_bench::run(a.copy_mb).await;
        return;
    }
    let berth = berth_binary();
    if a.scale_only {
        let seed = a.seed_cache.as_deref();
        println!("{}", scale_bench::run(&berth, seed, a.scale_repos, a.scale_tags, a.concurrency).await);
        return;
    }
    eprintln!("seeding {} repositories × {} tags …", a.repos, a.tags);
    let mut reg = match a.registry_gogc {
        Some(g) => Registry::builder().gogc(g).start().await,
        None => Registry::start().await,
    };
    if let Some(g) = a.registry_gogc {
        eprintln!("registry started with GOGC={g}");
    }
    let t = Instant::now();
    let cached = a.seed_cache.as_ref().map(|d| d.join(format!("{}x{}", a.repos, a.tags)));
    if let Some(dir) = cached.as_ref().filter(|d| d.join("docker").is_dir()) {
        reg.stop();
        copy_tree(dir, reg.storage_dir());
        reg.restart(false).await;
    } else {
        seed(&reg, a.repos, a.tags).await;
        if let Some(dir) = &cached {
            std::fs::create_dir_all(dir).expect("seed cache dir");
            copy_tree(reg.storage_dir(), dir);
        }
    }
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());

    // (a) + (f): the real CLI, as a child process.
    let data = tempfile::tempdir().expect("data dir");
    let status = Command::new(&berth)
        .arg("--data-dir")
        .arg(data.path())
        .args(["profile", "add", "bench", "--url", &reg.url()])
        .output()
        .expect("profile add");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let registry_pid = reg.pid().expect("registry running");
    let sync = |label: &str| {
        eprintln!("{label} …");
        let cpu_before = process_cpu_seconds(registry_pid);
        // BENCH_WRAP="perf record -g -o /tmp/perf.data --": run the sync under a profiler or tracer (the
        // figures then include its overhead).
        let wrap: Vec<String> =
            std::env::var("BENCH_WRAP").unwrap_or_default().split_whitespace().map(str::to_string).collect();
        let mut cmd = match wrap.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&berth);
                c
            }
            None => Command::new(&berth),
        };
        let m = run_measured(cmd.arg("--data-dir").arg(data.path()).args([
            "sync",
            "bench",
            "--json",
            "--concurrency",
            &a.concurrency.to_string(),
        ]));
        let v: serde_json::Value = serde_json::from_str(&m.stdout).expect("sync JSON");
        let registry_cpu = process_cpu_seconds(registry_pid) - cpu_before;
        eprintln!("    registry CPU {registry_cpu:.2} s");
        (m, v, registry_cpu)
    };
    let (full_m, full, full_registry_cpu) = sync("(a) full sync");
    let (full_wall, full_rss) = (full_m.wall, full_m.rss_kib);
    let full_requests = full["requests"].as_f64().unwrap_or(0.0);
    let full_cpu_us = full_m.cpu_seconds() / full_requests * 1e6;
    let full_rate = full_requests / full_wall.as_secs_f64();
    if a.sync_only {
        let (lists, manifests, blobs, checks) = sync_requests(data.path(), "bench").await;
        let resync = interleave(&[&lists, &checks]);
        for (name, paths) in [("lists", &lists), ("manifests", &manifests), ("blobs", &blobs), ("resync", &resync)] {
            let before = process_cpu_seconds(registry_pid);
            let rate = measure_wrk(data.path(), name, paths, a.concurrency, &reg.url());
            let cpu = process_cpu_seconds(registry_pid) - before;
            eprintln!("(b) wrk {name} ({} paths): {rate:.0} req/s, registry CPU {cpu:.2} s", paths.len());
        }
        let (re_m, re, _) = sync("(d) resync");
        let re_wall = re_m.wall;
        let re_requests = re["requests"].as_f64().unwrap_or(0.0);
        println!("{}", storage_resync(&berth, data.path(), &reg, re_wall.as_secs_f64(), re_requests, &sync).await);
        println!(
            "(a) {:.2} s {} requests {:.0} req/s, Berth CPU {full_cpu_us:.0} µs per request; (d) {:.2} s {} \
             requests, {:.0} µs per request; (d)/(a) = {:.3}",
            full_wall.as_secs_f64(),
            full_requests,
            full_rate,
            re_wall.as_secs_f64(),
            re["requests"],
            re_m.cpu_seconds() / re["requests"].as_f64().unwrap_or(1.0) * 1e6,
            re_wall.as_secs_f64() / full_wall.as_secs_f64()
        );
        return;
    }

    // (b) the registry's capacity for the same requests (tag lists, manifests by tag, config blobs, in
    // Berth's order) at the same concurrency, with wrk.
    eprintln!("(b) wrk …");
    let (lists, manifests, blobs, checks) = sync_requests(data.path(), "bench").await;
    let mix = interleave(&[&lists, &manifests, &blobs]);
    let wrk_rate = measure_wrk(data.path(), "mix", &mix, a.concurrency, &reg.url());
    // For (d): what a resync sends (tag lists, and a conditional request per tag that the registry
    // answers 304), at the same concurrency.
    let resync = interleave(&[&lists, &checks]);
    let wrk_resync = measure_wrk(data.path(), "resync", &resync, a.concurrency, &reg.url());
    // (c) sequential skopeo inspect --raw + --config on a sample, extrapolated to every tag.
    eprintln!("(c) skopeo on {} tags …", a.skopeo_sample);
    let t = Instant::now();
    let mut n = 0;
    'outer: for r in 0..a.repos {
        for tg in 0..a.tags {
            if n == a.skopeo_sample {
                break 'outer;
            }
            let image = format!("docker://{}/{}:{}", reg.host(), seed_repo_name("bench/app", r), seed_tag_name(tg));
            for extra in [&["--raw"][..], &["--config", "--raw"][..]] {
                let o = Command::new("skopeo")
                    .args(["inspect", "--tls-verify=false"])
                    .args(extra)
                    .arg(&image)
                    .output()
                    .expect("skopeo");
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
            n += 1;
        }
    }
    let total_tags = full["tags"].as_f64().unwrap_or(1.0);
    let skopeo_total = t.elapsed().as_secs_f64() / n as f64 * total_tags;

    // (d) resync, nothing changed.
    let (re_m, re, re_registry_cpu) = sync("(d) resync");
    let (re_wall, re_rss) = (re_m.wall, re_m.rss_kib);
    let re_requests = re["requests"].as_f64().unwrap_or(0.0);
    let re_rate = re_requests / re_wall.as_secs_f64();
    let re_cpu_us = re_m.cpu_seconds() / re_requests.max(1.0) * 1e6;

    // (p) the same resync with the profile's storage root set: the tags from the storage's files.
    let storage_line = storage_resync(&berth, data.path(), &reg, re_wall.as_secs_f64(), re_requests, &sync).await;

    // (e) search and sort over 100,000 cached tags.
    eprintln!("(e) search over 100,000 cached tags …");
    let (p50, p95, cached) = search_latency(data.path()).await;

    let ratio_b = full_rate / wrk_rate;
    let ratio_d_wrk = re_rate / wrk_resync;
    let ratio_c = skopeo_total / full_wall.as_secs_f64();
    let ratio_d = re_wall.as_secs_f64() / full_wall.as_secs_f64();
    let peak_mb = full_rss.max(re_rss) as f64 / 1024.0;
    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    println!(
        "Berth sync benchmark: {} repositories, {} tags, concurrency {}",
        full["repositories"], full["tags"], a.concurrency
    );
    println!(
        "(a) full sync           {:8.2} s  {:6.0} requests  {:7.0} req/s",
        full_wall.as_secs_f64(),
        full_requests,
        full_rate
    );
    // Issue 22 restated issue 4's (c) "skopeo >= 30x slower" and (d) "resync <= 0.15 x full sync": both lie
    // beyond what registry 2.8 serves on a small machine. The targets are now ratios to the registry's
    // own capacity for the same requests; skopeo and (d)/(a) are comparisons.
    println!(
        "(b) registry (wrk)      {wrk_rate:7.0} req/s for the same requests  -> (a)/(b) = {ratio_b:.2}  (target >= 0.9) {}",
        ok(ratio_b >= 0.9)
    );
    println!(
        "    Berth CPU           {full_cpu_us:7.0} µs per request during (a)  (target <= 150) {}",
        ok(full_cpu_us <= 150.0)
    );
    println!("(c) skopeo sequential   {skopeo_total:8.1} s (extrapolated from {n} tags)  -> (c)/(a) = {ratio_c:.1}  (a comparison)");
    println!(
        "(d) resync              {:8.2} s  {re_requests:.0} requests  {re_rate:.0} req/s; wrk {wrk_resync:.0} req/s -> {ratio_d_wrk:.2} \
         (target >= 0.9) {}; (d)/(a) = {ratio_d:.3} (a comparison); Berth CPU {re_cpu_us:.0} µs per request",
        re_wall.as_secs_f64(),
        ok(ratio_d_wrk >= 0.9)
    );
    println!(
        "(e) search+sort {cached} tags  p50 {p50:.2} ms  p95 {p95:.2} ms  (target p95 <= 20 ms) {}",
        ok(p95 <= 20.0)
    );
    println!("(f) peak RSS of sync    {peak_mb:8.1} MB  (target <= 200 MB) {}", ok(peak_mb <= 200.0));
    println!("{storage_line}");
    // What bounds (a) and (d) on this machine: the registry's own CPU for the requests they need.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    println!(
        "registry CPU: {full_registry_cpu:.1} s during (a) (floor {:.1} s on {cores} cores), {re_registry_cpu:.1} s \
         during (d)",
        full_registry_cpu / cores,
    );
    println!(
        "{}",
        serde_json::json!({
            "full_sync_s": full_wall.as_secs_f64(), "requests": full_requests, "sync_req_per_s": full_rate,
            "wrk_req_per_s": wrk_rate, "ratio_a_b": ratio_b, "skopeo_s": skopeo_total, "ratio_c_a": ratio_c,
            "resync_s": re_wall.as_secs_f64(), "ratio_d_a": ratio_d, "search_p50_ms": p50, "search_p95_ms": p95,
            "peak_rss_mb": peak_mb, "manifests_fetched": full["manifests_fetched"],
            "registry_cpu_full_s": full_registry_cpu, "registry_cpu_resync_s": re_registry_cpu,
            "wrk_resync_req_per_s": wrk_resync, "registry_gogc": a.registry_gogc,
            "cpu_us_per_request_full": full_cpu_us, "cpu_us_per_request_resync": re_cpu_us,
            "resync_req_per_s": re_rate, "ratio_d_wrk": ratio_d_wrk,
        })
    );
    println!("{}", backend_bench::run(a.repos, a.tags, a.concurrency).await);
    copy_bench::run(a.copy_mb).await;
    if !a.no_window {
        println!("{}", window_bench::run(&window).await);
    }
    if !a.no_scale {
        let seed = a.seed_cache.as_deref();
        println!("{}", scale_bench::run(&berth, seed, a.scale_repos, a.scale_tags, a.concurrency).await);
    }
}

/// (p): sets the profile's storage root (the registry's own folder, filesystem driver) and resyncs:
/// every tag's digest from one `find` over the storage instead of a tag list and a HEAD per tag.
/// Checked first: the storage's tag → digest map is the one the normal resync left in the cache.
async fn storage_resync(
    berth: &Path,
    data: &Path,
    reg: &Registry,
    normal_s: f64,
    normal_requests: f64,
    sync: &dyn Fn(&str) -> (Measured, serde_json::Value, f64),
) -> String {
    let root = reg.storage_dir().to_str().expect("utf-8 storage path").to_string();
    let storage = berth_backend::Storage { root: root.clone(), remote: None };
    let command = berth_backend::storage_tags_command(&storage).expect("command");
    let out = std::process::Command::new("sh").args(["-c", &command]).output().expect("find");
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    let from_storage: std::collections::BTreeMap<(String, String), String> =
        berth_backend::parse_storage_tags(&String::from_utf8_lossy(&out.stdout))
            .into_iter()
            .flat_map(|(repo, tags)| tags.into_iter().map(move |(t, d)| ((repo.clone(), t), d)))
            .collect();
    let store = Store::open(data).await.expect("store");
    let p = store.profile("bench").await.expect("profile");
    let mut cached = std::collections::BTreeMap::new();
    for repo in store.repository_summaries(p.id).await.expect("repositories") {
        for (t, row) in store.cached_tags(p.id, &repo.name).await.expect("tags") {
            cached.insert((repo.name.clone(), t), row.digest);
        }
    }
    store.close().await;
    assert_eq!(from_storage.len(), cached.len(), "(p) the storage lists as many tags as the cache holds");
    assert!(from_storage == cached, "(p) the storage's tag → digest map differs from the normal resync's");

    let set = Command::new(berth)
        .arg("--data-dir")
        .arg(data)
        .args(["profile", "edit", "bench", "--storage-root", &root])
        .output()
        .expect("profile edit");
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let (m, v, _) = sync("(p) resync from the storage");
    let clear = Command::new(berth)
        .arg("--data-dir")
        .arg(data)
        .args(["profile", "edit", "bench", "--storage-root", ""])
        .output()
        .expect("profile edit");
    assert!(clear.status.success(), "{}", String::from_utf8_lossy(&clear.stderr));
    assert_eq!(v["tags"].as_u64(), Some(cached.len() as u64), "(p) every tag still cached: {v}");
    let s = m.wall.as_secs_f64();
    let ratio = s / normal_s;
    format!(
        "(p) resync from the storage {s:6.2} s  {} requests + 1 command ({} tags; identical tag → digest map)          vs (d) {normal_s:.2} s {normal_requests:.0} requests -> {ratio:.3} (target <= 0.05) {}",
        v["requests"],
        cached.len(),
        if ratio <= 0.05 { "ok" } else { "MISSED" }
    )
}

/// The requests a full sync sends, read back from the synced cache, in Berth's order: per repository its
/// tag list, a manifest GET per tag, then a GET per config blob (index children by digest, and theirs).
/// Returns (tag lists, manifests, blobs, and a resync's conditional manifest requests by tag).
async fn sync_requests(
    data: &Path,
    profile: &str,
) -> (Vec<WrkRequest>, Vec<WrkRequest>, Vec<WrkRequest>, Vec<WrkRequest>) {
    use berth_registry::Manifest;
    let store = Store::open(data).await.expect("store");
    let p = store.profile(profile).await.expect("profile");
    let (mut lists, mut manifests, mut blobs, mut checks) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for repo in store.repository_summaries(p.id).await.expect("repositories") {
        lists.push(WrkRequest::get(format!("/v2/{}/tags/list", repo.name)));
        let mut todo = Vec::new();
        for t in store.repository_tags(p.id, &repo.name, TagSort::Name).await.expect("tags") {
            let path = format!("/v2/{}/manifests/{}", repo.name, t.name);
            manifests.push(WrkRequest::get(path.clone()));
            checks.push(WrkRequest { path, if_none_match: Some(t.digest.clone()) });
            todo.push(t.digest);
        }
        while let Some(d) = todo.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            let Some(raw) = store.manifest_raw(&d).await.expect("manifest") else { continue };
            match Manifest::parse(None, &raw) {
                Ok((_, Manifest::Image(i))) => {
                    blobs.push(WrkRequest::get(format!("/v2/{}/blobs/{}", repo.name, i.config.digest)))
                }
                Ok((_, Manifest::Index(i))) => {
                    for c in i.manifests {
                        manifests.push(WrkRequest::get(format!("/v2/{}/manifests/{}", repo.name, c.digest)));
                        todo.push(c.digest.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    store.close().await;
    (lists, manifests, blobs, checks)
}

/// A GET for wrk, conditional (`If-None-Match`) when it has a digest.
#[derive(Clone)]
struct WrkRequest {
    path: String,
    if_none_match: Option<String>,
}

impl WrkRequest {
    fn get(path: String) -> WrkRequest {
        WrkRequest { path, if_none_match: None }
    }
}

/// The lists merged evenly (each at its own pace), so that any stretch of the result, such as the part
/// wrk gets through in 10 s, has the kinds of request in the sync's proportions.
fn interleave<T: Clone>(lists: &[&Vec<T>]) -> Vec<T> {
    let mut keyed: Vec<(f64, &T)> = lists
        .iter()
        .flat_map(|l| l.iter().enumerate().map(move |(i, p)| ((i as f64 + 0.5) / l.len() as f64, p)))
        .collect();
    keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite"));
    keyed.into_iter().map(|(_, p)| p.clone()).collect()
}

/// A wrk script that GETs `requests` in turn, with the Accept list Berth sends (and `If-None-Match` where
/// given: the registry answers 304, as to a resync's conditional HEAD). GET, not HEAD: wrk waits for a
/// body after HEAD and stalls.
fn write_wrk_script(dir: &Path, name: &str, requests: &[WrkRequest]) -> PathBuf {
    // The requests in a file the script reads: as literals in the script, LuaJIT's limit of constants
    // per function (about 65,000) is met at the scale benchmark's 100,000 tags, and wrk then falls back
    // to `GET /` (which the registry answers 200, fast).
    let lines: Vec<String> =
        requests.iter().map(|r| format!("{}\t{}", r.path, r.if_none_match.as_deref().unwrap_or(""))).collect();
    let list = dir.join(format!("{name}.requests"));
    std::fs::write(&list, lines.join("\n") + "\n").expect("write wrk requests");
    let script = format!(
        "local reqs = {{}}\nfor line in io.lines(\"{}\") do\n  local p, d = line:match(\"^([^\\t]*)\\t(.*)$\")\n\
         reqs[#reqs + 1] = {{p, d}}\nend\nassert(#reqs == {}, \"wrk script: requests not read\")\n\
         local i = 0\nlocal accept = \"{}\"\nwrk.method = \"GET\"\n\
         wrk.headers[\"Accept\"] = accept\n\
         request = function()\n  i = i % #reqs + 1\n  local r = reqs[i]\n\
         if r[2] == \"\" then return wrk.format(nil, r[1]) end\n\
         return wrk.format(nil, r[1], {{[\"Accept\"] = accept, [\"If-None-Match\"] = '\"' .. r[2] .. '\"'}})\nend\n",
        list.display(),
        requests.len(),
        berth_registry_accept()
    );
    let p = dir.join(format!("{name}.lua"));
    std::fs::write(&p, script).expect("write wrk script");
    p
}

/// Requests per second wrk gets from the registry for `paths` at `concurrency`, over 10 s.
fn measure_wrk(dir: &Path, name: &str, paths: &[WrkRequest], concurrency: usize, url: &str) -> f64 {
    let script = write_wrk_script(dir, name, paths);
    let wrk = Command::new("wrk")
        .args(["-t2", &format!("-c{concurrency}"), "-d10s", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("wrk (scripts/install-deps.sh bench installs it)");
    let out = String::from_utf8_lossy(&wrk.stdout).to_string();
    // Errors are answered fast: a rate that counts them would flatter the registry.
    assert!(!out.contains("Non-2xx or 3xx responses"), "wrk {name}: the registry answered errors:\n{out}");
    out.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("wrk output: {out}"))
}

fn berth_registry_accept() -> &'static str {
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
}

fn sha256_hex(data: &[u8]) -> String {
    berth_registry::Digest::sha256(data).to_string()
}

/// Fills a second profile with 100,000 tags (1,000 repositories × 100) and times searches and sorts.
async fn search_latency(data: &Path) -> (f64, f64, usize) {
    let store = Store::open(data).await.expect("store");
    let p = store
        .add_profile(&NewProfile {
            name: "synthetic".into(),
            url: "http://synthetic.invalid/".into(),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .expect("profile");
    // Real digests are random hex (sha256 of content): model them so, not as mostly-zero numbers, whose
    // trigrams would be in every row.
    let manifests: Vec<String> = (0..500u32).map(|i| sha256_hex(&i.to_le_bytes())).collect();
    for (i, d) in manifests.iter().enumerate() {
        store
            .insert_manifest(&ManifestRecord {
                digest: d.clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                raw: b"{}".to_vec(),
                created: Some(format!("2024-{:02}-{:02}T00:00:00Z", i % 12 + 1, i % 28 + 1)),
                total_size: 1000 + (i as u64 * 7919) % 100_000,
                ..Default::default()
            })
            .await
            .expect("manifest");
    }
    for r in 0..1000 {
        let tags: Vec<TagRecord> = (0..100)
            .map(|t| TagRecord {
                name: format!("v{}.{}.{t}", r % 7, t % 13),
                digest: manifests[(r * 100 + t) % manifests.len()].clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            })
            .collect();
        store.replace_repository_tags(p.id, &format!("team{}/service{r:04}", r % 10), &tags).await.expect("tags");
    }
    let digest_prefix = manifests[42][..19].to_string(); // "sha256:" + 12 hex, as users paste short digests
    let queries = ["service0042", "v3.1", "team7/", ":v1.12.9", "nomatch-at-all", digest_prefix.as_str()];
    let sorts = [TagSort::Name, TagSort::Created, TagSort::Size];
    let mut times = Vec::new();
    for round in 0..20 {
        for q in queries {
            for s in sorts {
                let t = Instant::now();
                let (total, rows) = store.search_tags(p.id, q, s, 100).await.expect("search");
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                if round == 0 {
                    assert!(rows.len() as u64 <= total);
                }
            }
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (percentile(&times, 0.5), percentile(&times, 0.95), 100_000)
}
