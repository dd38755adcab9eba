//! The window benchmark (issue 22): the real desktop app (release build) on a cache of a million tags,
//! driven through tauri-driver and timed from the page (`performance.now()`), p95 over 20 tries of:
//! opening a repository of 100,000 tags until its first rows are painted, a change of the sort
//! column, a keystroke in the registry-wide search until its results are painted, and cold start to a
//! painted window; then the idle memory (PSS) of the app and its WebKit processes.
//!
//! The cache is seeded straight into SQLite through `berth_store` (no registry is needed to browse a
//! cache): one profile, 900 repositories of 1,000 tags and one (`big/app`) of 100,000, over 5,000
//! image manifests with spread creation times and sizes. `--window-only` runs just this part; it needs
//! the app built in release beside this binary (`make bench` builds it), tauri-driver
//! (`TAURI_DRIVER`), WebKitWebDriver, and a display (`make bench` runs under scripts/headless.sh).
//!
//! How each figure is taken (the page's own clock, so WebDriver's round trips are not in it):
//! a script installed in the page notes `performance.now()` just before the action (a click it makes,
//! or the keydown of a real keystroke WebDriver types), checks on every animation frame whether the
//! page shows the expected result (the first row the store says that sort puts first; the search's
//! first hit and total), and stops the clock at the frame after the one that first showed it (that
//! frame has been painted by then). Cold start: from the start of the app's process (as a user's launcher
//! starts it; `/proc/PID/stat`, 10 ms ticks) to the `berth:repositories-painted` mark the window sets
//! once the first profile's repository tree is on screen, on the same system clock
//! (`performance.timeOrigin`); beside it, the same from just before the WebDriver session is asked for
//! (tauri-driver and WebKitWebDriver start first, then the app), which a user does not wait for.
//! The operating system's file cache is warm (the cache file was just written): "cold" is the app's
//! process, not the disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_e2e::AppSession;
use berth_store::{ManifestRecord, NewProfile, ProfileKind, Store, SyncCounts, TagRecord, TagSort};

use crate::{percentile, sha256_hex};

const PROFILE: &str = "million";
const BIG: &str = "big/app";
/// A small repository beside the big one (the tries open it in between).
const SMALL: &str = "big/app-small";
/// Tries of each measure (p95 over 20, as the issue asks); `BENCH_WINDOW_TRIES=N` for quick experiments.
fn tries() -> usize {
    std::env::var("BENCH_WINDOW_TRIES").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(20)
}

/// What the bench seeds: `small_repos` repositories of `small_tags` tags, and `BIG` with `big_tags`.
pub struct Shape {
    pub small_repos: usize,
    pub small_tags: usize,
    pub big_tags: usize,
}

impl Shape {
    pub fn total(&self) -> usize {
        self.small_repos * self.small_tags + self.big_tags
    }
}

fn tag_record(name: String, digest: &str) -> TagRecord {
    TagRecord { name, digest: digest.to_string(), media_type: "application/vnd.oci.image.manifest.v1+json".into() }
}

/// Seeds the cache in `data` (a data directory) and marks the profile synced.
async fn seed(data: &Path, shape: &Shape) {
    let store = Store::open(data).await.expect("store");
    let p = store
        .add_profile(&NewProfile {
            name: PROFILE.into(),
            url: "http://million.invalid/".into(),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .expect("profile");
    let run = store.start_sync_run(p.id).await.expect("sync run");
    let manifests: Vec<String> = (0..5000u32).map(|i| sha256_hex(&i.to_le_bytes())).collect();
    for (i, d) in manifests.iter().enumerate() {
        let config = sha256_hex(format!("config{i}").as_bytes());
        let layer = sha256_hex(format!("layer{}", i % 700).as_bytes());
        store
            .insert_manifest(&ManifestRecord {
                digest: d.clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                raw: format!("{{\"schemaVersion\":2,\"n\":{i}}}").into_bytes(),
                created: Some(format!(
                    "20{:02}-{:02}-{:02}T{:02}:{:02}:00Z",
                    20 + i % 6,
                    i % 12 + 1,
                    i % 28 + 1,
                    i % 24,
                    (i * 7) % 60
                )),
                os: Some("linux".into()),
                architecture: Some(if i % 5 == 0 { "arm64" } else { "amd64" }.into()),
                config_digest: Some(config.clone()),
                total_size: 1_000_000 + (i as u64 * 7919 * 104_729) % 900_000_000,
                blobs: vec![
                    (config, 1500, "application/vnd.oci.image.config.v1+json".into()),
                    (layer, 30_000_000, "application/vnd.oci.image.layer.v1.tar+gzip".into()),
                ],
                ..Default::default()
            })
            .await
            .expect("manifest");
    }
    // Digests spread over the tags so that no sort follows another.
    let pick = |r: usize, t: usize| manifests[(r * 7919 + t * 104_729) % manifests.len()].as_str();
    for r in 0..shape.small_repos {
        let tags: Vec<TagRecord> =
            (0..shape.small_tags).map(|t| tag_record(format!("v{}.{}.{t}", r % 7, t % 13), pick(r, t))).collect();
        let name = if r == 0 { SMALL.to_string() } else { format!("team{:02}/service{r:04}", r % 30) };
        store.replace_repository_tags(p.id, &name, &tags).await.expect("tags");
    }
    let big: Vec<TagRecord> =
        (0..shape.big_tags).map(|t| tag_record(format!("build-{t:06}"), pick(shape.small_repos, t))).collect();
    store.replace_repository_tags(p.id, BIG, &big).await.expect("big repository");
    let counts =
        SyncCounts { repositories: shape.small_repos as u64 + 1, tags: shape.total() as u64, ..Default::default() };
    store.finish_sync_run(run, "ok", &counts, None).await.expect("finish sync run");
    // As a sync does at its end.
    let t = Instant::now();
    store.refresh_repository_sizes(p.id).await.expect("repository sizes");
    eprintln!("window: repository sizes computed in {:.1} s", t.elapsed().as_secs_f64());
    store.checkpoint().await.expect("checkpoint");
    store.close().await;
}

/// What the window should show first, read from the store.
struct Expect {
    /// First tag name of `BIG` for each sort the tries use.
    first: HashMap<&'static str, String>,
    searches: Vec<Search>,
}

/// A search query with its first hit ("repository:tag", sorted by name), its total, and the total of
/// the query but its last character.
struct Search {
    query: String,
    first: String,
    total: u64,
    head_total: u64,
}

async fn expectations(data: &Path) -> Expect {
    let store = Store::open(data).await.expect("store");
    let p = store.profile(PROFILE).await.expect("profile");
    let mut first = HashMap::new();
    for (key, sort) in [("name", TagSort::Name), ("created", TagSort::Created), ("size", TagSort::Size)] {
        let tags = store.repository_tags(p.id, BIG, sort).await.expect("tags");
        first.insert(key, tags.first().expect("a tag").name.clone());
    }
    // Queries a user types: a service, a version, a build number, a namespace; each try types the
    // last character (the head's results are awaited first).
    let mut searches = Vec::new();
    for i in 0..tries() {
        let t = 100 + i * 17;
        let q = match i % 4 {
            0 => format!("service{:04}", 1 + i * 37),
            1 => format!("v{}.{}.{t}", i % 7, t % 13),
            2 => format!("build-{:06}", 1000 + i * 211),
            _ => format!("team{:02}/service", i % 30),
        };
        let (total, hits) = store.search_tags(p.id, &q, TagSort::Name, 1).await.expect("search");
        let hit = hits.first().unwrap_or_else(|| panic!("no hit for {q}"));
        let (head_total, _) = store.search_tags(p.id, &q[..q.len() - 1], TagSort::Name, 1).await.expect("search");
        searches.push(Search {
            query: q.clone(),
            first: format!("{}:{}", hit.repository, hit.name),
            total,
            head_total,
        });
    }
    store.close().await;
    Expect { first, searches }
}

/// Installs the frame-by-frame check `ready` (a JS expression) in the page; `start` is a JS statement
/// run right after the clock starts (the action), or empty when a keydown starts the clock.
async fn arm(s: &AppSession, ready: &str, start: &str, on_keydown: Option<&str>) {
    let script = format!(
        "const b = window.__bench = {{ t0: null, ms: null }};
         const ready = () => {{ try {{ return !!({ready}); }} catch (e) {{ return false; }} }};
         const step = () => {{
           if (ready()) requestAnimationFrame(() => {{ b.ms = performance.now() - b.t0; }});
           else requestAnimationFrame(step);
         }};
         const go = (t) => {{ b.t0 = t; requestAnimationFrame(step); }};
         {keydown}
         {start}
         return true;",
        keydown = match on_keydown {
            Some(css) => format!(
                "document.querySelector({css:?}).addEventListener('keydown', (e) => go(e.timeStamp), {{ once: true }});"
            ),
            None => String::new(),
        },
        start = if start.is_empty() { String::new() } else { format!("go(performance.now()); {start}") },
    );
    s.js(&script).await;
}

/// Waits for the armed check; returns its milliseconds.
async fn measured(s: &AppSession, what: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(ms) = s.js("return window.__bench && window.__bench.ms;").await.as_f64() {
            return ms;
        }
        if Instant::now() > deadline {
            let shot = s.screenshot("window-bench-timeout.png").await;
            panic!("{what}: not shown within 60 s (screenshot {})", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn js_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The first tag row shows `name` (and the table is of `repo`).
fn first_row_is(repo: &str, name: &str) -> String {
    format!(
        "document.querySelector('.tags h2.repo')?.textContent === {} && \
         document.querySelector('.tags .rows .tr')?.dataset.testid === 'tag-row' && \
         document.querySelector('.tags .rows .tr [data-testid=tag-name]')?.textContent === {}",
        js_str(repo),
        js_str(name)
    )
}

/// PSS in KiB of the app: the berth-desktop process and its descendants (WebKitWebProcess,
/// WebKitNetworkProcess), not the WebDriver processes.
fn app_pss_kib(s: &AppSession) -> (u64, String) {
    let mut total = 0;
    let mut parts = Vec::new();
    for (pid, name) in s.app_processes() {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        if let Some(kib) = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            total += kib;
            if std::env::var_os("BENCH_WINDOW_SMAPS").is_some() {
                eprintln!("  {name} {pid}: {}", largest_mappings(pid));
            }
            parts.push(format!("{name} {:.0}", kib as f64 / 1024.0));
        }
    }
    (total, parts.join(" + "))
}

/// `BENCH_WINDOW_SMAPS=1`: a process's largest mappings by PSS (MB), to see where its memory is.
fn largest_mappings(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut by_name: HashMap<String, u64> = HashMap::new();
    let mut name = String::new();
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let rest: Vec<&str> = f.collect();
            name = rest.get(4).map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or("[anon]".into());
        } else if first == "Pss:" {
            *by_name.entry(name.clone()).or_default() += f.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    let mut v: Vec<_> = by_name.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1));
    v.iter().take(10).map(|(n, k)| format!("{n} {:.1}", *k as f64 / 1024.0)).collect::<Vec<_>>().join(", ")
}

/// Starts the app on `data`; returns the session, the cold start in ms from the app's process start,
/// the part of it before the page began to load (GTK, WebKit's processes, the window), and the cold
/// start from just before the WebDriver session was asked for.
async fn start(data: &Path) -> (AppSession, f64, f64, f64) {
    let dir = data.to_string_lossy().to_string();
    let before = epoch_ms();
    // As a user gets it on this machine: the app chooses whether WebKit composites (src-tauri/rendering.rs).
    let s = AppSession::start_with_env(&[("BERTH_DATA_DIR", &dir), ("BERTH_COMPOSITING", "auto")]).await;
    let mark = "const m = performance.getEntriesByName('berth:repositories-painted')[0]; \
                return m ? [performance.timeOrigin, performance.timeOrigin + m.startTime] : null;";
    let deadline = Instant::now() + Duration::from_secs(60);
    let (origin, painted) = loop {
        if let Some(t) = s.js(mark).await.as_array().filter(|a| a.len() == 2) {
            break (t[0].as_f64().unwrap_or(0.0), t[1].as_f64().unwrap_or(0.0));
        }
        assert!(Instant::now() < deadline, "the window did not paint its repository tree within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exec = process_start_epoch_ms(s.app_processes()[0].0);
    (s, painted - exec, origin - exec, painted - before)
}

fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64() * 1000.0
}

/// When process `pid` started, in ms since the epoch: its start in clock ticks after boot
/// (`/proc/PID/stat`, field 22; 10 ms ticks) set against the boot clock now.
fn process_start_epoch_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the app's /proc stat");
    let rest = stat.rsplit_once(')').expect("stat's command").1;
    // Fields after the command start at field 3 (state): field 22 is the 20th of them.
    let ticks: f64 = rest.split_whitespace().nth(19).and_then(|v| v.parse().ok()).expect("stat's starttime");
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    let boot_now_ms = ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6;
    epoch_ms() - (boot_now_ms - ticks / hz * 1000.0)
}

fn p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (percentile(&v, 0.5), percentile(&v, 0.95))
}

/// The app binary beside this one (release), as `berth_e2e` expects it in `BERTH_E2E_APP`.
fn app_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let p = exe.parent().expect("target dir").join("berth-desktop");
    assert!(
        p.is_file(),
        "{} not found: build it with `make bench` (cargo build --release -p berth-desktop)",
        p.display()
    );
    p
}

pub async fn run(shape: &Shape) -> String {
    std::env::set_var("BERTH_E2E_APP", app_binary());
    // BENCH_WINDOW_DATA=DIR: seed the cache there once and reuse it on the next runs (same shape).
    let tmp = tempfile::tempdir().expect("data dir");
    let kept = std::env::var_os("BENCH_WINDOW_DATA").map(PathBuf::from);
    let data = kept.as_deref().unwrap_or(tmp.path());
    let t = Instant::now();
    if !data.join(berth_store::DB_FILE).is_file() {
        seed(data, shape).await;
    }
    let db_mb = std::fs::read_dir(data)
        .expect("data dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(berth_store::DB_FILE))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>() as f64
        / 1e6;
    eprintln!("window: seeded {} tags in {:.1} s ({db_mb:.0} MB)", shape.total(), t.elapsed().as_secs_f64());
    let expect = expectations(data).await;

    // Cold start, TRIES times; the last session stays for the rest.
    let mut cold = Vec::new();
    let mut before_page = Vec::new();
    let mut with_harness = Vec::new();
    let mut idle_start = (0, String::new());
    let mut session = None;
    for i in 0..tries() {
        let (s, ms, pre, harness) = start(data).await;
        cold.push(ms);
        before_page.push(pre);
        with_harness.push(harness);
        if i + 1 == tries() {
            tokio::time::sleep(Duration::from_secs(3)).await;
            idle_start = app_pss_kib(&s);
            session = Some(s);
        } else {
            s.close().await;
        }
    }
    let s = session.expect("a session");
    // Where the page's part of the last cold start went: the script loaded and run (DOMContentLoaded),
    // then each IPC call (measured by ui/src/lib/ipc.ts) until the tree's mark.
    let timeline = s
        .js("const n = performance.getEntriesByType('navigation')[0]; \
             const ipc = performance.getEntriesByType('measure').filter(e => e.name.startsWith('ipc ')) \
               .map(e => e.name.slice(4) + ' ' + Math.round(e.startTime) + '+' + Math.round(e.duration)); \
             const fcp = performance.getEntriesByName('first-contentful-paint')[0]; \
             const m = performance.getEntriesByName('berth:repositories-painted')[0]; \
             return 'DOMContentLoaded ' + Math.round(n ? n.domContentLoadedEventEnd : -1) + ' ms; first paint ' \
               + Math.round(fcp ? fcp.startTime : -1) + ' ms; IPC (start+duration ms): ' \
               + ipc.slice(0, 10).join(', ') + '; tree painted ' + Math.round(m ? m.startTime : -1) + ' ms';")
        .await
        .as_str()
        .unwrap_or("")
        .to_string();
    s.wait_css(&format!("[data-testid=profile-item][data-name='{PROFILE}'], [data-testid=repo-filter]"), 30).await;

    // Open the big repository (after the small one) until its first rows are painted.
    s.set_value("[data-testid=repo-filter]", "big/app", "input").await;
    s.wait_css(&format!("[data-testid=repo-item][data-path='{BIG}']"), 30).await;
    s.wait_css(&format!("[data-testid=repo-item][data-path='{SMALL}']"), 30).await;
    let mut open = Vec::new();
    for _ in 0..tries() {
        s.click(&format!("[data-testid=repo-item][data-path='{SMALL}']"), 10).await;
        s.wait_js(&first_row_is(SMALL, "v0.0.0"), "the small repository's rows", 30).await;
        let click = format!("document.querySelector(\"[data-testid=repo-item][data-path='{BIG}']\").click();");
        arm(&s, &first_row_is(BIG, &expect.first["name"]), &click, None).await;
        open.push(measured(&s, "open the big repository").await);
    }
    let count = s.texts("[data-testid=tag-count]").await.join(" ");
    assert!(count.contains("100,000") || count.contains(&shape.big_tags.to_string()), "tag count shown: {count}");

    // Change the sort column: name → created → size → name …
    let mut sort = Vec::new();
    let cycle = ["created", "size", "name"];
    for i in 0..tries() {
        let key = cycle[i % cycle.len()];
        let click = format!("document.querySelector('[data-testid=sort-{key}]').click();");
        arm(&s, &first_row_is(BIG, &expect.first[key]), &click, None).await;
        sort.push(measured(&s, &format!("sort by {key}")).await);
    }
    // Where the time of (k) and (l) goes: the two IPC calls as the page sees them (the store's query,
    // serialization, the hand-over to WebKit and JSON.parse), and the store's own query time.
    let mut diag = String::new();
    for sort in ["name", "created"] {
        let script = format!(
            "window.__diag = null; const I = window.__TAURI_INTERNALS__; (async () => {{ \
               const a = {{ profile: '{PROFILE}', repository: '{BIG}', sort: '{sort}', filter: null }}; \
               const t0 = performance.now(); const names = await I.invoke('list_tag_names', a); \
               const t1 = performance.now(); \
               await I.invoke('tags_named', {{ profile: '{PROFILE}', repository: '{BIG}', names: names.slice(0, 60) }}); \
               window.__diag = [t1 - t0, performance.now() - t1]; }})(); return true;"
        );
        let mut calls = Vec::new();
        for _ in 0..5 {
            s.js(&script).await;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let v = s.js("return window.__diag;").await;
                if let Some(a) = v.as_array() {
                    calls.push((a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0)));
                    break;
                }
                assert!(Instant::now() < deadline, "IPC timing did not finish");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let store = Store::open(data).await.expect("store");
        let pid = store.profile(PROFILE).await.expect("profile").id;
        let by = if sort == "name" { TagSort::Name } else { TagSort::Created };
        let t = Instant::now();
        let n = store.repository_tag_names(pid, BIG, by).await.expect("names").len();
        let query_ms = t.elapsed().as_secs_f64() * 1000.0;
        store.close().await;
        let (names_ms, _) = p95(calls.iter().map(|c| c.0).collect());
        let (rows_ms, _) = p95(calls.iter().map(|c| c.1).collect());
        diag += &format!(
            "    by {sort}: list_tag_names ({n} names) {names_ms:.0} ms in the page, of which the store's query \
             {query_ms:.0} ms; tags_named (60 rows) {rows_ms:.0} ms\n"
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_big = app_pss_kib(&s);

    // A keystroke in the registry-wide search: the query but its last character is set first (and its
    // results awaited); the last character is a real keystroke.
    s.click("[data-testid=search-open]", 10).await;
    s.wait_css("[data-testid=search-input]", 10).await;
    let mut search = Vec::new();
    let total_is = |n: u64| {
        format!("document.querySelector('[data-testid=search-total]')?.textContent.replace(/[^0-9]/g, '') === '{n}'")
    };
    for q in &expect.searches {
        let (head, last) = q.query.split_at(q.query.len() - 1);
        s.set_value("[data-testid=search-input]", head, "input").await;
        s.wait_js(&total_is(q.head_total), "results of the query but its last character", 30).await;
        let ready = format!(
            "document.querySelector('[data-testid=search-hit] .ref')?.textContent === {} && {}",
            js_str(&q.first),
            total_is(q.total)
        );
        arm(&s, &ready, "", Some("[data-testid=search-input]")).await;
        s.type_into("[data-testid=search-input]", last).await;
        search.push(measured(&s, &format!("search {}", q.query)).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_search = app_pss_kib(&s);
    s.close().await;

    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    let (open50, open95) = p95(open);
    let (sort50, sort95) = p95(sort);
    let (search50, search95) = p95(search);
    let (cold50, cold95) = p95(cold);
    let (pre50, _) = p95(before_page);
    let (harness50, harness95) = p95(with_harness);
    let mb = |k: u64| k as f64 / 1024.0;
    let idle_max = mb(idle_start.0.max(idle_big.0).max(idle_search.0));
    let mut out = String::new();
    out += &format!(
        "Window benchmark: {} cached tags ({} repositories; {BIG}: {}), release build, {} tries each\n",
        shape.total(),
        shape.small_repos + 1,
        shape.big_tags,
        tries()
    );
    out += &format!(
        "(k) open {BIG} → first rows painted   p50 {open50:6.1} ms  p95 {open95:6.1} ms  (target <= 200) {}\n",
        ok(open95 <= 200.0)
    );
    out += &format!(
        "(l) change the sort column            p50 {sort50:6.1} ms  p95 {sort95:6.1} ms  (target <= 200) {}\n",
        ok(sort95 <= 200.0)
    );
    out += &diag;
    out += &format!(
        "(m) search keystroke → results        p50 {search50:6.1} ms  p95 {search95:6.1} ms  (target <= 150) {}\n",
        ok(search95 <= 150.0)
    );
    out += &format!(
        "(n) cold start → painted window       p50 {cold50:6.1} ms  p95 {cold95:6.1} ms  (target <= 1000) {}\n",
        ok(cold95 <= 1000.0)
    );
    out +=
        &format!("    of which before the page starts loading (process, GTK, WebKit's processes): p50 {pre50:.0} ms\n");
    out += &format!(
        "    from the WebDriver session's request instead (tauri-driver and WebKitWebDriver start the app): \
         p50 {harness50:.1} ms  p95 {harness95:.1} ms\n"
    );
    out += &format!("    the page of the last start, from its origin: {timeline}\n");
    out += &format!(
        "(o) idle PSS, app + WebKit processes: {:.0} MB after start ({}), {:.0} MB with {BIG} open ({}), \
         {:.0} MB after the searches ({})  (target <= 350) {}\n",
        mb(idle_start.0),
        idle_start.1,
        mb(idle_big.0),
        idle_big.1,
        mb(idle_search.0),
        idle_search.1,
        ok(idle_max <= 350.0)
    );
    out += &serde_json::json!({
        "window_tags": shape.total(), "open_p95_ms": open95, "sort_p95_ms": sort95, "search_p95_ms": search95,
        "cold_start_p95_ms": cold95, "cold_start_with_driver_p95_ms": harness95, "idle_pss_mb": idle_max, "cache_db_mb": db_mb,
    })
    .to_string();
    out
}
