//! A maintenance switch for a test registry that shell commands can flip: Berth's GC before/after
//! commands (`curl -X POST …/read-only`) restart the real registry read-only and back, as an
//! administrator's script would on a server.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use tokio::sync::Mutex;

use crate::Registry;

/// An HTTP switch on loopback in front of a shared [`Registry`]: `POST /read-only`, `POST /read-write`
/// (each a real restart on the same port and storage). Stops when dropped.
pub struct RegistryControl {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl RegistryControl {
    pub async fn serve(registry: Arc<Mutex<Registry>>) -> RegistryControl {
        async fn read_only(State(r): State<Arc<Mutex<Registry>>>) -> &'static str {
            r.lock().await.restart(true).await;
            "read-only\n"
        }
        async fn read_write(State(r): State<Arc<Mutex<Registry>>>) -> &'static str {
            r.lock().await.restart(false).await;
            "read-write\n"
        }
        let app = Router::new()
            .route("/read-only", post(read_only))
            .route("/read-write", post(read_write))
            .with_state(registry);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind control");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RegistryControl { url, task }
    }

    /// A shell command that puts the registry in read-only mode (restarted).
    pub fn read_only_command(&self) -> String {
        format!("curl -fsS -X POST {}/read-only", self.url)
    }

    /// A shell command that restarts the registry writable.
    pub fn read_write_command(&self) -> String {
        format!("curl -fsS -X POST {}/read-write", self.url)
    }
}

impl Drop for RegistryControl {
    fn drop(&mut self) {
        self.task.abort();
    }
}
