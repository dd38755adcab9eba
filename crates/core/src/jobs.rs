//! Run policy: at most one job (sync, delete, GC, restore) per profile at a time, across processes
//! too. Each job holds an exclusive lock on `locks/<profile>.lock` in the data directory, so the CLI
//! and the window exclude each other; a second run is refused with who holds the lock. Within one
//! process, running jobs are listed with their cancel token, so a front end can cancel them.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::{ApiError, Berth, ErrorCode};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum JobKind {
    Sync,
    Delete,
    Gc,
    Restore,
    Copy,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Sync => "sync",
            JobKind::Delete => "delete",
            JobKind::Gc => "GC",
            JobKind::Restore => "restore",
            JobKind::Copy => "copy",
        }
    }
}

pub(crate) type Running = Arc<Mutex<HashMap<String, (JobKind, CancellationToken)>>>;

/// A running job: holds the profile's lock until dropped.
#[derive(Debug)]
pub struct Job {
    profile: String,
    kind: JobKind,
    cancel: CancellationToken,
    running: Running,
    _lock: File,
}

impl Job {
    /// Cancelled by [`Berth::cancel_job`] (or by the caller's own token, when it passed one).
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn kind(&self) -> JobKind {
        self.kind
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&self.profile);
        }
    }
}

fn busy(profile: &str, kind: JobKind, holder: &str) -> ApiError {
    let holder = holder.trim();
    let who = if holder.is_empty() { "another Berth process".to_string() } else { holder.to_string() };
    ApiError::new(
        ErrorCode::Busy,
        format!("cannot start a {} of {profile}: it is busy ({who})", kind.as_str()),
        "wait for that run to finish, or cancel it where it runs, then try again",
    )
}

impl Berth {
    /// Starts a job on a profile: refused while any other job of that profile runs, in this process
    /// or another. `cancel`: the caller's token (the job's token is a child of it).
    pub fn start_job(&self, profile: &str, kind: JobKind, cancel: &CancellationToken) -> Result<Job, ApiError> {
        let dir = self.data_dir().join("locks");
        let io = |e: std::io::Error| {
            ApiError::new(
                ErrorCode::Storage,
                format!("cannot take the lock of profile {profile} in {}: {e}", dir.display()),
                "check that the data directory is writable",
            )
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let path = dir.join(format!("{profile}.lock"));
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // The holder writes who it is right after taking the lock: give it a moment.
                let mut holder = String::new();
                for _ in 0..20 {
                    holder.clear();
                    let _ = file.rewind();
                    let _ = file.read_to_string(&mut holder);
                    if !holder.trim().is_empty() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                return Err(busy(profile, kind, &holder));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "berth".into());
        let since =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "{} by {exe} (pid {}) since {since}", kind.as_str(), std::process::id());
        let _ = file.flush();
        let cancel = cancel.child_token();
        self.running
            .lock()
            .map_err(|_| ApiError::new(ErrorCode::Internal, "the job list is poisoned", "restart Berth"))?
            .insert(profile.to_string(), (kind, cancel.clone()));
        Ok(Job { profile: profile.to_string(), kind, cancel, running: self.running.clone(), _lock: file })
    }

    /// Whether no process holds the profile's job lock now (taken and released at once to tell).
    pub(crate) fn job_lock_free(&self, profile: &str) -> bool {
        let path = self.data_dir().join("locks").join(format!("{profile}.lock"));
        let Ok(file) = OpenOptions::new().read(true).write(true).create(false).open(&path) else {
            return true; // never locked
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                true
            }
            Err(_) => false,
        }
    }

    /// Cancels the profile's running job in this process (of `kind`, or any); whether one was running.
    pub fn cancel_job(&self, profile: &str, kind: Option<JobKind>) -> bool {
        let Ok(r) = self.running.lock() else { return false };
        match r.get(profile) {
            Some((k, c)) if kind.is_none_or(|want| want == *k) => {
                c.cancel();
                true
            }
            _ => false,
        }
    }

    /// Jobs running in this process, by profile.
    pub fn running_jobs(&self) -> Vec<(String, JobKind)> {
        self.running.lock().map(|r| r.iter().map(|(p, (k, _))| (p.clone(), *k)).collect()).unwrap_or_default()
    }
}
