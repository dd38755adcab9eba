//! `berth-demo --json`: the first line is the JSON the README documents, every server in it answers
//! with the credentials it gives, the seed is there (shared digests, an index, a signature, an untagged
//! manifest), and SIGTERM stops it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_prints_its_servers_and_serves_them_until_killed() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-demo"))
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let spec: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let http = reqwest::Client::new();

    let registry = spec["registry"]["url"].as_str().unwrap();
    let catalog: serde_json::Value =
        http.get(format!("{registry}/v2/_catalog")).send().await.unwrap().json().await.unwrap();
    let repos: Vec<&str> = catalog["repositories"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(repos.contains(&"app") && repos.contains(&"base/alpine"), "{catalog}");
    let tags: serde_json::Value =
        http.get(format!("{registry}/v2/app/tags/list")).send().await.unwrap().json().await.unwrap();
    let tags: Vec<&str> = tags["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tags.contains(&"latest") && tags.contains(&"stable") && tags.contains(&"nightly"), "{tags:?}");
    assert!(tags.iter().any(|t| t.ends_with(".sig")), "a cosign signature: {tags:?}");
    let digest = |tag: &str| {
        let url = format!("{registry}/v2/app/manifests/{tag}");
        let http = http.clone();
        async move {
            let r = http.head(url).header("Accept", "application/vnd.oci.image.manifest.v1+json").send().await.unwrap();
            r.headers()["docker-content-digest"].to_str().unwrap().to_string()
        }
    };
    assert_eq!(digest("latest").await, digest("2.0").await, "latest shares 2.0's digest");
    assert_eq!(digest("stable").await, digest("1.3").await);

    let h = &spec["harbor"];
    let projects = http
        .get(format!("{}/api/v2.0/projects", h["url"].as_str().unwrap()))
        .basic_auth(h["username"].as_str().unwrap(), h["password"].as_str())
        .send()
        .await
        .unwrap();
    assert!(projects.status().is_success(), "{}", projects.status());
    let projects: serde_json::Value = projects.json().await.unwrap();
    assert!(projects.as_array().unwrap().iter().any(|p| p["name"] == "team"), "{projects}");

    let n = &spec["nexus"];
    let repos = http
        .get(format!("{}/service/rest/v1/repositories", n["url"].as_str().unwrap()))
        .basic_auth(n["username"].as_str().unwrap(), n["password"].as_str())
        .send()
        .await
        .unwrap();
    assert!(repos.status().is_success(), "{}", repos.status());
    let connectors = n["connectors"].as_object().unwrap();
    assert_eq!(connectors.len(), 2, "{n}");
    for url in connectors.values() {
        let v2 = http
            .get(format!("{}/v2/", url.as_str().unwrap()))
            .basic_auth(n["username"].as_str().unwrap(), n["password"].as_str())
            .send()
            .await
            .unwrap();
        assert!(v2.status().is_success(), "{url}: {}", v2.status());
    }

    // SIGTERM: it stops, in bounded time.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "berth-demo did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(http.get(format!("{registry}/v2/")).send().await.is_err(), "the registry stopped with it");
}
