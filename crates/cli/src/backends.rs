//! `berth harbor …` and `berth nexus …`: thin wrappers over berth-core's backend operations.

use berth_core::{ApiError, Berth, DeleteMode, PlanOptions};
use clap::Subcommand;

use crate::delete::delete_images;
use crate::{human_size, print_json};

#[derive(Subcommand)]
pub enum HarborCmd {
    /// Projects visible to the profile's account, with quota usage.
    Projects {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Artifacts of a repository (PROJECT/REPO), untagged ones included.
    Artifacts {
        name: String,
        repo: String,
        #[arg(long)]
        json: bool,
    },
    /// Each project's own tag immutability rules and tag retention policy.
    Policies {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove one tag through Harbor's API (the artifact and its other tags stay): `berth delete
    /// --untag-only`, with its plan, trash entry and audit row.
    DeleteTag {
        name: String,
        /// PROJECT/REPO:TAG
        image: String,
        /// Really delete (without it, only show the plan).
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete an artifact with all its tags: `berth delete --image`, with its plan, trash and audit.
    DeleteArtifact {
        name: String,
        /// PROJECT/REPO:TAG or PROJECT/REPO@sha256:DIGEST
        image: String,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum NexusCmd {
    /// Find the docker repositories of a Nexus server profile and create one profile per repository.
    Discover {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Blob stores with the space they use.
    Blobstores {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Components (image:tag) of a Nexus repository profile with their assets, page by page.
    Components {
        name: String,
        /// Every page (else the first, with the token of the next).
        #[arg(long)]
        all: bool,
        #[arg(long)]
        continuation_token: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The docker GC, compact and cleanup tasks with their last run.
    Tasks {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Docker cleanup policies and the repositories they are attached to.
    CleanupPolicies {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove IMAGE:TAG of a Nexus repository profile through the components API: `berth delete
    /// --untag-only`, with its plan, trash entry and audit row.
    DeleteTag {
        name: String,
        image: String,
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_harbor(berth: &Berth, cmd: HarborCmd) -> Result<(), ApiError> {
    match cmd {
        HarborCmd::Projects { name, json } => {
            let projects = berth.harbor_projects(&name).await?;
            if json {
                print_json(&projects);
            } else {
                for p in projects {
                    let vis = if p.public { "public" } else { "private" };
                    let quota = match p.quota_used {
                        Some(used) => {
                            let limit = p.quota_limit.map(human_size).unwrap_or_else(|| "unlimited".into());
                            format!("{} of {limit}", human_size(used))
                        }
                        None => "quota not visible to this account".into(),
                    };
                    let role = p.role.as_deref().map(|r| format!("  as {r}")).unwrap_or_default();
                    let rights = p.rights.as_deref().map(|r| format!("  may {r}")).unwrap_or_default();
                    println!("{}  {vis}  {} repositories  {quota}{role}{rights}", p.name, p.repo_count);
                    for h in &p.hidden {
                        println!("    {h}");
                    }
                }
            }
        }
        HarborCmd::Artifacts { name, repo, json } => {
            let arts = berth.harbor_artifacts(&name, &repo).await?;
            if json {
                print_json(&arts);
            } else {
                for a in arts {
                    let names: Vec<String> = a
                        .tags
                        .iter()
                        .map(|t| if t.immutable { format!("{} (immutable)", t.name) } else { t.name.clone() })
                        .collect();
                    let tags = if names.is_empty() { "<untagged>".to_string() } else { names.join(",") };
                    let scan = a
                        .scan
                        .as_ref()
                        .map(|s| format!("  scan: {}", s.severity.as_deref().unwrap_or(&s.status)))
                        .unwrap_or_default();
                    println!("{}  {}  {tags}  {}{scan}", a.digest, a.kind, human_size(a.size));
                    for x in &a.accessories {
                        println!("    └ {} {}  {}", x.kind, x.digest, human_size(x.size));
                    }
                }
            }
        }
        HarborCmd::Policies { name, json } => {
            let policies = berth.harbor_policies(&name).await?;
            if json {
                print_json(&policies);
            } else {
                for p in policies {
                    println!("{}", p.project);
                    match &p.retention {
                        Some(rules) => {
                            let schedule = p.retention_schedule.as_deref().unwrap_or("no schedule");
                            println!("  retention ({schedule}): a tag is kept when any rule retains it");
                            for r in rules {
                                let off = if r.disabled { " (disabled)" } else { "" };
                                println!("    #{} {}: {}{off}", r.id, r.action, r.scope);
                            }
                        }
                        None => println!("  retention: none"),
                    }
                    for r in p.immutable.iter().flatten() {
                        println!("  immutable #{}: {}", r.id, r.scope);
                    }
                    for h in &p.hidden {
                        println!("  {h}");
                    }
                }
            }
        }
        HarborCmd::DeleteTag { name, image, yes, json } => {
            let options = PlanOptions { mode: DeleteMode::UntagOnly, ..PlanOptions::default() };
            delete_images(berth, &name, &[image], options, yes, json).await?;
        }
        HarborCmd::DeleteArtifact { name, image, yes, json } => {
            let options = PlanOptions { mode: DeleteMode::Image, ..PlanOptions::default() };
            delete_images(berth, &name, &[image], options, yes, json).await?;
        }
    }
    Ok(())
}

pub async fn run_nexus(berth: &Berth, cmd: NexusCmd) -> Result<(), ApiError> {
    match cmd {
        NexusCmd::Discover { name, json } => {
            let found = berth.nexus_discover(&name).await?;
            if json {
                print_json(&found);
            } else {
                for r in &found.repositories {
                    let new = if r.created { " (new profile)" } else { "" };
                    let ro = r.read_only.as_deref().map(|w| format!("  [read-only: {w}]")).unwrap_or_default();
                    println!("{}  {}  {}  → profile {}{new}{ro}", r.name, r.kind, r.endpoint, r.profile);
                }
                for p in &found.removed {
                    println!("removed profile {p}: its repository is gone from Nexus");
                }
            }
        }
        NexusCmd::Components { name, all, continuation_token, json } => {
            let mut token = continuation_token;
            let mut pages = Vec::new();
            loop {
                let page = berth.nexus_components(&name, token.as_deref()).await?;
                token = page.continuation_token.clone();
                let last = page.items.is_empty() || token.is_none();
                pages.push(page);
                if !all || last {
                    break;
                }
            }
            if json {
                print_json(&pages);
            } else {
                for c in pages.iter().flat_map(|p| &p.items) {
                    let size: u64 = c.assets.iter().filter_map(|a| a.size).sum();
                    println!(
                        "{}:{}  {}  {} asset(s)  {}",
                        c.image,
                        c.tag,
                        c.digest.as_deref().unwrap_or("?"),
                        c.assets.len(),
                        human_size(size)
                    );
                }
                if let Some(t) = pages.last().and_then(|p| p.continuation_token.as_deref()).filter(|_| !all) {
                    println!("more: --continuation-token {t}");
                }
            }
        }
        NexusCmd::Tasks { name, json } => {
            let tasks = berth.nexus_tasks(&name).await?;
            if json {
                print_json(&tasks);
            } else {
                for t in tasks {
                    let last = t.last_run.as_deref().unwrap_or("never");
                    let result = t.last_result.as_deref().unwrap_or("-");
                    println!("{}  {}  {}  last run {last}: {result}", t.name, t.kind, t.state);
                }
            }
        }
        NexusCmd::CleanupPolicies { name, json } => {
            let c = berth.nexus_cleanup_policies(&name).await?;
            if json {
                print_json(&c);
            } else if !c.available {
                println!("this Nexus has no cleanup policy API, or the account may not read it");
            } else {
                for p in c.policies {
                    let age = p.last_blob_updated_days.map(|d| format!("older than {d} days")).unwrap_or_default();
                    println!("{}  {}  {age}  → {}", p.name, p.format, p.repositories.join(", "));
                }
            }
        }
        NexusCmd::Blobstores { name, json } => {
            let stores = berth.nexus_blob_stores(&name).await?;
            if json {
                print_json(&stores);
            } else {
                for b in stores {
                    println!("{}  {}  {} blobs  {} used", b.name, b.kind, b.blob_count, human_size(b.total_size));
                }
            }
        }
        NexusCmd::DeleteTag { name, image, yes, json } => {
            let options = PlanOptions { mode: DeleteMode::UntagOnly, ..PlanOptions::default() };
            delete_images(berth, &name, &[image], options, yes, json).await?;
        }
    }
    Ok(())
}
