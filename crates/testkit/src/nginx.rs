//! nginx in front of a registry, following the distribution nginx recipe.

use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;

use crate::certs::TestCa;
use crate::proc::{read_lossy, spawn_logged, wait_until_answers, write_file, ServerProcess};
use crate::registry::{bcrypt_line, Registry};

const NGINX_BIN: &str = "/usr/sbin/nginx";

/// What the nginx front does.
#[derive(Clone, Debug)]
pub struct NginxOptions {
    /// `auth_basic` users (bcrypt entries); empty = no auth at nginx.
    pub basic_auth: Vec<(String, String)>,
    /// `ssl_verify_client on` with a test client CA; see [`Nginx::client_identity`].
    pub client_cert_required: bool,
    /// `client_max_body_size 0;` (else nginx's default 1m limit applies → 413 on bigger uploads).
    pub max_body_size_zero: bool,
    /// `chunked_transfer_encoding on;` (else `off`).
    pub chunked_transfer_encoding: bool,
    /// `location /token` proxies to this token service (`http://127.0.0.1:PORT`): a token service
    /// behind the same TLS, reached as another host name (`localhost` for a registry at `127.0.0.1`).
    pub token_upstream: Option<String>,
    /// Listen on this port (a realm naming it must be known before nginx starts); else a free one.
    pub port: Option<u16>,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            basic_auth: Vec::new(),
            client_cert_required: false,
            max_body_size_zero: true,
            chunked_transfer_encoding: true,
            token_upstream: None,
            port: None,
        }
    }
}

impl NginxOptions {
    /// Default options with one basic-auth user.
    pub fn with_user(user: &str, password: &str) -> NginxOptions {
        NginxOptions { basic_auth: vec![(user.to_string(), password.to_string())], ..NginxOptions::default() }
    }
}

/// A running nginx (single process, `daemon off; master_process off;`). Killed on drop.
pub struct Nginx {
    port: u16,
    ca_pem: String,
    client_identity: Option<(String, String)>,
    conf_path: PathBuf,
    log_path: PathBuf,
    process: Option<ServerProcess>,
    _dir: TempDir,
}

impl Nginx {
    pub async fn start(upstream: &Registry, opts: NginxOptions) -> Nginx {
        let dir = tempfile::Builder::new().prefix("berth-nginx-").tempdir().expect("nginx tempdir");
        let root = dir.path().to_path_buf();
        for sub in ["logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"] {
            std::fs::create_dir_all(root.join(sub)).expect("nginx dirs");
        }
        let ca = TestCa::new("berth-test-nginx-ca");
        let (cert, key) = ca.issue_server(&["127.0.0.1", "localhost"]);
        write_file(&root.join("server.crt"), &cert);
        write_file(&root.join("server.key"), &key);
        let mut client_identity = None;
        if opts.client_cert_required {
            let client_ca = TestCa::new("berth-test-nginx-client-ca");
            write_file(&root.join("client-ca.crt"), client_ca.cert_pem());
            client_identity = Some(client_ca.issue_client("berth-test-client"));
        }
        if !opts.basic_auth.is_empty() {
            let lines: Vec<String> = opts.basic_auth.iter().map(|(u, p)| bcrypt_line(u, p)).collect();
            write_file(&root.join("htpasswd"), lines.join("\n") + "\n");
        }
        let mut nginx = Nginx {
            port: 0,
            ca_pem: ca.cert_pem(),
            client_identity,
            conf_path: root.join("nginx.conf"),
            log_path: root.join("logs/nginx.log"),
            process: None,
            _dir: dir,
        };
        let upstream_url = upstream.url();
        for attempt in 1..=3 {
            nginx.port = opts.port.unwrap_or_else(crate::free_port);
            write_file(&nginx.conf_path, nginx.config(&root, &upstream_url, &opts));
            let log_start = std::fs::metadata(&nginx.log_path).map(|m| m.len()).unwrap_or(0);
            let args = vec![
                "-p".to_string(),
                format!("{}/", root.display()),
                "-c".to_string(),
                nginx.conf_path.to_string_lossy().into_owned(),
                "-e".to_string(),
                nginx.log_path.to_string_lossy().into_owned(),
                "-g".to_string(),
                "daemon off; master_process off;".to_string(),
            ];
            let mut process =
                spawn_logged(NGINX_BIN, &args, &[], &nginx.log_path).unwrap_or_else(|e| panic!("spawn nginx: {e}"));
            match nginx.wait_ready(&mut process).await {
                Ok(()) => {
                    nginx.process = Some(process);
                    return nginx;
                }
                Err(why) => {
                    process.kill();
                    let log = read_lossy(&nginx.log_path);
                    let new_log = log.get(log_start as usize..).unwrap_or(&log);
                    if new_log.contains("Address already in use") && attempt < 3 {
                        continue;
                    }
                    panic!(
                        "nginx did not come up on port {} ({why}).\nconfig:\n{}\nlog:\n{log}",
                        nginx.port,
                        read_lossy(&nginx.conf_path)
                    );
                }
            }
        }
        unreachable!()
    }

    fn config(&self, root: &std::path::Path, upstream_url: &str, opts: &NginxOptions) -> String {
        let p = |s: &str| root.join(s).to_string_lossy().into_owned();
        let upstream_host = upstream_url.trim_start_matches("http://").trim_start_matches("https://");
        let upstream_scheme = if upstream_url.starts_with("https://") { "https" } else { "http" };
        let mut c = String::new();
        c.push_str(&format!("pid {};\n", p("nginx.pid")));
        c.push_str(&format!("error_log {} info;\n", self.log_path.display()));
        c.push_str("events {\n    worker_connections 1024;\n}\n");
        c.push_str("http {\n");
        c.push_str("    access_log off;\n");
        c.push_str(&format!(
            "    client_body_temp_path {};\n    proxy_temp_path {};\n    fastcgi_temp_path {};\n    uwsgi_temp_path {};\n    scgi_temp_path {};\n",
            p("tmp/body"),
            p("tmp/proxy"),
            p("tmp/fastcgi"),
            p("tmp/uwsgi"),
            p("tmp/scgi")
        ));
        c.push_str(&format!("    upstream docker-registry {{\n        server {upstream_host};\n    }}\n"));
        c.push_str(
            "    ## Set a variable to help us decide if we need to add the\n    \
             ## 'Docker-Distribution-Api-Version' header.\n    \
             ## The registry always sets this header.\n    \
             ## In the case of nginx performing auth, the header is unset\n    \
             ## since nginx is auth-ing before proxying.\n    \
             map $upstream_http_docker_distribution_api_version $docker_distribution_api_version {\n        \
             '' 'registry/2.0';\n    }\n",
        );
        c.push_str("    server {\n");
        c.push_str(&format!("        listen 127.0.0.1:{} ssl;\n", self.port));
        c.push_str("        server_name localhost 127.0.0.1;\n");
        c.push_str(&format!(
            "        ssl_certificate {};\n        ssl_certificate_key {};\n",
            p("server.crt"),
            p("server.key")
        ));
        c.push_str("        ssl_protocols TLSv1.2 TLSv1.3;\n");
        c.push_str("        ssl_prefer_server_ciphers on;\n");
        if opts.client_cert_required {
            c.push_str(&format!(
                "        ssl_client_certificate {};\n        ssl_verify_client on;\n",
                p("client-ca.crt")
            ));
        }
        c.push_str("        # disable any limits to avoid HTTP 413 for large image uploads\n");
        if opts.max_body_size_zero {
            c.push_str("        client_max_body_size 0;\n");
        }
        c.push_str(
            "        # required to avoid HTTP 411: see Issue #1486 (https://github.com/moby/moby/issues/1486)\n",
        );
        c.push_str(&format!(
            "        chunked_transfer_encoding {};\n",
            if opts.chunked_transfer_encoding { "on" } else { "off" }
        ));
        c.push_str("        location /v2/ {\n");
        c.push_str(
            "            # Do not allow connections from docker 1.5 and earlier\n            \
             # docker pre-1.6.0 did not properly set the user agent on ping, catch \"Go *\" user agents\n            \
             if ($http_user_agent ~ \"^(docker\\/1\\.(3|4|5(?!\\.[0-9]-dev))|Go ).*$\" ) {\n                \
             return 404;\n            }\n",
        );
        if !opts.basic_auth.is_empty() {
            c.push_str(&format!(
                "            auth_basic \"Registry realm\";\n            auth_basic_user_file {};\n",
                p("htpasswd")
            ));
        }
        c.push_str(
            "            add_header 'Docker-Distribution-Api-Version' $docker_distribution_api_version always;\n",
        );
        c.push_str(&format!("            proxy_pass {upstream_scheme}://docker-registry;\n"));
        if upstream_scheme == "https" {
            c.push_str("            proxy_ssl_verify off;\n");
        }
        c.push_str(
            "            proxy_set_header Host $http_host;   # required for docker client's sake\n            \
             proxy_set_header X-Real-IP $remote_addr; # pass on real client's IP\n            \
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n            \
             proxy_set_header X-Forwarded-Proto $scheme;\n            \
             proxy_read_timeout 900;\n",
        );
        c.push_str("        }\n");
        if let Some(t) = &opts.token_upstream {
            c.push_str(&format!(
                "        location /token {{\n            proxy_pass {}/token;\n        }}\n",
                t.trim_end_matches('/')
            ));
        }
        c.push_str("    }\n}\n");
        c
    }

    async fn wait_ready(&self, process: &mut ServerProcess) -> Result<(), String> {
        let mut b =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).danger_accept_invalid_certs(true);
        if let Some((cert, key)) = &self.client_identity {
            b = b.identity(reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).expect("client identity"));
        }
        let client = b.build().expect("probe client");
        wait_until_answers(process, &client, &format!("{}/v2/", self.url()), Duration::from_secs(10)).await
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA of nginx's server certificate.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// (cert PEM, key PEM) signed by the client CA when `client_cert_required`.
    pub fn client_identity(&self) -> Option<(String, String)> {
        self.client_identity.clone()
    }

    /// nginx's error log so far.
    pub fn log(&self) -> String {
        read_lossy(&self.log_path)
    }

    pub fn config_path(&self) -> &std::path::Path {
        &self.conf_path
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().and_then(|p| p.pid())
    }

    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
