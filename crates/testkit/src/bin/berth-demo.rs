//! `berth-demo`: every backend Berth manages, on loopback, seeded, until it is killed. A real
//! registry:2 (`docker-registry`), the Harbor emulator and the Nexus emulator (each in front of real
//! registries), each with a few dozen tags: tags sharing a digest, a multi-arch index, a cosign
//! signature, an untagged manifest (pushed over by a newer image under the same tag).
//!
//! `berth-demo --json` prints one JSON object on its first line:
//! `{"registry":{"url":…},"harbor":{"url":…,"username":…,"password":…},"nexus":{"url":…,"username":…,
//! "password":…,"connectors":{"REPO":URL,…}}}`. Without it, the same in words. `make demo` uses it to
//! open the window with a profile for each.

use std::io::Write;

use berth_testkit::{Harbor, ImageSpec, Nexus, Registry, Seeder};
use serde_json::json;

const HARBOR_USER: (&str, &str) = ("admin", "Harbor12345");
const NEXUS_USER: (&str, &str) = ("admin", "admin123");
const NEXUS_REPOS: [&str; 2] = ["docker-hosted", "docker-releases"];

/// The demo's images under `prefix` (`""` for registry:2 and Nexus, a Harbor project otherwise).
async fn seed(s: &Seeder, prefix: &str) -> usize {
    let p = |r: &str| format!("{prefix}{r}");
    let mut tags = 0;
    // An application with releases; `latest` and `stable` share digests with releases.
    let app = p("app");
    let mut last = None;
    for (i, v) in ["1.0", "1.1", "1.2", "1.3", "2.0"].iter().enumerate() {
        let mut spec = ImageSpec::small(&format!("app-{v}"));
        spec.layers.insert(0, ImageSpec::small("app-base").layers[0].clone()); // a shared base layer
        let img = s.push_image(&app, v, &spec).await;
        if i == 3 {
            s.tag(&app, &img.digest, "stable").await;
            tags += 1;
        }
        last = Some(img);
        tags += 1;
    }
    if let Some(img) = &last {
        s.tag(&app, &img.digest, "latest").await;
        // A cosign signature of the latest release.
        s.push_referrer_tag(&app, img).await;
        tags += 2;
    }
    // An untagged manifest: `nightly` pushed twice, the first image is left without a tag.
    s.push_image(&app, "nightly", &ImageSpec::small("nightly-1")).await;
    s.push_image(&app, "nightly", &ImageSpec::small("nightly-2")).await;
    tags += 1;
    // A multi-arch base image.
    let base = p("base/alpine");
    let platforms = [
        ImageSpec::platform("linux", "amd64", None, "alpine"),
        ImageSpec::platform("linux", "arm64", Some("v8"), "alpine"),
        ImageSpec::platform("linux", "arm", Some("v7"), "alpine"),
    ];
    let index = s.push_index(&base, "3.19", &platforms).await;
    s.tag(&base, &index.digest, "3").await;
    tags += 2;
    // Tools, each a few versions.
    for tool in ["tools/lint", "tools/build", "web/frontend"] {
        for v in ["0.1", "0.2", "0.3", "1.0"] {
            s.push_image(&p(tool), v, &ImageSpec::small(&format!("{tool}-{v}"))).await;
            tags += 1;
        }
    }
    tags
}

#[tokio::main]
async fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("berth-demo [--json] [--env FILE]: a seeded registry:2, Harbor emulator and Nexus emulator on loopback, until killed");
        return;
    }
    let registry = Registry::start().await;
    let registry_tags = seed(&Seeder::new(&registry.url()), "").await;

    let harbor = Harbor::builder()
        .admin(HARBOR_USER.0, HARBOR_USER.1)
        .project("library", true)
        .project("team", false)
        .quota("team", 1 << 30)
        .start()
        .await;
    let harbor_tags = seed(&harbor.seeder(), "team/").await;
    harbor.seeder().push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;

    let mut nexus = Nexus::builder().user(NEXUS_USER.0, NEXUS_USER.1);
    for r in NEXUS_REPOS {
        nexus = nexus.docker_hosted(r, true);
    }
    let nexus = nexus.start().await;
    let nexus_tags = seed(&nexus.seeder(NEXUS_REPOS[0]), "").await;
    nexus.seeder(NEXUS_REPOS[1]).push_image("release/app", "1.0", &ImageSpec::small("release")).await;
    let connectors: serde_json::Map<String, serde_json::Value> =
        NEXUS_REPOS.iter().filter_map(|r| nexus.connector_url(r).map(|u| (r.to_string(), json!(u)))).collect();

    let spec = json!({
        "registry": {"url": registry.url()},
        "harbor": {"url": harbor.url(), "username": HARBOR_USER.0, "password": HARBOR_USER.1},
        "nexus": {"url": nexus.url(), "username": NEXUS_USER.0, "password": NEXUS_USER.1, "connectors": connectors},
    });
    // `--env FILE`: the same as shell variables, for scripts (scripts/demo.sh).
    let args: Vec<String> = std::env::args().collect();
    if let Some(file) = args.iter().position(|a| a == "--env").and_then(|i| args.get(i + 1)) {
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut env = format!(
            "REGISTRY_URL={}\nHARBOR_URL={}\nHARBOR_USERNAME={}\nHARBOR_PASSWORD={}\nNEXUS_URL={}\nNEXUS_USERNAME={}\nNEXUS_PASSWORD={}\n",
            q(&registry.url()),
            q(&harbor.url()),
            q(HARBOR_USER.0),
            q(HARBOR_USER.1),
            q(&nexus.url()),
            q(NEXUS_USER.0),
            q(NEXUS_USER.1)
        );
        env.push_str(&format!("NEXUS_REPOSITORIES={}\n", q(&NEXUS_REPOS.join(" "))));
        if let Err(e) = std::fs::write(file, env) {
            eprintln!("berth-demo: cannot write {file}: {e}");
            std::process::exit(1);
        }
    }
    let mut out = std::io::stdout().lock();
    if json_out {
        let _ = writeln!(out, "{spec}");
    } else {
        let _ = writeln!(out, "registry:2  {}  (anonymous, {registry_tags} tags)", registry.url());
        let _ =
            writeln!(out, "Harbor      {}  ({} / {}, {harbor_tags} tags)", harbor.url(), HARBOR_USER.0, HARBOR_USER.1);
        let _ = writeln!(out, "Nexus       {}  ({} / {}, {nexus_tags} tags)", nexus.url(), NEXUS_USER.0, NEXUS_USER.1);
        for (r, u) in &connectors {
            let _ = writeln!(out, "  docker repository {r} on {}", u.as_str().unwrap_or_default());
        }
        let _ = writeln!(out, "serving until killed (Ctrl+C)");
    }
    let _ = out.flush();
    drop(out);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    // Dropping the servers kills the registries and removes their storage.
    drop((registry, harbor, nexus));
}
