//! A proxy in front of a real registry that holds back the requests of chosen methods (e.g. every
//! `DELETE`, or the uploads of a copy) for a while before passing them on: a delete or copy run then
//! lasts long enough for a test to cancel it in the middle, against the real registry's answers.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;

use crate::emu::{http_client, proxy, ServerThread};

struct Slow {
    upstream: String,
    public: String,
    methods: Vec<axum::http::Method>,
    delay: Duration,
    client: reqwest::Client,
}

/// A proxy on loopback that delays each request whose method is in `methods` by `delay`, then
/// forwards it (everything else at once) to `upstream`.
pub struct SlowProxy {
    url: String,
    server: ServerThread,
}

impl SlowProxy {
    /// `upstream`: `http://127.0.0.1:PORT` of a test-kit registry.
    pub fn start(upstream: &str, methods: &[&str], delay: Duration) -> SlowProxy {
        let listener = ServerThread::bind();
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = std::sync::Arc::new(Slow {
            upstream: upstream.trim_end_matches('/').to_string(),
            public: url.clone(),
            methods: methods.iter().map(|m| m.parse().expect("an HTTP method")).collect(),
            delay,
            client: http_client(),
        });
        let app = Router::new().fallback(forward).with_state(state);
        SlowProxy { url, server: ServerThread::start("berth-slow-proxy", listener, app) }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The requests passed on so far, `METHOD /path` each, in order.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }
}

async fn forward(State(s): State<std::sync::Arc<Slow>>, req: Request) -> Response {
    if s.methods.contains(req.method()) {
        tokio::time::sleep(s.delay).await;
    }
    let path = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    proxy(&s.client, &s.upstream, &s.public, &path, req).await
}
