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

/// Runs `sh -c command`, streaming each output line to `log`. Cancel kills the command's whole
/// process group and answers [`ErrorKind::Cancelled`].
pub async fn run(command: &str, log: &LogFn<'_>, cancel: &CancellationToken) -> Result<ShellOutput, Error> {
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
    let exit = format!("[exit {}]", status.code().map_or("signal".to_string(), |c| c.to_string()));
    log(&exit);
    text.push_str(&exit);
    text.push('\n');
    Ok(ShellOutput { success: status.success(), text })
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
