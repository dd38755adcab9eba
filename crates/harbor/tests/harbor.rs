//! The Harbor client against the Harbor emulator (real registry behind it; every API answer is
//! checked against Harbor's swagger when the emulator drops).

use std::time::Duration;

use berth_harbor::{GcParameters, HarborClient};
use berth_registry::{Credentials, ErrorKind, Reference, RegistryClient, TlsOptions};
use berth_testkit::{media_types, Harbor, HarborRole, ImageSpec};

const ROBOT: &str = "robot$team+ci";

fn basic(u: &str, p: &str) -> Credentials {
    Credentials::Basic { username: u.into(), password: p.into() }
}

async fn harbor() -> Harbor {
    Harbor::builder()
        .admin("admin", "Harbor12345")
        .user("dev", "devpass")
        .project("library", true)
        .project("team", false)
        .project("secret", false)
        .member("team", "dev", HarborRole::Developer)
        .quota("team", 50_000_000)
        .robot("team", "ci", "robot-secret", &["pull", "delete"])
        .robot("team", "reader", "reader-secret", &["pull", "project:read", "quota:read"])
        .gc_time_window_hours(0)
        .start()
        .await
}

#[tokio::test]
async fn a_robot_browses_its_project_through_the_api_not_the_catalog() {
    let h = harbor().await;
    let s = h.seeder();
    s.push_image("team/app", "v1", &ImageSpec::small("app-1")).await;
    s.push_image("team/tools/lint", "1.0", &ImageSpec::small("lint")).await;
    s.push_image("secret/x", "1", &ImageSpec::small("x")).await;
    s.push_image("library/nginx", "1.27", &ImageSpec::small("nginx")).await;

    let robot = HarborClient::new(&h.url(), basic(ROBOT, "robot-secret"), &TlsOptions::default()).unwrap();
    let login = robot.check_login().await.unwrap();
    assert!(login.robot && !login.admin, "{login:?}");
    let projects: Vec<String> = robot.projects().await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(projects, ["library", "team"], "public projects and its own, never `secret`");
    assert_eq!(robot.all_repositories().await.unwrap(), ["library/nginx", "team/app", "team/tools/lint"]);

    // A nested repository name travels double-encoded.
    let arts = robot.artifacts("team/tools/lint", None).await.unwrap();
    assert_eq!(arts.len(), 1);
    assert_eq!(arts[0].tag_names(), ["1.0"]);
    assert_eq!(arts[0].repository_name.as_deref(), Some("team/tools/lint"));
    assert!(arts[0].size > 0);

    // Harbor's summary needs "Read project", which this robot was not given; one that was sees the quota.
    let e = robot.project_summary("team").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e:?}");
    let reader =
        HarborClient::new(&h.url(), basic("robot$team+reader", "reader-secret"), &TlsOptions::default()).unwrap();
    let summary = reader.project_summary("team").await.unwrap();
    let quota = summary.quota.unwrap();
    assert_eq!(quota.storage_limit(), Some(50_000_000));
    assert!(quota.storage_used() > 0, "{quota:?}");

    // /v2: the catalog is for admins only; tags and manifests work with a token from /service/token.
    let v2 = RegistryClient::new(&h.url(), basic(ROBOT, "robot-secret"), &TlsOptions::default()).unwrap();
    let e = v2.catalog().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e:?}");
    assert_eq!(v2.tags("team/app").await.unwrap(), ["v1"]);
    assert!(v2.get_manifest("team/app", &Reference::Tag("v1".into())).await.unwrap().is_some());
    // Anonymous pulls of a public project go through a Bearer token from /service/token.
    let anonymous = RegistryClient::new(&h.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    assert_eq!(anonymous.tags("library/nginx").await.unwrap(), ["1.27"]);
    assert!(anonymous.token_requests() > 0, "the token came from Harbor's /service/token");
    assert!(anonymous.tags("team/app").await.is_err());
    // Another project's content stays closed.
    assert!(v2.tags("secret/x").await.is_err());

    assert!(h.validator().checked() >= 6, "responses were validated against the spec");
}

#[tokio::test]
async fn deleting_a_tag_keeps_the_artifact_deleting_an_artifact_takes_its_tags() {
    let h = harbor().await;
    let s = h.seeder();
    let img = s.push_image("team/app", "v1", &ImageSpec::small("app")).await;
    s.tag("team/app", &img.digest, "stable").await;
    let index = s
        .push_index(
            "team/multi",
            "latest",
            &[ImageSpec::platform("linux", "amd64", None, "m"), ImageSpec::platform("linux", "arm64", Some("v8"), "m")],
        )
        .await;
    let robot = HarborClient::new(&h.url(), basic(ROBOT, "robot-secret"), &TlsOptions::default()).unwrap();

    robot.delete_tag("team/app", "stable").await.unwrap();
    assert_eq!(h.registry_tags("team/app").keys().collect::<Vec<_>>(), ["v1"]);
    assert_eq!(h.registry_manifests("team/app"), std::slice::from_ref(&img.digest), "the artifact stays");
    let arts = robot.artifacts("team/app", None).await.unwrap();
    assert_eq!(arts[0].tag_names(), ["v1"]);

    robot.delete_artifact("team/app", "v1").await.unwrap();
    assert!(h.registry_tags("team/app").is_empty());
    assert!(h.registry_manifests("team/app").is_empty(), "the manifest went with its tags");

    // A platform of an index: 412, explained.
    let child = &index.children[0].digest;
    let e = robot.delete_artifact("team/multi", child).await.unwrap_err();
    assert_eq!(e.status, Some(412), "{e:?}");
    assert!(e.message.contains("index"), "{}", e.message);
    assert!(e.hint.contains("delete the index"), "{}", e.hint);
    let arts = robot.artifacts("team/multi", None).await.unwrap();
    assert_eq!(arts.len(), 1, "platforms are not listed on their own");
    assert_eq!(arts[0].references.as_ref().map(Vec::len), Some(2));
    assert_eq!(arts[0].manifest_media_type.as_deref(), Some(media_types::OCI_INDEX));

    // Deleting the index takes its platforms.
    robot.delete_artifact("team/multi", &index.digest).await.unwrap();
    assert!(h.registry_manifests("team/multi").is_empty());

    // A guest-like developer may not delete.
    let dev = HarborClient::new(&h.url(), basic("dev", "devpass"), &TlsOptions::default()).unwrap();
    s.push_image("team/app", "v2", &ImageSpec::small("app-2")).await;
    let e = dev.delete_artifact("team/app", "v2").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn lists_are_paged_and_followed() {
    let h = harbor().await;
    let s = h.seeder();
    for i in 0..23 {
        s.push_image(&format!("team/r{i:02}"), "v1", &ImageSpec::small("shared")).await;
    }
    let admin =
        HarborClient::new(&h.url(), basic("admin", "Harbor12345"), &TlsOptions::default()).unwrap().with_page_size(10);
    let repos = admin.repositories("team").await.unwrap();
    assert_eq!(repos.len(), 23);
    assert_eq!(repos[22].name, "team/r22");

    // The raw paging headers, as Harbor sends them.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v2.0/projects/team/repositories?page=2&page_size=10", h.url()))
        .basic_auth("admin", Some("Harbor12345"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-total-count"], "23");
    assert_eq!(
        resp.headers()["link"],
        "</api/v2.0/projects/team/repositories?page=1&page_size=10>; rel=\"prev\" , </api/v2.0/projects/team/repositories?page=3&page_size=10>; rel=\"next\""
    );
    // Harbor hands out a session cookie; a client that sends it back needs a CSRF token for writes.
    // (Berth's client keeps no cookies, which is why its deletes work.)
    assert!(resp.headers().contains_key("set-cookie"));
    let csrf = reqwest::Client::new()
        .delete(format!("{}/api/v2.0/projects/team/repositories/r00/artifacts/v1", h.url()))
        .basic_auth("admin", Some("Harbor12345"))
        .header("Cookie", "sid=emulator-session")
        .send()
        .await
        .unwrap();
    assert_eq!(csrf.status(), 403);
    assert!(csrf.text().await.unwrap().contains("CSRF token invalid"));
    assert_eq!(h.registry_tags("team/r00").len(), 1, "nothing was deleted");
    let too_big =
        reqwest::Client::new().get(format!("{}/api/v2.0/projects?page_size=101", h.url())).send().await.unwrap();
    assert_eq!(too_big.status(), 422);
}

#[tokio::test]
async fn wrong_credentials_are_named_as_such() {
    let h = harbor().await;
    for (user, password) in [("admin", "wrong"), (ROBOT, "wrong")] {
        let c = HarborClient::new(&h.url(), basic(user, password), &TlsOptions::default()).unwrap();
        let e = c.check_login().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthorized, "{e:?}");
        assert!(e.message.contains("rejected the username or password"), "{}", e.message);
        assert!(e.hint.contains("robot$<project>+<name>"), "{}", e.hint);
        // Harbor itself treats the request as anonymous: public projects only.
        let visible: Vec<String> = c.projects().await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(visible, ["library"]);
    }
    let nobody = HarborClient::new(&h.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let e = nobody.statistics().await.unwrap_err();
    assert!(e.message.contains("requires a login"), "{}", e.message);
}

#[tokio::test]
async fn gc_runs_record_history_and_logs_and_free_space() {
    let h = harbor().await;
    let s = h.seeder();
    s.push_image("team/app", "v1", &ImageSpec::small("gc-1")).await;
    let admin = HarborClient::new(&h.url(), basic("admin", "Harbor12345"), &TlsOptions::default()).unwrap();
    assert_eq!(admin.gc_schedule().await.unwrap(), None);
    admin.delete_artifact("team/app", "v1").await.unwrap();
    let before = h.registry().blobs_on_disk().len();
    let id = admin.run_gc(&GcParameters::default()).await.unwrap();
    let run = admin.wait_gc(id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(run.job_status, "Success", "{run:?}");
    assert!(run.freed_space().unwrap() > 0, "{:?}", run.parameters());
    assert!(h.registry().blobs_on_disk().len() < before);
    let log = admin.gc_log(id).await.unwrap();
    assert!(log.contains("success to run gc in job."), "{log}");
    assert_eq!(admin.gc_history().await.unwrap()[0].id, id);
    // Robots are not system admins.
    let robot = HarborClient::new(&h.url(), basic(ROBOT, "robot-secret"), &TlsOptions::default()).unwrap();
    assert_eq!(robot.run_gc(&GcParameters::default()).await.unwrap_err().kind, ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn a_page_harbor_repeats_is_an_incomplete_listing() {
    let s = berth_testkit::FaultServer::start(vec![berth_testkit::Fault::HarborRepeatPage]);
    let c = HarborClient::new(&s.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let e = c.projects().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::IncompleteListing, "{e:?}");
    assert!(e.message.contains("same page twice"), "{e}");
    assert!(s.count("/api/v2.0/projects") <= 3);
}

/// The fuzz target's parses (`fuzz/fuzz_targets/harbor.rs`) over mutated real answers: no panic.
#[test]
fn mutated_harbor_answers_never_panic() {
    let artifact: &[u8] = br##"[{"id":7,"type":"IMAGE","digest":"sha256:ab","size":12,"tags":[{"id":1,"name":"v1","immutable":true,"push_time":"2024-01-01T00:00:00Z"}],
        "labels":[{"id":1,"name":"prod","color":"#fff"}],"scan_overview":{"application/vnd.security.vulnerability.report; version=1.1":{"severity":"High","summary":{"total":3,"fixable":1,"summary":{"High":3}}}},
        "accessories":[{"id":2,"artifact_id":3,"digest":"sha256:cd","type":"signature.cosign","size":5}],"references":[{"child_digest":"sha256:ef","platform":{"os":"linux","architecture":"amd64"}}]}]"##;
    let project: &[u8] = br#"[{"project_id":1,"name":"library","repo_count":3,"current_user_role_id":2,"metadata":{"public":"true","retention_id":"4"}}]"#;
    let summary: &[u8] = br#"{"repo_count":3,"guest_count":1,"quota":{"hard":{"storage":-1},"used":{"storage":2048}}}"#;
    let gc: &[u8] = br#"[{"id":42,"job_kind":"MANUAL","job_parameters":"{\"freed_space\":123,\"purged_blobs\":2}","job_status":"Success"}]"#;
    let rules: &[u8] = br#"[{"id":1,"tag_selectors":[{"decoration":"matches","pattern":"{1.*,stable}"}],"scope_selectors":{"repository":[{"decoration":"repoMatches","pattern":"**"}]}}]"#;
    let link: &[u8] =
        b"</api/v2.0/projects?page=1&page_size=10>; rel=\"prev\" , </api/v2.0/projects?page=3>; rel=\"next\"";
    for data in berth_testkit::mutations(&[artifact, project, summary, gc, rules, link], 20_000) {
        let _ = serde_json::from_slice::<Vec<berth_harbor::Artifact>>(&data)
            .map(|a| a.iter().map(|a| a.scan().is_some()).count());
        let _ = serde_json::from_slice::<Vec<berth_harbor::Project>>(&data)
            .map(|p| p.iter().map(|p| (p.public(), p.retention_id())).count());
        let _ =
            serde_json::from_slice::<berth_harbor::ProjectSummary>(&data).map(|s| s.quota.map(|q| q.storage_limit()));
        let _ = serde_json::from_slice::<Vec<berth_harbor::GcRun>>(&data)
            .map(|r| r.iter().map(|r| r.freed_space()).count());
        let _ = serde_json::from_slice::<Vec<berth_harbor::Rule>>(&data)
            .map(|r| r.iter().map(|r| r.matches("a/b", "1.0")).count());
        if let Ok(s) = std::str::from_utf8(&data) {
            if let Some(t) = berth_harbor::next_link(s) {
                assert!(s.contains(&t));
            }
            let _ = berth_harbor::repository_path(s);
        }
    }
}

#[tokio::test]
async fn a_passing_502_from_harbors_api_is_retried() {
    let s = berth_testkit::FaultServer::start(vec![berth_testkit::Fault::HarborFail { status: 502, times: 2 }]);
    let c = HarborClient::new(&s.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let info = c.system_info().await.unwrap();
    assert_eq!(info.auth_mode.as_deref(), Some("db_auth"));
    assert_eq!(s.count("/api/v2.0/systeminfo"), 3, "two retries");
    let s = berth_testkit::FaultServer::start(vec![berth_testkit::Fault::HarborFail { status: 500, times: 100 }]);
    let c = HarborClient::new(&s.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let e = c.system_info().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Server, "{e:?}");
    assert_eq!(s.count("/api/v2.0/systeminfo"), 4);
}
