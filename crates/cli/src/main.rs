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
