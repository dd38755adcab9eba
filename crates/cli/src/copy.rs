//! `berth copy` and `berth retag`: a plan first (what is sent, skipped, mounted and tagged); nothing
//! is written without `--yes`.

use berth_core::{ApiError, Berth, BlobAction, CopyPlan, CopyRequest, ErrorCode, TagAction};
use clap::Args;

use crate::delete::ctrl_c_cancels;
use crate::{human_size, print_json, term_safe};

#[derive(Args)]
pub struct CopyArgs {
    /// The source profile.
    source: String,
    /// REPO:TAG, REPO@sha256:DIGEST, REPO (every tag) or REPO:PATTERN ('1.*'), one or more.
    #[arg(required = true, value_name = "REF")]
    refs: Vec<String>,
    /// TARGET_PROFILE[/REPO][:TAG]: REPO and TAG may use {repo} and {tag} (default: the source's names).
    #[arg(long, value_name = "TARGET")]
    to: String,
    /// Move target tags that point at another image (refused otherwise).
    #[arg(long)]
    overwrite: bool,
    /// Copy signatures, SBOMs and attestations (OCI referrers and cosign tags) along.
    #[arg(long)]
    with_referrers: bool,
    /// Show the plan only (the default without --yes).
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Copy what the plan shows.
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RetagArgs {
    /// Profile name.
    name: String,
    /// REPO:TAG or REPO@sha256:DIGEST.
    reference: String,
    /// The new tag (in the same repository).
    new_tag: String,
    /// Move NEW_TAG if it points at another image.
    #[arg(long)]
    overwrite: bool,
    #[arg(long)]
    json: bool,
}

/// `TARGET_PROFILE[/REPO][:TAG]` → (profile, repository, tag). A profile name has no '/'.
fn parse_target(t: &str) -> (String, Option<String>, Option<String>) {
    let (profile, rest) = match t.split_once('/') {
        Some((p, r)) => (p.to_string(), Some(r.to_string())),
        None => (t.to_string(), None),
    };
    let (profile, tag_on_profile) = match rest {
        Some(_) => (profile, None),
        None => match profile.split_once(':') {
            Some((p, tag)) => (p.to_string(), Some(tag.to_string())),
            None => (profile, None),
        },
    };
    let (repo, tag) = match rest {
        Some(r) => match r.rsplit_once(':') {
            Some((repo, tag)) => (Some(repo.to_string()), Some(tag.to_string())),
            None => (Some(r), None),
        },
        None => (None, tag_on_profile),
    };
    (profile, repo.filter(|r| !r.is_empty()), tag.filter(|t| !t.is_empty()))
}

pub async fn copy(berth: &Berth, a: CopyArgs) -> Result<(), ApiError> {
    let (target, repo, tag) = parse_target(&a.to);
    let request = CopyRequest {
        sources: a.refs.clone(),
        target_repository: repo,
        target_tag: tag,
        overwrite: a.overwrite,
        with_referrers: a.with_referrers,
    };
    let cancel = ctrl_c_cancels();
    let plan = berth.plan_copy(&a.source, &target, &request, &cancel).await?;
    if !a.json {
        print_plan(&plan);
    }
    for r in &plan.refused {
        eprintln!("refused {}: {}. {}", term_safe(&r.reference), term_safe(&r.reason), r.hint);
    }
    if !a.yes || a.dry_run || plan.images.is_empty() {
        if a.json {
            print_json(&serde_json::json!({ "plan": plan }));
        }
        if !plan.images.is_empty() {
            eprintln!("dry run: nothing was copied. Run again with --yes to copy what is listed above.");
        }
        return if plan.images.is_empty() && !plan.refused.is_empty() {
            Err(ApiError::new(ErrorCode::InvalidInput, "nothing can be copied", "see the refusals above"))
        } else {
            Ok(())
        };
    }
    let bar = indicatif::ProgressBar::new(plan.bytes_to_send.max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    let progress = |p: &berth_core::CopyProgress| {
        bar.set_position(p.bytes_done);
        bar.set_message(format!(
            "{} · images {}/{} · blobs {}/{}",
            p.phase, p.images_done, p.images_total, p.blobs_done, p.blobs_total
        ));
    };
    let result = berth.execute_copy(&plan, &cancel, &progress).await;
    bar.finish_and_clear();
    let report = result?;
    if a.json {
        print_json(&serde_json::json!({ "plan": plan, "report": report }));
    } else {
        for r in &report.results {
            println!("{:<8} {} → {}  {}", r.result, term_safe(&r.source), term_safe(&r.target), term_safe(&r.message));
        }
        println!(
            "{} blob(s) sent ({}), {} already there, {} mounted; {}",
            report.blobs_sent,
            human_size(report.bytes_sent),
            report.blobs_present,
            report.blobs_mounted,
            if report.verified { "verified on the target" } else { "NOT all verified on the target" }
        );
    }
    finish(&report, &plan.target_profile)
}

fn finish(report: &berth_core::CopyReport, target: &str) -> Result<(), ApiError> {
    if report.cancelled {
        return Err(ApiError::new(
            ErrorCode::Cancelled,
            "cancelled",
            "run the same copy again to finish it: blobs the target has are not sent again",
        ));
    }
    let failed = report.results.iter().filter(|r| r.result != "copied").count();
    if failed > 0 {
        return Err(ApiError::new(
            ErrorCode::Registry,
            format!("{failed} of {} images were not copied", report.results.len()),
            format!("see each line above (and `berth audit {target}`)"),
        ));
    }
    Ok(())
}

fn print_plan(p: &CopyPlan) {
    for i in &p.images {
        let target = match &i.target_tag {
            Some(t) => format!("{}/{}:{t}", p.target_profile, i.target_repository),
            None => format!("{}/{}@{}", p.target_profile, i.target_repository, i.digest),
        };
        let tag = match &i.tag_action {
            TagAction::Create => "new tag".to_string(),
            TagAction::Same => "tag already there".to_string(),
            TagAction::Overwrite { previous } => format!("OVERWRITES {}", short(previous)),
            TagAction::Untagged => "by digest".to_string(),
        };
        let send = i.blobs.iter().filter(|b| b.action == BlobAction::Send).count();
        let present = i.blobs.iter().filter(|b| b.action == BlobAction::Present).count();
        let mount = i.blobs.iter().filter(|b| matches!(b.action, BlobAction::Mount { .. })).count();
        println!(
            "copy    {}/{}:{} → {target}  ({}; {} manifest(s); blobs: {send} to send, {present} there, {mount} to mount; {})",
            p.source_profile,
            term_safe(&i.source_repository),
            term_safe(&i.source_reference),
            tag,
            i.manifests.len(),
            human_size(i.bytes_to_send)
        );
        for r in &i.referrers {
            println!(
                "  with  {} {}",
                term_safe(&r.kind),
                r.tag.as_deref().map(term_safe).unwrap_or_else(|| short(&r.digest))
            );
        }
    }
    println!(
        "{} image(s): {} blob(s) to send ({}), {} already on the target, {} to mount",
        p.images.len(),
        p.blobs_to_send,
        human_size(p.bytes_to_send),
        p.blobs_present,
        p.blobs_to_mount
    );
    for n in &p.notes {
        println!("note: {n}");
    }
}

fn short(d: &str) -> String {
    d.get(..19).unwrap_or(d).to_string()
}

pub async fn retag(berth: &Berth, a: RetagArgs) -> Result<(), ApiError> {
    let cancel = ctrl_c_cancels();
    let (plan, report) = berth.retag(&a.name, &a.reference, &a.new_tag, a.overwrite, &cancel).await?;
    if a.json {
        print_json(&serde_json::json!({ "plan": plan, "report": report }));
    } else {
        for r in &report.results {
            println!("{:<8} {} → {}  {}", r.result, term_safe(&r.source), term_safe(&r.target), term_safe(&r.message));
        }
    }
    finish(&report, &a.name)
}

#[cfg(test)]
mod tests {
    use super::parse_target;

    #[test]
    fn targets_parse() {
        assert_eq!(parse_target("prod"), ("prod".into(), None, None));
        assert_eq!(parse_target("prod:stable"), ("prod".into(), None, Some("stable".into())));
        assert_eq!(parse_target("prod/team/app"), ("prod".into(), Some("team/app".into()), None));
        assert_eq!(
            parse_target("prod/team/app:{tag}-rc"),
            ("prod".into(), Some("team/app".into()), Some("{tag}-rc".into()))
        );
        assert_eq!(parse_target("prod/mirror/{repo}"), ("prod".into(), Some("mirror/{repo}".into()), None));
    }
}
