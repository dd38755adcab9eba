//! `berth harbor …` and `berth nexus …` against the emulators, with the real Secret Service (run
//! under `scripts/headless.sh`).

use assert_cmd::Command;
use berth_testkit::{Harbor, ImageSpec, Nexus};

struct Env {
    data: tempfile::TempDir,
    service: String,
}

impl Env {
    fn new(tag: &str) -> Env {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        Env {
            data: tempfile::tempdir().unwrap(),
            service: format!("dev.berth.desktop.test-cli-{tag}-{}-{nanos}", std::process::id()),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("berth").expect("berth binary");
        c.arg("--data-dir").arg(self.data.path()).env_remove("BERTH_DATA_DIR");
        c.env("BERTH_KEYRING_SERVICE", &self.service);
        c.args(args);
        c
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cmd(args).output().unwrap();
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn add(&self, name: &str, url: &str, kind: &str, user: &str, password: &str) {
        self.cmd(&["profile", "add", name, "--url", url, "--kind", kind, "--username", user, "--password-stdin"])
            .write_stdin(format!("{password}\n"))
            .assert()
            .success();
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::process::Command::new("secret-tool").args(["clear", "service", &self.service]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn harbor_projects_and_deletes_from_the_command_line() {
    let h = Harbor::builder()
        .project("team", false)
        .robot("team", "ci", "s3cret", &["pull", "push", "delete"])
        .start()
        .await;
    let img = h.seeder().push_image("team/app", "v1", &ImageSpec::small("cli")).await;
    h.seeder().tag("team/app", &img.digest, "old").await;
    let env = Env::new("harbor");
    env.add("hb", &h.url(), "harbor", "robot$team+ci", "s3cret");
    let projects = env.json(&["harbor", "projects", "hb", "--json"]);
    assert_eq!(projects[0]["name"], "team");
    assert_eq!(projects[0]["repo_count"], 1);
    // The robot was not given "Read project": its summary and quota are named as not visible.
    let out = env.cmd(&["harbor", "projects", "hb"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("quota not visible to this account") && text.contains("may pull, push, delete"), "{text}");
    // Its policies: the immutability rules are for maintainers, so they are named as hidden.
    let policies = env.json(&["harbor", "policies", "hb", "--json"]);
    assert!(policies[0]["immutable"].is_null(), "{policies}");
    assert!(policies[0]["hidden"][0].as_str().unwrap().contains("immutability rules not visible"), "{policies}");
    // GC and Harbor's GC history are for system administrators: refused with why.
    let out = env.cmd(&["gc", "hb", "--server-history"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("system administrator"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without --yes: the delete plan, nothing deleted.
    let out = env.cmd(&["harbor", "delete-tag", "hb", "team/app:old", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["untag"][0]["tag"], "old", "{plan}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(h.registry_tags("team/app").contains_key("old"));
    // With --yes: executed like `berth delete --untag-only`: through Harbor's tag API, into the trash
    // and the audit log.
    let done = env.json(&["harbor", "delete-tag", "hb", "team/app:old", "--yes", "--json"]);
    assert_eq!(done["report"]["untagged"], 1, "{done}");
    assert_eq!(h.registry_tags("team/app").keys().collect::<Vec<_>>(), ["v1"]);
    let trash = env.json(&["trash", "hb", "--json"]);
    assert_eq!(trash[0]["tags"], serde_json::json!(["old"]), "{trash}");
    let audit = env.json(&["audit", "hb", "--json"]);
    assert!(
        audit.as_array().unwrap().iter().any(|a| a["action"] == "untag" && a["target"] == "old" && a["result"] == "ok"),
        "{audit}"
    );
    // Restorable from the trash until GC.
    env.cmd(&["restore", "hb", &trash[0]["id"].to_string()]).assert().success();
    assert!(h.registry_tags("team/app").contains_key("old"), "restored");

    let s = env.json(&["sync", "hb", "--json"]);
    assert_eq!(s["repositories"], 1);
    let arts = env.json(&["harbor", "artifacts", "hb", "team/app", "--json"]);
    let names: Vec<&str> = arts[0]["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["old", "v1"], "the restored tag is back on the artifact");
}

#[tokio::test(flavor = "multi_thread")]
async fn nexus_discover_creates_one_profile_per_docker_repository() {
    let n = Nexus::builder()
        .user("admin", "admin123")
        .docker_hosted("docker-a", true)
        .docker_hosted("docker-b", true)
        .start()
        .await;
    n.seeder("docker-a").push_image("team/app", "1.0", &ImageSpec::small("a")).await;
    n.seeder("docker-b").push_image("tools/lint", "2.0", &ImageSpec::small("b")).await;
    let env = Env::new("nexus");
    env.add("nx", &n.url(), "nexus", "admin", "admin123");
    let discovery = env.json(&["nexus", "discover", "nx", "--json"]);
    let found = &discovery["repositories"];
    assert_eq!(found.as_array().unwrap().len(), 2);
    assert_eq!(found[0]["profile"], "nx-docker-a");
    assert_eq!(
        found[1]["http_port"].as_u64().unwrap(),
        n.connector_url("docker-b").unwrap().rsplit(':').next().unwrap().parse::<u64>().unwrap()
    );
    env.json(&["sync", "nx-docker-b", "--json"]);
    let repos = env.json(&["repos", "nx-docker-b", "--json"]);
    assert_eq!(repos[0]["name"], "tools/lint");
    let stores = env.json(&["nexus", "blobstores", "nx", "--json"]);
    assert!(stores[0]["total_size"].as_u64().unwrap() > 0);
    let tasks = env.json(&["nexus", "tasks", "nx", "--json"]);
    assert_eq!(tasks[0]["kind"], "repository.docker.gc", "{tasks}");
    let pages = env.json(&["nexus", "components", "nx-docker-b", "--all", "--json"]);
    assert_eq!(pages[0]["items"][0]["tag"], "2.0", "{pages}");

    // Delete through the plan: the components API, the trash and the audit log.
    let done = env.json(&["nexus", "delete-tag", "nx-docker-b", "tools/lint:2.0", "--yes", "--json"]);
    assert_eq!(done["report"]["untagged"], 1, "{done}");
    assert!(n.registry_tags("docker-b", "tools/lint").is_empty());
    assert_eq!(env.json(&["trash", "nx-docker-b", "--json"]).as_array().unwrap().len(), 1);
    let audit = env.json(&["audit", "nx-docker-b", "--json"]);
    assert!(audit.as_array().unwrap().iter().any(|a| a["action"] == "untag" && a["result"] == "ok"), "{audit}");

    // A read-only Nexus: the plan refuses with the reason, nothing is attempted.
    n.set_writable(false);
    let out = env.cmd(&["nexus", "delete-tag", "nx-docker-a", "team/app:1.0", "--yes"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read-only") && err.contains("writable again"), "{err}");
    assert!(n.registry_tags("docker-a", "team/app").contains_key("1.0"));
}
