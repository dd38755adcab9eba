//! Shell commands the user configured (registry:2 GC and its before/after commands), run by `sh -c`
//! where Berth runs, each in its own process group so that a cancel stops everything it started.

use std::process::Stdio;

use berth_registry::{Error, ErrorKind};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

use crate::LogFn;

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellOutput {
    pub success: bool,
    /// `$ command`, every line it printed (stdout and stderr as they came), `[exit N]`.
    pub text: String,
}

/// How long one command may run (a GC of a large registry takes long, a hung ssh forever):
/// 6 hours, or `BERTH_COMMAND_TIMEOUT_SECS`.
pub fn command_timeout() -> std::time::Duration {
    std::env::var("BERTH_COMMAND_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .unwrap_or(std::time::Duration::from_secs(6 * 3600))
}

/// Runs `sh -c command`, streaming each output line to `log`. Cancel kills the command's whole
/// process group and answers [`ErrorKind::Cancelled`]; so does the timeout ([`command_timeout`]),
/// answering [`ErrorKind::Timeout`].
pub async fn run(command: &str, log: &LogFn<'_>, cancel: &CancellationToken) -> Result<ShellOutput, Error> {
    let limit = command_timeout();
    match tokio::time::timeout(limit, run_unbounded(command, log, cancel)).await {
        Ok(r) => r,
        Err(_) => {
            // The future (and with it the child, kill_on_drop) is gone; its group may live on.
            log(&format!("[timed out after {} s]", limit.as_secs()));
            Err(Error::new(
                ErrorKind::Timeout,
                format!("{command:?} ran longer than {} s and was stopped", limit.as_secs()),
                "check the command by hand (a hung ssh, a registry that does not answer); raise BERTH_COMMAND_TIMEOUT_SECS for very large registries",
            ))
        }
    }
}

async fn run_unbounded(command: &str, log: &LogFn<'_>, cancel: &CancellationToken) -> Result<ShellOutput, Error> {
    log(&format!("$ {command}"));
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::new(ErrorKind::Protocol, format!("cannot run {command:?}: {e}"), "check that sh exists"))?;
    // Dropped before the command ended (the timeout, a caller gone): its whole group goes with it.
    let mut guard = GroupGuard(child.id().and_then(|p| i32::try_from(p).ok()));
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Error::new(ErrorKind::Protocol, format!("cannot read the output of {command:?}"), ""));
    };
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let mut text = format!("$ {command}\n");
    let (mut out_done, mut err_done) = (false, false);
    while !(out_done && err_done) {
        tokio::select! {
            l = out.next_line(), if !out_done => match l {
                Ok(Some(l)) => { log(&l); text.push_str(&l); text.push('\n'); }
                _ => out_done = true,
            },
            l = err.next_line(), if !err_done => match l {
                Ok(Some(l)) => { log(&l); text.push_str(&l); text.push('\n'); }
                _ => err_done = true,
            },
            _ = cancel.cancelled() => {
                kill_group(&child);
                let _ = child.kill().await;
                log("[cancelled]");
                return Err(Error::new(ErrorKind::Cancelled, format!("{command:?} was cancelled"), "it was stopped with everything it started"));
            }
        }
    }
    let status = tokio::select! {
        s = child.wait() => s.map_err(|e| Error::new(ErrorKind::Protocol, format!("{command:?}: {e}"), ""))?,
        _ = cancel.cancelled() => {
            kill_group(&child);
            let _ = child.kill().await;
            return Err(Error::new(ErrorKind::Cancelled, format!("{command:?} was cancelled"), "it was stopped with everything it started"));
        }
    };
    guard.0 = None;
    let exit = format!("[exit {}]", status.code().map_or("signal".to_string(), |c| c.to_string()));
    log(&exit);
    text.push_str(&exit);
    text.push('\n');
    Ok(ShellOutput { success: status.success(), text })
}

/// Kills a command's process group when dropped while it still runs.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// SIGKILL to the child's process group (it leads one: `process_group(0)`).
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        let Ok(pid) = i32::try_from(pid) else { return };
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
