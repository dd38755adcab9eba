//! registry:2 (distribution): the `/v2` API for everything, GC through the profile's shell commands
//! (`registry garbage-collect` cannot run over HTTP), never with `--delete-untagged`.

use std::collections::BTreeSet;

use berth_registry::{Error, ErrorKind, RegistryClient};
use regex::Regex;
use tokio_util::sync::CancellationToken;

use crate::{
    shell, tag_digest, Backend, BoxFuture, Capabilities, GcFailed, GcHooks, GcOutput, GcRequest, LogFn,
    RegistryGcCounts, TagRemoval,
};

/// How to run GC for a registry:2 profile (shell command lines, run by `sh -c` where Berth runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcCommands {
    /// e.g. `docker-registry garbage-collect /etc/docker/registry/config.yml`, or
    /// `ssh admin@host docker exec registry registry garbage-collect /etc/docker/registry/config.yml`.
    pub command: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub const DELETE_UNTAGGED_WARNING: &str = "never pass --delete-untagged (-m) to a registry 2.x: it deletes the \
     platform images of multi-arch indexes (distribution #3178), fixed only in 3.0. Berth deletes index children \
     itself, so plain GC frees them";

/// Checks a GC command line and returns the dry-run variant (`--dry-run` right after `garbage-collect`).
pub fn dry_run_command(command: &str) -> Result<String, Error> {
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.iter().any(|w| *w == "--delete-untagged" || *w == "-m" || w.starts_with("--delete-untagged=")) {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            "the GC command contains --delete-untagged",
            DELETE_UNTAGGED_WARNING,
        ));
    }
    let Some(at) = command.find("garbage-collect") else {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("the GC command {command:?} does not run `garbage-collect`"),
            "set a GC command that runs `registry garbage-collect /etc/docker/registry/config.yml` where the \
             registry lives (directly, through ssh or docker exec)",
        ));
    };
    let end = at + "garbage-collect".len();
    Ok(format!("{} --dry-run{}", &command[..end], &command[end..]))
}

/// Parses `registry garbage-collect` output (dry run or real).
pub fn parse_gc_output(text: &str) -> RegistryGcCounts {
    let (Ok(summary), Ok(eligible), Ok(deleting)) = (
        Regex::new(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion"),
        Regex::new(r"blob eligible for deletion: (sha256:[0-9a-f]{64})"),
        Regex::new(r"Deleting blob: \S*/blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})"),
    ) else {
        return RegistryGcCounts::default();
    };
    let mut c = RegistryGcCounts::default();
    if let Some(m) = summary.captures_iter(text).last() {
        c.marked = m[1].parse().ok();
        c.blobs_eligible = m[2].parse().ok();
        c.manifests_eligible = m[3].parse().ok();
    }
    let mut blobs = BTreeSet::new();
    for m in eligible.captures_iter(text) {
        blobs.insert(m[1].to_string());
    }
    for m in deleting.captures_iter(text) {
        blobs.insert(format!("sha256:{}", &m[1]));
    }
    c.blobs = blobs.into_iter().collect();
    c
}

/// A registry:2 (or any plain `/v2` registry, a Nexus connector included).
pub struct Registry2 {
    client: RegistryClient,
    gc: Option<GcCommands>,
    /// The profile's name, for hints.
    profile: String,
}

impl Registry2 {
    pub fn new(client: RegistryClient, gc: Option<GcCommands>, profile: impl Into<String>) -> Self {
        Registry2 { client, gc, profile: profile.into() }
    }

    pub const CAPABILITIES: Capabilities = Capabilities {
        label: "registry:2",
        browse: true,
        untag_without_siblings: true,
        gc_dry_run: true,
        gc_commands: true,
        gc_server_job: false,
        gc_time_window: false,
        gc_lists_blobs: true,
        projects: false,
        tag_immutability: false,
        discovers_repositories: false,
        blob_stores: false,
        gc_parameters: false,
        gc_server_history: false,
        artifacts: false,
        server_retention: false,
    };

    fn commands(&self) -> Result<&GcCommands, Error> {
        self.gc.as_ref().ok_or_else(|| {
            let p = &self.profile;
            Error::new(
                ErrorKind::InvalidUrl,
                format!("{p} has no GC command: garbage collection cannot run over HTTP on registry:2"),
                "set the profile's GC command: how to run `registry garbage-collect` where the registry lives \
                 (e.g. ssh admin@host docker exec registry registry garbage-collect /etc/docker/registry/config.yml), \
                 with before and after commands that turn read-only mode on and off",
            )
        })
    }
}

impl Backend for Registry2 {
    fn label(&self) -> &'static str {
        Self::CAPABILITIES.label
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    fn client(&self) -> &RegistryClient {
        &self.client
    }

    fn repositories(&self) -> BoxFuture<'_, Result<Vec<String>, Error>> {
        Box::pin(self.client.catalog())
    }

    fn remove_tag<'a>(
        &'a self,
        repo: &'a str,
        tag: &'a str,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<TagRemoval, Error>> {
        Box::pin(async move {
            match tag_digest(&self.client, repo, tag).await? {
                None => return Ok(TagRemoval::Gone),
                Some(now) if now != digest => return Ok(TagRemoval::Moved(now)),
                Some(_) => {}
            }
            let method = self.client.untag(repo, tag).await?;
            let how = match method {
                berth_registry::UntagMethod::TagDeleteApi => "tag delete API",
                berth_registry::UntagMethod::DummyManifest => "dummy manifest",
            };
            Ok(TagRemoval::Removed(how.to_string()))
        })
    }

    fn gc_check<'a>(&'a self, _req: &'a GcRequest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            dry_run_command(&self.commands()?.command)?;
            Ok(())
        })
    }

    fn gc_hooks(&self) -> GcHooks {
        self.gc.as_ref().map(|c| GcHooks { before: c.before.clone(), after: c.after.clone() }).unwrap_or_default()
    }

    fn gc<'a>(
        &'a self,
        req: &'a GcRequest,
        log: &'a LogFn<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<GcOutput, GcFailed>> {
        Box::pin(async move {
            let cmds = self.commands()?;
            let command = if req.dry_run { dry_run_command(&cmds.command)? } else { cmds.command.clone() };
            // A real GC is not interrupted once started (the after command must see it finish); a dry
            // run changes nothing and stops on cancel.
            let never = CancellationToken::new();
            let out = shell::run(&command, log, if req.dry_run { cancel } else { &never }).await?;
            let counts = parse_gc_output(&out.text);
            if !out.success || (req.dry_run && counts.marked.is_none()) {
                let error = Error::new(
                    ErrorKind::Server,
                    if req.dry_run {
                        "the dry run failed or printed no summary: check the command and that it can read the registry's config"
                            .to_string()
                    } else {
                        format!("garbage-collect failed: {}", cmds.command)
                    },
                    "run the command by hand to see why; see the GC history for its log",
                );
                return Err(GcFailed { error, log: out.text });
            }
            Ok(GcOutput {
                log: out.text,
                counts,
                freed_bytes: None,
                blobs_freed: None,
                notes: if req.dry_run { vec![DELETE_UNTAGGED_WARNING.to_string()] } else { vec![] },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_flag_goes_after_garbage_collect() {
        assert_eq!(
            dry_run_command("ssh reg docker exec r registry garbage-collect /etc/docker/registry/config.yml").unwrap(),
            "ssh reg docker exec r registry garbage-collect --dry-run /etc/docker/registry/config.yml"
        );
        assert!(dry_run_command("registry garbage-collect -m c.yml").is_err());
        assert!(dry_run_command("registry garbage-collect --delete-untagged c.yml").is_err());
        assert!(dry_run_command("rm -rf /").is_err());
    }

    #[test]
    fn parses_dry_run_and_real_output() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let text = format!(
            "test/img: marking manifest sha256:{a}\n21 blobs marked, 2 blobs and 0 manifests eligible for deletion\n\
             blob eligible for deletion: sha256:{a}\ntime=\"x\" level=info msg=\"Deleting blob: /docker/registry/v2/blobs/sha256/bb/{b}\" go.version=go1.19\n"
        );
        let c = parse_gc_output(&text);
        assert_eq!((c.marked, c.blobs_eligible, c.manifests_eligible), (Some(21), Some(2), Some(0)));
        assert_eq!(c.blobs, [format!("sha256:{a}"), format!("sha256:{b}")]);
    }
}
