//! `berth`: a thin command line over berth-core. Output on stdout (JSON with --json), one clear error
//! line on stderr and a non-zero exit code on failure.

use std::path::PathBuf;
use std::process::ExitCode;

use berth_core::{AddProfileRequest, ApiError, Berth};
use clap::{Parser, Subcommand};

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
    /// Manage registry profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Show one image: platforms, layers, config, referrers, sibling tags.
    Inspect {
        /// Profile name.
        name: String,
        /// REPO:TAG or REPO@sha256:DIGEST.
        image: String,
        #[arg(long)]
        json: bool,
    },
    /// List the repositories of a profile's registry.
    Repos {
        /// Profile name.
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ProfileCmd {
    /// Add a profile.
    Add {
        name: String,
        /// Registry URL: https://host[:port] or, for an insecure registry, http://host:5000.
        #[arg(long)]
        url: String,
    },
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Test the connection: ping, auth, TLS details, delete capability, and a diagnosis with its fix.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.hint.is_empty() {
                eprintln!("berth: {}", e.message);
            } else {
                eprintln!("berth: {}. {}", e.message, capitalize(&e.hint));
            }
            ExitCode::FAILURE
        }
    }
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
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => berth_core::default_data_dir()?,
    };
    let berth = Berth::open(&data_dir).await?;
    match cli.command {
        Command::Profile(ProfileCmd::Add { name, url }) => {
            let p = berth.add_profile(AddProfileRequest { name, url }).await?;
            println!("added profile {} → {}", p.name, p.url);
        }
        Command::Profile(ProfileCmd::List { json }) => {
            let profiles = berth.profiles().await?;
            if json {
                print_json(&profiles);
            } else if profiles.is_empty() {
                println!("no profiles yet: berth profile add NAME --url https://registry.example.com");
            } else {
                let w = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
                for p in profiles {
                    println!("{:w$}  {:8}  {}", p.name, p.kind, p.url);
                }
            }
        }
        Command::Profile(ProfileCmd::Test { name, json }) => {
            let report = berth.test_profile(&name).await?;
            if json {
                print_json(&report);
            } else {
                print_report(&report);
            }
            if let Some(e) = report.error.filter(|_| !report.ok) {
                return Err(e);
            }
        }
        Command::Inspect { name, image, json } => {
            let (repo, reference) = split_image(&image)?;
            let detail = berth.inspect(&name, repo, reference).await?;
            if json {
                print_json(&detail);
            } else {
                print_detail(&detail);
            }
        }
        Command::Repos { name, json } => {
            let repos = berth.repositories(&name).await?;
            if json {
                print_json(&repos);
            } else {
                for r in repos {
                    println!("{}", r.name);
                }
            }
        }
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

fn print_report(r: &berth_core::ConnectionReport) {
    println!("profile   {}", r.profile);
    println!("url       {}", r.url);
    match r.status {
        Some(s) => {
            println!("ping      {s} {}", r.api_version.as_deref().unwrap_or("(no Docker-Distribution-Api-Version)"))
        }
        None => println!("ping      failed"),
    }
    println!("auth      {}", r.auth.as_deref().unwrap_or("none"));
    for (i, c) in r.certificates.iter().enumerate() {
        println!(
            "cert[{i}]   {}  (issuer {}; valid {} .. {}; CA: {}; sha256 {})",
            c.subject, c.issuer, c.not_before, c.not_after, c.is_ca, c.sha256
        );
    }
    match (r.catalog_accessible, r.repositories) {
        (Some(true), Some(n)) => println!("catalog   {n} repositories"),
        (Some(false), _) => println!("catalog   not accessible to this account (type repository names instead)"),
        _ => {}
    }
    if let (Some(d), Some(x)) = (&r.delete, &r.delete_explained) {
        println!("delete    {d}: {x}");
    }
    if let Some(e) = &r.error {
        println!("problem   {}", e.message);
        println!("fix       {}", e.hint);
    }
}

fn print_detail(d: &berth_core::ImageDetail) {
    println!("{}:{}", d.repository, d.reference);
    println!("digest      {}", d.digest);
    println!("media type  {}", d.media_type);
    println!("size        {}", human_size(d.size));
    for p in &d.platforms {
        let v = p.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default();
        println!("platform    {}/{}{v}  {}  {}", p.os, p.architecture, p.digest, human_size(p.size));
    }
    if let Some(c) = &d.config {
        if let Some(created) = &c.created {
            println!("created     {created}");
        }
        for (k, v) in &c.labels {
            println!("label       {k}={v}");
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
    println!("pull        {}", d.pull);
}
