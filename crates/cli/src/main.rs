//! `berth`: a thin command line over berth-core. Output on stdout (JSON with --json), one clear error
//! line on stderr and a non-zero exit code on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use berth_core::{AboutView, ApiError, Berth, CancellationToken, ShellVersions, SortBy, TagView};
use clap::{Parser, Subcommand};
use profile::{CertCmd, ProfileCmd};

/// mimalloc: glibc malloc and free were about 15% of a sync's CPU (issue 22).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod backends;
mod copy;
mod delete;
mod profile;

#[derive(Parser)]
#[command(name = "berth", version, about = "Manage private container registries: profiles, browsing, safe deletes")]
struct Cli {
    /// Data directory (SQLite cache, CA files). Default: $BERTH_DATA_DIR, else ~/.local/share/berth.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage registry profiles: credentials (OS keyring), TLS, imports, client snippets.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Harbor: projects and quotas, artifacts, deletes through Harbor's API.
    #[command(subcommand)]
    Harbor(backends::HarborCmd),
    /// Nexus: discover docker repositories (one profile each), blob stores, deletes.
    #[command(subcommand)]
    Nexus(backends::NexusCmd),
    /// Inspect certificate files.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Show one image: platforms, layers, config, referrers, sibling tags.
    Inspect {
        /// Profile name.
        name: String,
        /// REPO:TAG or REPO@sha256:DIGEST.
        image: String,
        /// Answer from the cache, as the last sync saw it (offline; the registry only for what the cache lacks).
        #[arg(long)]
        cached: bool,
        #[arg(long)]
        json: bool,
    },
    /// Sync a profile's registry into the local cache (catalog, tags, manifests).
    Sync {
        name: String,
        /// Requests in flight at most.
        #[arg(long, default_value_t = berth_core::defaults::SYNC_CONCURRENCY)]
        concurrency: usize,
        /// Print a JSON summary on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the tags of a repository from the cache.
    Tags {
        name: String,
        repo: String,
        #[arg(long, value_enum, default_value_t = Sort::Name)]
        sort: Sort,
        /// Only tags matching this regular expression (may start with '-', e.g. --filter -rc).
        #[arg(long, allow_hyphen_values = true)]
        filter: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Search every cached tag of a profile (any part of "repo:tag", or a digest's start).
    Search {
        name: String,
        query: String,
        #[arg(long, value_enum, default_value_t = Sort::Name)]
        sort: Sort,
        #[arg(long, default_value_t = berth_core::defaults::SEARCH_LIMIT)]
        limit: u32,
        /// Skip this many hits first (with --limit: one page of the result).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Every hit, however many (ignores --limit and --offset).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the repositories of a profile's registry (from the cache once synced, with tags and sizes).
    Repos {
        /// Profile name.
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete tags or images safely: shows the plan (untags, image deletes, siblings, children,
    /// referrers, reclaimable bytes); deletes only with --yes.
    Delete(delete::DeleteArgs),
    /// List untagged manifests (pushed over by a newer tag, or untagged): delete them by digest.
    Untagged(delete::UntaggedArgs),
    /// Delete a whole repository (every tag and untagged manifest): a plan unless --yes.
    DeleteRepository(delete::DeleteRepositoryArgs),
    /// Copy or promote images to another profile (or the same one): shows the plan (blobs to send,
    /// already there, mountable; tags created or overwritten); copies only with --yes.
    Copy(copy::CopyArgs),
    /// Add a tag to an image in the same repository: a manifest PUT, no blob moved.
    Retag(copy::RetagArgs),
    /// Apply a retention policy (keep the newest N, delete older than D days); a plan unless --yes.
    Retention(delete::RetentionArgs),
    /// List what deletes put in the trash (restorable until garbage collection).
    Trash(delete::TrashArgs),
    /// Put a trash entry back: its manifests and tags.
    Restore(delete::RestoreArgs),
    /// The audit log of destructive actions on a profile.
    Audit(delete::AuditArgs),
    /// Garbage collection: Berth's prediction and the registry's dry run; with --yes, run it and verify.
    Gc(delete::GcArgs),
    /// Show the version and where Berth keeps its data, database and logs.
    About {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Sort {
    Name,
    /// Newest first.
    Created,
    /// Largest first.
    Size,
    /// Tags of the same image together.
    Digest,
    /// By platform list (`linux/amd64, linux/arm64`).
    Platforms,
    /// By repository, then tag.
    Repository,
}

impl From<Sort> for SortBy {
    fn from(s: Sort) -> SortBy {
        match s {
            Sort::Name => SortBy::Name,
            Sort::Created => SortBy::Created,
            Sort::Size => SortBy::Size,
            Sort::Digest => SortBy::Digest,
            Sort::Platforms => SortBy::Platforms,
            Sort::Repository => SortBy::Repository,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A daily-rotated file in ~/.local/state/berth/logs (or $BERTH_LOG_DIR); stderr only with $BERTH_LOG.
    let _log = berth_core::logging::LogConfig::from_env("berth-cli", None).as_ref().map(berth_core::logging::init);
    tracing::info!(version = berth_core::VERSION, "berth {}", std::env::args().nth(1).unwrap_or_default());
    // One thread: the CLI's work is requests in flight and the store's own worker threads; a second
    // runtime thread only adds wake-ups between threads.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: what happened, what to do, and the command that does it (the window offers the
            // same fix as a button).
            let mut line = format!("berth: {}", e.message);
            if !e.hint.is_empty() {
                line.push_str(&format!(". {}", capitalize(&e.hint)));
            }
            if let Some(command) = e.fix.as_ref().and_then(|f| f.command.as_deref()) {
                line.push_str(&format!(" (run: {command})"));
            }
            eprintln!("{}", term_safe(&line));
            ExitCode::FAILURE
        }
    }
}

/// Text from a server, safe to print on a terminal: control characters (escape sequences that could
/// rewrite the screen or the title) shown as `\u{..}` instead of sent.
pub(crate) fn term_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_unicode().to_string() } else { c.to_string() })
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("views serialize"));
}

async fn run(cli: Cli) -> Result<(), ApiError> {
    // Certificate files need no data directory.
    let command = match cli.command {
        Command::Cert(cmd) => return profile::run_cert(cmd),
        other => other,
    };
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => berth_core::default_data_dir()?,
    };
    // Paths only: works even when the database cannot be opened.
    if let Command::About { json } = command {
        let about = AboutView::new(&data_dir, &berth_core::logging::default_log_dir()?, ShellVersions::default());
        if json {
            print_json(&about);
        } else {
            println!("{} {}", about.name, about.version);
            println!("data:      {}", about.data_dir);
            println!("database:  {}", about.database_file);
            println!("logs:      {}", about.log_dir);
            println!("keyring:   service {}", about.keyring_service);
        }
        return Ok(());
    }
    let berth = Berth::open(&data_dir).await?;
    match command {
        Command::Profile(cmd) => profile::run_profile(&berth, cmd).await?,
        Command::Cert(_) | Command::About { .. } => unreachable!("handled above"),
        Command::Harbor(cmd) => backends::run_harbor(&berth, cmd).await?,
        Command::Nexus(cmd) => backends::run_nexus(&berth, cmd).await?,
        Command::Inspect { name, image, cached, json } => {
            let (repo, reference) = split_image(&image)?;
            let from = if cached { berth_core::InspectFrom::Cache } else { berth_core::InspectFrom::Registry };
            let detail = berth.inspect_from(&name, repo, reference, from).await?;
            if json {
                print_json(&detail);
            } else {
                print_detail(&detail);
            }
        }
        Command::Sync { name, concurrency, json } => {
            let cancel = CancellationToken::new();
            let on_ctrl_c = cancel.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    on_ctrl_c.cancel();
                }
            });
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {pos}/{len} repositories ({elapsed})",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_message(format!("syncing {name}"));
            let progress = |p: &berth_core::SyncProgressView| {
                bar.set_length(p.repositories_total);
                bar.set_position(p.repositories_done);
                bar.set_message(format!("{} tags, {} requests, {} errors", p.tags_done, p.requests, p.errors));
            };
            let result = berth.sync(&name, concurrency, &cancel, &progress).await;
            bar.finish_and_clear();
            let summary = result?;
            if json {
                print_json(&summary);
            } else {
                println!(
                    "synced {}: {} repositories, {} tags, {} manifests fetched, {} requests, {} errors in {:.1} s",
                    summary.profile,
                    summary.repositories,
                    summary.tags,
                    summary.manifests_fetched,
                    summary.requests,
                    summary.errors,
                    summary.seconds
                );
                for e in &summary.error_samples {
                    eprintln!("  {}", term_safe(e));
                }
            }
        }
        Command::Tags { name, repo, sort, filter, json } => {
            let tags = berth.tags(&name, &repo, sort.into(), filter.as_deref()).await?;
            if json {
                print_json(&tags);
            } else {
                print_tags(&tags, false);
            }
        }
        Command::Search { name, query, sort, limit, offset, all, json } => {
            let found = if all {
                let page = berth_core::defaults::SEARCH_LIMIT_MAX;
                let mut found = berth.search_page(&name, &query, sort.into(), 0, page).await?;
                while (found.tags.len() as u64) < found.total {
                    let next = berth.search_page(&name, &query, sort.into(), found.tags.len() as u64, page).await?;
                    if next.tags.is_empty() {
                        break;
                    }
                    found.tags.extend(next.tags);
                }
                found
            } else {
                berth.search_page(&name, &query, sort.into(), offset, limit).await?
            };
            if json {
                print_json(&found);
            } else {
                print_tags(&found.tags, true);
                let shown = offset.saturating_mul(u64::from(!all)) + found.tags.len() as u64;
                if found.total > shown {
                    println!("… {} more (--all, or --offset {shown})", found.total - shown);
                }
            }
        }
        Command::Repos { name, json } => {
            let repos = berth.repositories(&name).await?;
            if json {
                print_json(&repos);
            } else {
                let w = repos.iter().map(|r| r.name.len()).max().unwrap_or(0);
                for r in repos {
                    let name = term_safe(&r.name);
                    match (r.tags, r.size) {
                        (Some(t), Some(s)) => println!("{name:w$}  {t:>6} tags  {:>10}", human_size(s)),
                        _ => println!("{name}"),
                    }
                }
            }
        }
        Command::Delete(a) => delete::delete(&berth, a).await?,
        Command::Untagged(a) => delete::untagged(&berth, a).await?,
        Command::DeleteRepository(a) => delete::delete_repository(&berth, a).await?,
        Command::Copy(a) => copy::copy(&berth, a).await?,
        Command::Retag(a) => copy::retag(&berth, a).await?,
        Command::Retention(a) => delete::retention(&berth, a).await?,
        Command::Trash(a) => delete::trash(&berth, a).await?,
        Command::Restore(a) => delete::restore(&berth, a).await?,
        Command::Audit(a) => delete::audit(&berth, a).await?,
        Command::Gc(a) => delete::gc(&berth, a).await?,
    }
    Ok(())
}

/// `repo:tag` or `repo@sha256:…` (a registry host is not part of it: the profile says where).
fn split_image(image: &str) -> Result<(&str, &str), ApiError> {
    let bad = || {
        ApiError::new(
            berth_core::ErrorCode::InvalidInput,
            format!("invalid image reference {image:?}"),
            "write REPO:TAG or REPO@sha256:DIGEST, e.g. team/app:1.2",
        )
    };
    if let Some((repo, digest)) = image.split_once('@') {
        return if repo.is_empty() || digest.is_empty() { Err(bad()) } else { Ok((repo, digest)) };
    }
    match image.rsplit_once(':') {
        Some((repo, tag)) if !repo.is_empty() && !tag.is_empty() && !tag.contains('/') => Ok((repo, tag)),
        _ => Err(bad()),
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn print_detail(d: &berth_core::ImageDetail) {
    println!("{}:{}", d.repository, d.reference);
    println!("digest      {}", d.digest);
    println!("media type  {}", d.media_type);
    println!("size        {}", human_size(d.size));
    for p in &d.platforms {
        let v = p.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default();
        let created = p.created.as_deref().unwrap_or("-");
        println!("platform    {}/{}{v}  {}  {}  {created}", p.os, p.architecture, p.digest, human_size(p.size));
    }
    if let Some(c) = &d.config {
        if let Some(created) = &c.created {
            println!("created     {created}");
        }
        for (k, v) in &c.labels {
            println!("label       {}={}", term_safe(k), term_safe(v));
        }
    }
    for l in &d.layers {
        println!("layer       {}  {}", l.digest, human_size(l.size));
    }
    for r in &d.referrers {
        println!(
            "referrer    {} {} ({})",
            r.digest,
            r.artifact_type.as_deref().or(r.tag.as_deref()).unwrap_or(""),
            r.source
        );
    }
    if !d.sibling_tags.is_empty() {
        println!("same digest {}", d.sibling_tags.join(", "));
    }
    if let Some(tag) = &d.pull_tag {
        println!("pull        {tag}");
    }
    println!("pull        {}", d.pull);
    match (d.source, &d.checked_at) {
        (berth_core::DetailSource::Registry, _) => {}
        (berth_core::DetailSource::Cache, Some(at)) => {
            println!("from        the cache (the registry confirmed it at {at})")
        }
        (berth_core::DetailSource::Cache, None) => println!("from        the cache"),
    }
    for n in &d.notes {
        eprintln!("berth: {n}");
    }
}

fn print_tags(tags: &[TagView], with_repo: bool) {
    for t in tags {
        let short = t.digest.get(..19).unwrap_or(&t.digest);
        let created = t.created.as_deref().unwrap_or("-");
        let platforms = t.platforms.join(",");
        let name = term_safe(&if with_repo { format!("{}:{}", t.repository, t.name) } else { t.name.clone() });
        println!(
            "{name}  {short}  {created}  {}  {}",
            human_size(t.size),
            if platforms.is_empty() { "-" } else { &platforms }
        );
    }
}
