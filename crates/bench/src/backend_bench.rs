//! Harbor and Nexus resyncs against a registry:2 resync of the same tags (issue 22, first target):
//! the same seed in the real registry behind each emulator; a full sync, then a resync with nothing
//! changed. Harbor's and Nexus's requests are counted in the emulators' access logs (their API and
//! `/v2`); registry:2's by the client (every request it sent to the registry behind Harbor). Targets:
//! Harbor ≤ 0.05 × and Nexus ≤ 0.15 × the registry:2 resync's requests, with identical tag → digest
//! maps in the three caches. `--backends-only` runs just this.

use std::collections::BTreeMap;
use std::time::Instant;

use berth_backend::{Backend, Harbor, Nexus, Registry2};
use berth_harbor::HarborClient;
use berth_nexus::NexusClient;
use berth_registry::{Credentials, RegistryClient, TlsOptions};
use berth_store::{NewProfile, ProfileKind, Store};
use berth_sync::{sync_profile, SyncOptions};
use berth_testkit::Seeder;
use tokio_util::sync::CancellationToken;

struct Cache {
    _dir: tempfile::TempDir,
    store: Store,
    pid: i64,
}

async fn cache(kind: ProfileKind) -> Cache {
    let dir = tempfile::tempdir().expect("cache dir");
    let store = Store::open(dir.path()).await.expect("store");
    let pid = store
        .add_profile(&NewProfile { name: "bench".into(), url: "http://127.0.0.1/".into(), kind, username: None })
        .await
        .expect("profile")
        .id;
    Cache { _dir: dir, store, pid }
}

async fn sync(c: &Cache, b: &dyn Backend, concurrency: usize) -> f64 {
    let t = Instant::now();
    let opts = SyncOptions { concurrency, ..SyncOptions::default() };
    let s = sync_profile(&c.store, c.pid, b, &opts, &CancellationToken::new(), &|_| {}).await.expect("sync");
    assert_eq!((s.status.as_str(), s.errors), ("ok", 0), "{s:?}");
    t.elapsed().as_secs_f64()
}

async fn tag_map(c: &Cache) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for r in c.store.repository_summaries(c.pid).await.expect("repositories") {
        for (t, rec) in c.store.cached_tags(c.pid, &r.name).await.expect("tags") {
            out.insert((r.name.clone(), t), rec.digest);
        }
    }
    out
}

fn basic(user: &str, password: &str) -> Credentials {
    Credentials::Basic { username: user.into(), password: password.into() }
}

pub async fn run(repos: usize, tags: usize, concurrency: usize) -> serde_json::Value {
    eprintln!("backends: seeding {repos} repositories × {tags} tags behind the Harbor and Nexus emulators …");
    let harbor = berth_testkit::Harbor::builder().admin("admin", "Harbor12345").project("bench", false).start().await;
    Seeder::new(&harbor.registry().url()).seed_many(repos, tags, "bench/app", 16).await;
    let nexus = berth_testkit::Nexus::builder().user("admin", "admin123").docker_hosted("docker-a", true).start().await;
    Seeder::new(&nexus.registry("docker-a").url()).seed_many(repos, tags, "bench/app", 16).await;
    let tls = TlsOptions::default();

    // registry:2: the registry behind Harbor, straight.
    let r2_client = RegistryClient::new(&harbor.registry().url(), Credentials::Anonymous, &tls).expect("client");
    let r2 = Registry2::new(r2_client.clone(), None, "bench");
    let r2_cache = cache(ProfileKind::Registry).await;
    sync(&r2_cache, &r2, concurrency).await;
    let before = r2_client.requests();
    let r2_s = sync(&r2_cache, &r2, concurrency).await;
    let r2_requests = (r2_client.requests() - before) as f64;

    let creds = basic("admin", "Harbor12345");
    let h_client = RegistryClient::new(&harbor.url(), creds.clone(), &tls).expect("client");
    let h = Harbor::new(h_client, HarborClient::new(&harbor.url(), creds, &tls).expect("api"));
    let h_cache = cache(ProfileKind::Harbor).await;
    sync(&h_cache, &h, concurrency).await;
    let before = harbor.requests().len();
    let h_s = sync(&h_cache, &h, concurrency).await;
    let h_requests = (harbor.requests().len() - before) as f64;

    let creds = basic("admin", "admin123");
    let connector = nexus.connector_url("docker-a").expect("connector");
    let n_client = RegistryClient::new(&connector, creds.clone(), &tls).expect("client");
    let n = Nexus::new(n_client, NexusClient::new(&nexus.url(), creds, &tls).expect("api"), "docker-a");
    let n_cache = cache(ProfileKind::Nexus).await;
    sync(&n_cache, &n, concurrency).await;
    let before = nexus.requests().len();
    let n_s = sync(&n_cache, &n, concurrency).await;
    let n_requests = (nexus.requests().len() - before) as f64;

    let r2_map = tag_map(&r2_cache).await;
    let same_h = tag_map(&h_cache).await == r2_map;
    let same_n = tag_map(&n_cache).await == r2_map;
    let (rh, rn) = (h_requests / r2_requests, n_requests / r2_requests);
    let ok = |b: bool| if b { "ok" } else { "MISSED" };
    println!("Resync of {} unchanged tags, requests (same seed, concurrency {concurrency}):", r2_map.len());
    println!("  registry:2  {r2_requests:>6}  in {r2_s:.2} s  (tag lists and a conditional HEAD per tag; counted by the client)");
    println!(
        "  Harbor      {h_requests:>6}  in {h_s:.2} s  = {rh:.3} × registry:2 (target <= 0.05: {}), same tags: {}",
        ok(rh <= 0.05),
        ok(same_h)
    );
    println!(
        "  Nexus       {n_requests:>6}  in {n_s:.2} s  = {rn:.3} × registry:2 (target <= 0.15: {}), same tags: {}",
        ok(rn <= 0.15),
        ok(same_n)
    );
    serde_json::json!({
        "resync_tags": r2_map.len(), "registry2_resync_requests": r2_requests,
        "harbor_resync_requests": h_requests, "harbor_ratio": rh,
        "nexus_resync_requests": n_requests, "nexus_ratio": rn,
        "same_tags": same_h && same_n,
    })
}
