//! The kit against real servers: registry variants, token issuer, nginx, TLS.

use berth_testkit::{Nginx, NginxOptions, Registry, Seeder, TestCa, TlsMode, TokenIssuer, TokenUser};
use reqwest::StatusCode;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn client_trusting(ca_pem: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
}

fn identity((cert, key): (String, String)) -> reqwest::Identity {
    reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).unwrap()
}

fn www_authenticate(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[tokio::test]
async fn anonymous_registry_answers_ping() {
    let reg = Registry::start().await;
    assert!(reg.url().starts_with("http://127.0.0.1:"));
    assert_eq!(reg.host(), format!("127.0.0.1:{}", reg.port()));
    let resp = client().get(format!("{}/v2/", reg.url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["docker-distribution-api-version"], "registry/2.0");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let config = std::fs::read_to_string(reg.config_path()).unwrap();
    assert!(config.contains("blobdescriptor: inmemory"), "{config}");
    assert!(reg.storage_dir().is_dir());
}

#[tokio::test]
async fn htpasswd_bcrypt_and_md5() {
    let reg = Registry::builder().htpasswd(&[("alice", "secret")]).md5_user("bob", "secret").start().await;
    let url = format!("{}/v2/", reg.url());
    let resp = client().get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&resp), "Basic realm=\"berth-test\"");

    let resp = client().get(&url).basic_auth("alice", Some("secret")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    let wrong = client().get(&url).basic_auth("alice", Some("nope")).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_body = wrong.text().await.unwrap();

    // The MD5 user is refused exactly like a wrong password.
    let md5 = client().get(&url).basic_auth("bob", Some("secret")).send().await.unwrap();
    assert_eq!(md5.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(md5.text().await.unwrap(), wrong_body);
    let htpasswd = std::fs::read_to_string(reg.config_path().parent().unwrap().join("htpasswd")).unwrap();
    assert!(htpasswd.contains("alice:$2y$04$"), "{htpasswd}");
    assert!(htpasswd.contains("bob:$apr1$"), "{htpasswd}");
    assert!(reg.log().contains("bob"), "{}", reg.log());
}

async fn fetch_token(issuer: &TokenIssuer, creds: Option<(&str, &str)>, scopes: &[&str]) -> reqwest::Response {
    let mut url = url::Url::parse(&issuer.realm()).unwrap();
    url.query_pairs_mut().append_pair("service", "berth-test-registry");
    for s in scopes {
        url.query_pairs_mut().append_pair("scope", s);
    }
    let mut rb = client().get(url);
    if let Some((u, p)) = creds {
        rb = rb.basic_auth(u, Some(p));
    }
    rb.send().await.unwrap()
}

async fn token_of(resp: reqwest::Response) -> String {
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["expires_in"], 300);
    assert!(v["issued_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["token"], v["access_token"]);
    v["token"].as_str().unwrap().to_string()
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn token_auth_against_real_registry() {
    let issuer = TokenIssuer::start(vec![
        TokenUser::new("alice", "secret", &["pull", "push", "delete"]),
        TokenUser::new("bob", "secret", &["pull"]),
    ])
    .await;
    let reg = Registry::builder().token_auth(&issuer).start().await;

    // Anonymous ping → Bearer challenge naming the realm and service.
    let resp = client().get(format!("{}/v2/", reg.url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let ch = www_authenticate(&resp);
    assert!(ch.starts_with("Bearer "), "{ch}");
    assert!(ch.contains(&format!("realm=\"{}\"", issuer.realm())), "{ch}");
    assert!(ch.contains("service=\"berth-test-registry\""), "{ch}");

    // Alice pushes through the token flow (the seeder follows the challenges).
    let seeder = Seeder::new(&reg.url()).with_basic("alice", "secret");
    let pushed = seeder.push_image("team/app", "v1", &berth_testkit::ImageSpec::small("token")).await;
    assert!(issuer.requests() >= 2);

    // Bob: a pull token lets the catalog through.
    let token = token_of(fetch_token(&issuer, Some(("bob", "secret")), &["registry:catalog:*"]).await).await;
    let c = claims(&token);
    assert_eq!(c["iss"], "berth-test-issuer");
    assert_eq!(c["aud"], "berth-test-registry");
    assert_eq!(c["sub"], "bob");
    assert_eq!(c["access"][0]["actions"][0], "*");
    let resp = client().get(format!("{}/v2/_catalog", reg.url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["repositories"], serde_json::json!(["team/app"]));

    // Bob's delete: the issuer silently grants nothing, the registry says insufficient_scope.
    let token = token_of(fetch_token(&issuer, Some(("bob", "secret")), &["repository:team/app:delete"]).await).await;
    assert_eq!(claims(&token)["access"][0]["actions"], serde_json::json!([]));
    let resp = client()
        .delete(format!("{}/v2/team/app/manifests/{}", reg.url(), pushed.digest))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let ch = www_authenticate(&resp);
    assert!(ch.contains("error=\"insufficient_scope\""), "{ch}");
    assert!(ch.contains("scope=\"repository:team/app:delete\""), "{ch}");

    // Alice may delete.
    let token = token_of(fetch_token(&issuer, Some(("alice", "secret")), &["repository:team/app:delete"]).await).await;
    let resp = client()
        .delete(format!("{}/v2/team/app/manifests/{}", reg.url(), pushed.digest))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    // Wrong password → 401; anonymous → a token with no access; a garbage token → invalid_token.
    let resp = fetch_token(&issuer, Some(("bob", "wrong")), &["registry:catalog:*"]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let anon = token_of(fetch_token(&issuer, None, &["registry:catalog:*"]).await).await;
    assert_eq!(claims(&anon)["access"][0]["actions"], serde_json::json!([]));
    let resp =
        client().get(format!("{}/v2/_catalog", reg.url())).bearer_auth("garbage.garbage.garbage").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&resp).contains("invalid_token"));

    // OAuth2 POST form.
    let resp = client()
        .post(issuer.realm())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=password&username=bob&password=secret&service=berth-test-registry&client_id=berth&scope=registry:catalog:*")
        .send()
        .await
        .unwrap();
    let token = token_of(resp).await;
    let resp = client().get(format!("{}/v2/_catalog", reg.url())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn tls_variants() {
    // CA-signed.
    let reg = Registry::builder().tls(TlsMode::CaSigned).start().await;
    assert!(reg.url().starts_with("https://127.0.0.1:"));
    let ca = reg.ca_pem().unwrap();
    let c = client_trusting(&ca).build().unwrap();
    let resp = c.get(format!("{}/v2/", reg.url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Without the CA: UnknownIssuer.
    let err = client().get(format!("{}/v2/", reg.url())).send().await.unwrap_err();
    assert!(format!("{err:?}").contains("UnknownIssuer"), "{err:?}");

    // Self-signed CA:TRUE leaf: rustls refuses it even when trusted.
    let reg = Registry::builder().tls(TlsMode::SelfSignedLeaf).start().await;
    let cert = reg.ca_pem().unwrap();
    let err = client_trusting(&cert).build().unwrap().get(format!("{}/v2/", reg.url())).send().await.unwrap_err();
    assert!(format!("{err:?}").contains("CaUsedAsEndEntity"), "{err:?}");

    // mTLS.
    let reg = Registry::builder().tls(TlsMode::CaSignedWithClientCa).start().await;
    let ca = reg.ca_pem().unwrap();
    let no_cert = client_trusting(&ca).build().unwrap().get(format!("{}/v2/", reg.url())).send().await;
    assert!(no_cert.is_err(), "{no_cert:?}");
    let with_cert = client_trusting(&ca)
        .identity(identity(reg.client_identity().unwrap()))
        .build()
        .unwrap()
        .get(format!("{}/v2/", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cert.status(), StatusCode::OK);
}

#[tokio::test]
async fn test_ca_certificates() {
    let ca = TestCa::new("unit-ca");
    assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let (cert, key) = ca.issue_server(&["127.0.0.1", "localhost"]);
    assert!(cert.contains("BEGIN CERTIFICATE") && key.contains("PRIVATE KEY"));
    let (cert, key) = ca.issue_client("someone");
    assert!(cert.contains("BEGIN CERTIFICATE") && key.contains("PRIVATE KEY"));

    // An expired server certificate is refused by rustls with the CA trusted.
    let (cert, key) = ca.issue_expired_server(&["127.0.0.1"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("k.pem"), &key).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-checkend", "0", "-in"])
        .arg(dir.path().join("c.pem"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "certificate should be expired");
}

#[tokio::test]
async fn nginx_front_with_basic_auth() {
    let reg = Registry::start().await;
    let nginx = Nginx::start(&reg, NginxOptions::with_user("alice", "secret")).await;
    assert!(nginx.url().starts_with("https://127.0.0.1:"));
    let conf = std::fs::read_to_string(nginx.config_path()).unwrap();
    if std::env::var_os("BERTH_TESTKIT_SHOW").is_some() {
        eprintln!("{conf}");
    }
    for needle in [
        "client_max_body_size 0;",
        "chunked_transfer_encoding on;",
        "auth_basic_user_file",
        "add_header 'Docker-Distribution-Api-Version' $docker_distribution_api_version always;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_read_timeout 900;",
        "access_log off;",
    ] {
        assert!(conf.contains(needle), "{needle} missing:\n{conf}");
    }
    let c = client_trusting(&nginx.ca_pem()).build().unwrap();
    let resp = c.get(format!("{}/v2/", nginx.url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["docker-distribution-api-version"], "registry/2.0");
    assert!(www_authenticate(&resp).starts_with("Basic realm=\"Registry realm\""));
    let resp = c.get(format!("{}/v2/", nginx.url())).basic_auth("alice", Some("secret")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["docker-distribution-api-version"], "registry/2.0");

    // Pushing through the proxy (absolute upload Locations come back as https://nginx).
    let seeder = Seeder::new(&nginx.url()).with_ca(&nginx.ca_pem()).with_basic("alice", "secret");
    let pushed = seeder.push_image("proxied/app", "v1", &berth_testkit::ImageSpec::small("nginx")).await;
    let resp = client()
        .head(format!("{}/v2/proxied/app/manifests/v1", reg.url()))
        .header("Accept", berth_testkit::media_types::ALL_MANIFESTS)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["docker-content-digest"], pushed.digest.as_str());
}

#[tokio::test]
async fn nginx_limits_and_client_certs() {
    let reg = Registry::start().await;
    // Default nginx body limit (1m) → 413 on a big monolithic upload.
    let nginx = Nginx::start(
        &reg,
        NginxOptions { max_body_size_zero: false, client_cert_required: true, ..NginxOptions::default() },
    )
    .await;
    let id = nginx.client_identity().expect("client identity");
    let no_cert =
        client_trusting(&nginx.ca_pem()).build().unwrap().get(format!("{}/v2/", nginx.url())).send().await.unwrap();
    assert_eq!(no_cert.status(), StatusCode::BAD_REQUEST); // "No required SSL certificate was sent"
    let c = client_trusting(&nginx.ca_pem()).identity(identity(id)).build().unwrap();
    let resp = c.get(format!("{}/v2/", nginx.url())).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = c.post(format!("{}/v2/big/blobs/uploads/", nginx.url())).body(Vec::new()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let loc = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(&nginx.url()), "{loc}");
    let body = vec![7u8; 2 * 1024 * 1024];
    let digest = berth_testkit::sha256_digest(&body);
    let sep = if loc.contains('?') { '&' } else { '?' };
    let resp = c.put(format!("{loc}{sep}digest={digest}")).body(body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(resp.headers().get("server").unwrap().to_str().unwrap().starts_with("nginx"));
}

#[tokio::test]
async fn read_only_registry_refuses_delete() {
    let reg = Registry::builder().read_only(true).start().await;
    assert!(reg.is_read_only());
    let resp =
        client().delete(format!("{}/v2/any/manifests/sha256:{}", reg.url(), "0".repeat(64))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
}

#[tokio::test]
async fn restart_read_only_keeps_port_and_data() {
    let mut reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let pushed = seeder.push_image("keep/me", "v1", &berth_testkit::ImageSpec::small("restart")).await;
    let port = reg.port();
    let old_pid = reg.pid().unwrap();
    reg.restart(true).await;
    assert_eq!(reg.port(), port);
    assert_ne!(reg.pid().unwrap(), old_pid);
    assert!(!std::path::Path::new(&format!("/proc/{old_pid}")).exists());
    let head = client()
        .head(format!("{}/v2/keep/me/manifests/v1", reg.url()))
        .header("Accept", berth_testkit::media_types::ALL_MANIFESTS)
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["docker-content-digest"], pushed.digest.as_str());
    let del = client().delete(format!("{}/v2/keep/me/manifests/{}", reg.url(), pushed.digest)).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::METHOD_NOT_ALLOWED);
    reg.restart(false).await;
    let del = client().delete(format!("{}/v2/keep/me/manifests/{}", reg.url(), pushed.digest)).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn delete_disabled_gives_unsupported() {
    let reg = Registry::builder().delete_enabled(false).start().await;
    let pushed = Seeder::new(&reg.url()).push_image("nodel/app", "v1", &berth_testkit::ImageSpec::small("nodel")).await;
    let resp = client().delete(format!("{}/v2/nodel/app/manifests/{}", reg.url(), pushed.digest)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(resp.text().await.unwrap().contains("UNSUPPORTED"));
}

#[tokio::test]
async fn dropping_servers_kills_their_processes() {
    let reg = Registry::start().await;
    let nginx = Nginx::start(&reg, NginxOptions::default()).await;
    let reg_pid = reg.pid().unwrap();
    let nginx_pid = nginx.pid().unwrap();
    let reg_dir = reg.config_path().parent().unwrap().to_path_buf();
    assert!(std::path::Path::new(&format!("/proc/{reg_pid}")).exists());
    assert!(std::path::Path::new(&format!("/proc/{nginx_pid}")).exists());
    drop(nginx);
    drop(reg);
    assert!(!std::path::Path::new(&format!("/proc/{reg_pid}")).exists());
    assert!(!std::path::Path::new(&format!("/proc/{nginx_pid}")).exists());
    assert!(!reg_dir.exists());

    let issuer = TokenIssuer::start(vec![]).await;
    let realm = issuer.realm();
    drop(issuer);
    assert!(client().get(&realm).send().await.is_err());
}
