//! registry:2 (distribution): the `/v2` API for everything, GC through the profile's shell commands
//! (`registry garbage-collect` cannot run over HTTP), never with `--delete-untagged`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use berth_registry::{Error, ErrorKind, RegistryClient};
use regex::Regex;
use tokio_util::sync::CancellationToken;

use crate::{
    shell, tag_digest, Backend, BoxFuture, Capabilities, GcFailed, GcHooks, GcOutput, GcRequest, LogFn,
    RegistryGcCounts, TagDigests, TagRemoval,
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

/// Where a filesystem-storage registry keeps its files (the profile's GC settings): the
/// `storage.filesystem.rootdirectory`, and the prefix that runs a command where it is (`ssh admin@host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub root: String,
    pub remote: Option<String>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What the storage listing prints when it stops (on stderr): the listing is not taken.
const STORAGE_LISTING_FAILED: &str = "berth-storage-listing: ";

/// The read-only command that lists, in one run, every repository folder of a filesystem-storage
/// registry (`_manifests` and `_layers`, as the catalog finds them) and every tag's `current/link` with
/// its content (`grep -H ''` prints `path:sha256:…`).
///
/// `find` looks for the repository folders only (it does not descend into `_manifests`, `_layers` or
/// `_uploads`); each repository's tags are one glob, `_manifests/tags/*/current/link`. That reads a
/// folder per repository and a link per tag instead of every tag's folders (the 300-repository bench
/// storage: 0.08 s instead of 0.45 s for `find` over everything). Fails — exit status, or a
/// [`STORAGE_LISTING_FAILED`] line — when the folder does not exist, a folder cannot be read (find's
/// status, a `tags` folder not readable), a tag folder has no readable `current/link`, or a link cannot
/// be read, so a partial listing is never taken for the registry's tags.
pub fn storage_tags_command(storage: &Storage) -> Result<String, Error> {
    if !storage.root.starts_with('/') {
        return Err(Error::new(
            ErrorKind::InvalidUrl,
            format!("the storage root {:?} is not an absolute path", storage.root),
            "give the registry's `storage.filesystem.rootdirectory`, e.g. /var/lib/registry",
        ));
    }
    let base = shell_quote(&format!("{}/docker/registry/v2/repositories", storage.root.trim_end_matches('/')));
    // Newlines only split the folder list (a storage root may hold spaces; repository names cannot).
    // The links go to one `grep` through xargs; the repository folders go to stderr (read line by line
    // apart from grep's output, so the two never mix within a line); the loop reports its own failure
    // there too, as sh has no pipefail.
    let cmd = r#"B=BASE; test -d "$B" && R=$(find "$B" \( -type d -name _uploads -prune \) -o \( -type d \( -name _layers -o -name _manifests \) -print -prune \)) && { IFS='
'; for m in $R; do printf '%s\n' "$m" >&2; case $m in */_layers) continue;; esac; t="$m/tags"; [ -d "$t" ] || continue; [ -r "$t" ] && [ -x "$t" ] || { echo "FAILEDcannot read $t" >&2; exit 1; }; set -- "$t"/*/; [ -e "$1" ] || continue; n=$#; set -- "$t"/*/current/link; [ -e "$1" ] && [ $# -eq $n ] || { echo "FAILED$t holds $n tag folders but not as many current/link" >&2; exit 1; }; printf '%s\n' "$@"; done | tr '\n' '\0' | xargs -0 -r grep -H ''; }"#
        .replace("BASE", &base)
        .replace("FAILED", STORAGE_LISTING_FAILED);
    Ok(match &storage.remote {
        Some(prefix) => format!("{prefix} {}", shell_quote(&cmd)),
        None => cmd,
    })
}

/// Every repository's tags with their digests from [`storage_tags_command`]'s output: a repository
/// folder with no tag is listed with none. Anything else (a prompt, a `$ command` line) is ignored.
pub fn parse_storage_tags(output: &str) -> HashMap<String, TagDigests> {
    const BASE: &str = "/docker/registry/v2/repositories/";
    let mut out: HashMap<String, TagDigests> = HashMap::new();
    for line in output.lines() {
        let Some((_, rest)) = line.trim_end().split_once(BASE) else { continue };
        if let Some(repo) = rest.strip_suffix("/_manifests").or_else(|| rest.strip_suffix("/_layers")) {
            if berth_registry::validate_repo(repo).is_ok() {
                out.entry(repo.to_string()).or_default();
            }
            continue;
        }
        let Some((repo, tail)) = rest.split_once("/_manifests/tags/") else { continue };
        let Some((tag, digest)) = tail.split_once("/current/link:") else { continue };
        let valid_tag = !tag.is_empty()
            && tag.len() <= 128
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && !tag.starts_with(['.', '-']);
        if berth_registry::validate_repo(repo).is_ok()
            && valid_tag
            && berth_registry::Digest::parse(digest.trim()).is_some()
        {
            out.entry(repo.to_string()).or_default().push((tag.to_string(), digest.trim().to_string()));
        }
    }
    for tags in out.values_mut() {
        tags.sort();
        tags.dedup();
    }
    out
}

/// A registry:2 (or any plain `/v2` registry, a Nexus connector included).
pub struct Registry2 {
    client: RegistryClient,
    gc: Option<GcCommands>,
    /// The profile's name, for hints.
    profile: String,
    /// Filesystem storage Berth can read (the GC settings): a sync lists every tag from it at once.
    storage: Option<Storage>,
    /// The last catalog [`Backend::repositories`] answered: the storage listing must hold all of it.
    catalog: Mutex<Option<Vec<String>>>,
}

impl Registry2 {
    pub fn new(client: RegistryClient, gc: Option<GcCommands>, profile: impl Into<String>) -> Self {
        Registry2 { client, gc, profile: profile.into(), storage: None, catalog: Mutex::new(None) }
    }

    /// Reads tags and their digests from the registry's filesystem storage (one command per sync)
    /// instead of a tag list and a HEAD per tag.
    pub fn with_storage(mut self, storage: Option<Storage>) -> Self {
        self.storage = storage;
        self
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
        Box::pin(async move {
            let repos = self.client.catalog().await?;
            if self.storage.is_some() {
                *self.catalog.lock().unwrap_or_else(|p| p.into_inner()) = Some(repos.clone());
            }
            Ok(repos)
        })
    }

    /// With a storage root: every tag of every repository from one read-only command over the
    /// registry's files (filesystem driver only), checked against the catalog the registry just
    /// answered; a failed command, or a storage that lacks a repository the registry lists (another
    /// registry's folder), is an error and the sync asks `/v2` instead.
    fn all_tag_digests(&self) -> BoxFuture<'_, Result<Option<HashMap<String, TagDigests>>, Error>> {
        Box::pin(async move {
            let Some(storage) = &self.storage else { return Ok(None) };
            let command = storage_tags_command(storage)?;
            let out = shell::run(&command, &|_| {}, &CancellationToken::new()).await?;
            if !out.success {
                let last = out.text.lines().rev().nth(1).unwrap_or_default().to_string();
                return Err(Error::new(
                    ErrorKind::Server,
                    format!("listing the tags in the storage at {} failed: {last}", storage.root),
                    format!("run the command by hand: {command}"),
                ));
            }
            let stopped = out.text.lines().find_map(|l| l.strip_prefix(STORAGE_LISTING_FAILED));
            if let Some(why) = stopped {
                return Err(Error::new(
                    ErrorKind::Server,
                    format!("listing the tags in the storage at {} stopped: {why}", storage.root),
                    "check the folder's permissions and contents, or run the command by hand",
                ));
            }
            let all = parse_storage_tags(&out.text);
            let catalog = self.catalog.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(missing) = catalog.iter().flatten().find(|r| !all.contains_key(*r)) {
                return Err(Error::new(
                    ErrorKind::Server,
                    format!("the storage at {} does not hold {missing}, which the registry lists", storage.root),
                    "check the profile's storage root: it may be another registry's",
                ));
            }
            Ok(Some(all))
        })
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
    fn storage_tags_are_parsed_from_find_output_and_nothing_else() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let r = "/srv/reg/docker/registry/v2/repositories";
        let text = format!(
            "$ find …\n{r}/team/app/_layers\n{r}/team/app/_manifests\n\
             {r}/team/app/_manifests/tags/v1/current/link:sha256:{a}\n\
             {r}/team/app/_manifests/tags/latest/current/link:sha256:{b}\n\
             {r}/team/app/_manifests/tags/old/index/sha256/{a}/link:sha256:{a}\n\
             {r}/empty/_manifests\n{r}/Bad/_manifests\n\
             {r}/team/app/_manifests/tags/bad/current/link:sha256:xyz\n\
             find: '{r}/secret': Permission denied\n[exit 0]\n"
        );
        let all = parse_storage_tags(&text);
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(
            all["team/app"],
            vec![("latest".to_string(), format!("sha256:{b}")), ("v1".to_string(), format!("sha256:{a}"))]
        );
        assert!(all["empty"].is_empty(), "a repository folder with no tag is listed with none");
        let cmd = storage_tags_command(&Storage { root: "/srv/reg/".into(), remote: Some("ssh a@h".into()) }).unwrap();
        assert!(cmd.starts_with("ssh a@h 'B='\\''/srv/reg/docker/registry/v2/repositories'\\''; test -d"), "{cmd}");
        assert!(storage_tags_command(&Storage { root: "reg".into(), remote: None }).is_err());
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
