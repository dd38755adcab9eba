//! Spawning server processes that never outlive the test process.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process. Tests
//! run on short-lived threads (the test harness's, tokio's blocking pool), so every child is forked
//! from one spawner thread that lives as long as the process.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

type SpawnJob = Box<dyn FnOnce() -> io::Result<Child> + Send>;
type SpawnRequest = (SpawnJob, mpsc::Sender<io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("berth-testkit-spawner".into())
            .spawn(move || {
                for (job, reply) in rx {
                    let _ = reply.send(job());
                }
            })
            .expect("spawn the spawner thread");
        Mutex::new(tx)
    })
}

/// Spawn `program args…` with stdin closed and stdout+stderr appended to `log`, with
/// `PR_SET_PDEATHSIG(SIGKILL)`.
pub(crate) fn spawn_logged(
    program: &str,
    args: &[String],
    env: &[(String, String)],
    log: &Path,
) -> io::Result<ServerProcess> {
    let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let log_err = log_file.try_clone()?;
    let program = program.to_string();
    let args = args.to_vec();
    let env = env.to_vec();
    let job: SpawnJob = Box::new(move || {
        let parent = std::process::id() as libc::pid_t;
        let mut cmd = Command::new(&program);
        cmd.args(&args).envs(env).stdin(Stdio::null()).stdout(Stdio::from(log_file)).stderr(Stdio::from(log_err));
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        cmd.spawn()
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    spawner()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((job, reply_tx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    let child = reply_rx.recv().map_err(|_| io::Error::other("spawner thread is gone"))??;
    Ok(ServerProcess { child: Some(child) })
}

/// A child process killed (SIGKILL) and reaped on drop.
pub(crate) struct ServerProcess {
    child: Option<Child>,
}

impl ServerProcess {
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `Some(status)` if it has exited.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `url` until something answers over HTTP (any status), failing if `process` exits first (or
/// right after: then the answer came from someone else on a reused port) or after `timeout`.
pub(crate) async fn wait_until_answers(
    process: &mut ServerProcess,
    client: &reqwest::Client,
    url: &str,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = process.exited() {
            return Err(format!("process exited with {status}"));
        }
        if client.get(url).send().await.is_ok() {
            if let Some(status) = process.exited() {
                return Err(format!("process exited with {status}"));
            }
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("timed out waiting for {url}"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

pub(crate) fn read_lossy(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    }
}

/// Write a file, panicking with the path on failure.
pub(crate) fn write_file(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
