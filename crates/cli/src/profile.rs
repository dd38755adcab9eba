//! `berth profile …` and `berth cert …`: profiles, credentials (OS keyring only) and certificates.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use berth_core::{
    AddProfileRequest, ApiError, Berth, CertificateDetail, EditProfileRequest, ErrorCode, ProfileView, Secret,
};
use clap::{Args, Subcommand, ValueEnum};

use crate::print_json;

#[derive(Subcommand)]
pub enum ProfileCmd {
    /// Add a profile.
    Add {
        name: String,
        /// Registry URL: https://host[:port] or, for an insecure registry, http://host:5000.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        opts: ProfileOpts,
    },
    /// Change a profile (only what is given changes).
    Edit {
        name: String,
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        opts: ProfileOpts,
        /// Remove the stored password (from the OS keyring).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
        /// Forget the imported CA certificates (before adding any --ca-file).
        #[arg(long)]
        clear_ca: bool,
        /// Remove the client certificate and key.
        #[arg(long, conflicts_with_all = ["client_cert", "client_key"])]
        no_client_cert: bool,
        /// Forget the pinned fingerprints (before adding any --pin-sha256).
        #[arg(long)]
        clear_pins: bool,
        /// Forget the trusted token services (before adding any --trust-token-service).
        #[arg(long)]
        forget_token_services: bool,
        /// Turn certificate verification back on.
        #[arg(long, conflicts_with = "insecure_skip_verify")]
        verify_tls: bool,
        /// How to run GC where the registry lives, run by the shell here; e.g.
        /// 'ssh admin@reg docker exec registry registry garbage-collect /etc/docker/registry/config.yml'
        /// (never with --delete-untagged on 2.x). An empty string clears it.
        #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
        gc_command: Option<String>,
        /// Run before GC, e.g. switch the registry to read-only mode. An empty string clears it.
        #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
        gc_before: Option<String>,
        /// Run after GC (also when it failed), e.g. leave read-only mode and restart. An empty string clears it.
        #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
        gc_after: Option<String>,
        /// The registry's storage.filesystem.rootdirectory (the empty-repository step, the storage
        /// scan for untagged manifests; syncs read tags from it in one command). An empty string clears it.
        #[arg(long, value_name = "DIR")]
        storage_root: Option<String>,
        /// Prefix that runs a command where the storage is, e.g. 'ssh admin@registry-host'. An empty
        /// string clears it (commands run here).
        #[arg(long, value_name = "PREFIX", allow_hyphen_values = true)]
        storage_remote: Option<String>,
    },
    /// Copy a profile (settings, certificates, keyring secrets) under a new name.
    Duplicate { name: String, new_name: String },
    /// Delete a profile, its certificate files, keyring entries and cache.
    #[command(visible_alias = "remove")]
    Rm { name: String },
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one profile.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Test the connection: ping, auth, TLS details, delete capability, and a diagnosis with its fix.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Create profiles from Docker's config.json (auths, credsStore, credHelpers) and /etc/docker/certs.d.
    ImportDockerConfig {
        /// Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
        path: Option<PathBuf>,
        /// Show the profiles it would create; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print a profile as JSON (no password, no client key).
    Export { name: String },
    /// Create a profile from a file written by `berth profile export` ("-" reads stdin).
    Import {
        file: PathBuf,
        /// Use this name instead of the exported one.
        #[arg(long)]
        name: Option<String>,
        /// Keep the file's GC commands (they run on this machine through sh -c; dropped otherwise).
        #[arg(long)]
        trust_commands: bool,
        /// Keep the file's insecure_skip_verify (no TLS verification; dropped otherwise).
        #[arg(long)]
        trust_insecure_tls: bool,
    },
    /// Trust on first use: show the server's certificate chain and trust its root (or pin its leaf).
    Trust {
        name: String,
        /// Pin the server's own certificate by fingerprint (for a self-signed certificate).
        #[arg(long)]
        pin: bool,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// What the machines that push and pull need: daemon.json, certs.d, docker login, podman.
    Snippets {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CertCmd {
    /// Show the certificates in a PEM file: subject, issuer, validity, SHA-256 fingerprint, CA or not.
    Show {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Registry,
    Nexus,
    Harbor,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Auth {
    None,
    Basic,
    Token,
}

/// Flags shared by `add` and `edit`.
#[derive(Args)]
pub struct ProfileOpts {
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Default: basic with --username, else none. token: the same credentials, sent to the token
    /// service the registry names.
    #[arg(long, value_enum)]
    auth: Option<Auth>,
    #[arg(long)]
    username: Option<String>,
    /// Read the password (or token) from stdin; it goes to the OS keyring only.
    #[arg(long)]
    password_stdin: bool,
    /// Read the client key's passphrase from stdin (after the password, on its own line, when both).
    #[arg(long)]
    key_passphrase_stdin: bool,
    /// A PEM file of CA certificates to trust (repeatable).
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
    /// Client certificate (PEM) for registries that require mTLS.
    #[arg(long, value_name = "PEM", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM; PKCS#8 may be encrypted).
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Do not verify the server's certificate (the profile is flagged).
    #[arg(long)]
    insecure_skip_verify: bool,
    /// Trust a server certificate with this SHA-256 fingerprint as it is (repeatable).
    #[arg(long = "pin-sha256", value_name = "HEX")]
    pins: Vec<String>,
    /// Send the password to this token service on another host than the registry's, as the
    /// connection test names it (https://auth.example.com; repeatable).
    #[arg(long = "trust-token-service", value_name = "ORIGIN")]
    token_services: Vec<String>,
}

fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, message, hint)
}

/// (password, passphrase) from stdin, as the flags ask: the whole of stdin (without its final line
/// break) for one, the first two lines for both.
fn read_secrets(password: bool, passphrase: bool) -> Result<(Option<Secret>, Option<Secret>), ApiError> {
    if !password && !passphrase {
        return Ok((None, None));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // At a terminal: asked for, without echo, one after the other.
        let ask = |what: &str| -> Result<Option<Secret>, ApiError> {
            let s = rpassword::prompt_password(format!("{what}: ")).map_err(|e| {
                invalid(format!("cannot read the {what} from the terminal: {e}"), "pipe it in instead: … | berth …")
            })?;
            if s.is_empty() {
                return Err(invalid(format!("no {what} given"), format!("type the {what}, or pipe it in")));
            }
            Ok(Some(Secret::new(s)))
        };
        let pw = if password { ask("password")? } else { None };
        let pp = if passphrase { ask("key passphrase")? } else { None };
        return Ok((pw, pp));
    }
    let read_err =
        |e: std::io::Error| invalid(format!("cannot read stdin: {e}"), "pipe the secret in: … | berth profile add …");
    let strip = |mut s: String| {
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
        s
    };
    let empty = |what: &str| invalid(format!("no {what} on stdin"), format!("pipe the {what} in, e.g. from a file"));
    if password && passphrase {
        let mut lines = stdin.lock().lines();
        let pw = strip(lines.next().transpose().map_err(read_err)?.unwrap_or_default());
        let pp = strip(lines.next().transpose().map_err(read_err)?.unwrap_or_default());
        if pw.is_empty() {
            return Err(empty("password"));
        }
        if pp.is_empty() {
            return Err(empty("key passphrase (second line)"));
        }
        return Ok((Some(Secret::new(pw)), Some(Secret::new(pp))));
    }
    let mut all = String::new();
    stdin.lock().read_to_string(&mut all).map_err(read_err)?;
    let s = strip(all);
    if s.is_empty() {
        return Err(empty(if password { "password" } else { "key passphrase" }));
    }
    let s = Some(Secret::new(s));
    Ok(if password { (s, None) } else { (None, s) })
}

fn kind_str(k: Kind) -> String {
    match k {
        Kind::Registry => "registry",
        Kind::Nexus => "nexus",
        Kind::Harbor => "harbor",
    }
    .into()
}

fn auth_str(a: Auth) -> String {
    match a {
        Auth::None => "none",
        Auth::Basic => "basic",
        Auth::Token => "token",
    }
    .into()
}

fn paths(v: &[PathBuf]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.iter().map(|p| p.display().to_string()).collect())
}

fn warn(p: &ProfileView) {
    for w in &p.warnings {
        eprintln!("berth: warning: {w}");
    }
}

pub async fn run_profile(berth: &Berth, cmd: ProfileCmd) -> Result<(), ApiError> {
    match cmd {
        ProfileCmd::Add { name, url, opts } => {
            let (password, key_passphrase) = read_secrets(opts.password_stdin, opts.key_passphrase_stdin)?;
            let req = AddProfileRequest {
                name,
                url,
                kind: opts.kind.map(kind_str),
                auth: opts.auth.map(auth_str),
                username: opts.username,
                password,
                ca_files: paths(&opts.ca_files),
                client_cert: opts.client_cert.map(|p| p.display().to_string()),
                client_key: opts.client_key.map(|p| p.display().to_string()),
                key_passphrase,
                insecure_skip_verify: opts.insecure_skip_verify.then_some(true),
                pinned_sha256: (!opts.pins.is_empty()).then_some(opts.pins),
                trusted_token_services: (!opts.token_services.is_empty()).then_some(opts.token_services),
            };
            let p = berth.add_profile(req).await?;
            println!("added profile {} → {}", p.name, p.url);
            if p.has_password {
                println!("password stored in the OS keyring");
            }
            warn(&p);
        }
        ProfileCmd::Edit {
            name,
            url,
            opts,
            no_password,
            clear_ca,
            no_client_cert,
            clear_pins,
            forget_token_services,
            verify_tls,
            gc_command,
            gc_before,
            gc_after,
            storage_root,
            storage_remote,
        } => {
            let (password, key_passphrase) = read_secrets(opts.password_stdin, opts.key_passphrase_stdin)?;
            let insecure = match (opts.insecure_skip_verify, verify_tls) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let req = EditProfileRequest {
                url,
                kind: opts.kind.map(kind_str),
                auth: opts.auth.map(auth_str),
                username: opts.username,
                password,
                clear_password: no_password.then_some(true),
                ca_files: paths(&opts.ca_files),
                clear_cas: clear_ca.then_some(true),
                client_cert: opts.client_cert.map(|p| p.display().to_string()),
                client_key: opts.client_key.map(|p| p.display().to_string()),
                clear_client_cert: no_client_cert.then_some(true),
                key_passphrase,
                insecure_skip_verify: insecure,
                pinned_sha256: (!opts.pins.is_empty()).then_some(opts.pins),
                clear_pins: clear_pins.then_some(true),
                trusted_token_services: (!opts.token_services.is_empty()).then_some(opts.token_services),
                clear_token_services: forget_token_services.then_some(true),
                gc_command,
                gc_before,
                gc_after,
                gc_storage_root: storage_root,
                gc_remote: storage_remote,
            };
            let p = berth.edit_profile(&name, req).await?;
            println!("updated profile {} → {}", p.name, p.url);
            warn(&p);
        }
        ProfileCmd::Duplicate { name, new_name } => {
            let p = berth.duplicate_profile(&name, &new_name).await?;
            println!("copied profile {name} to {} → {}", p.name, p.url);
        }
        ProfileCmd::Rm { name } => {
            let p = berth.delete_profile(&name).await?;
            println!("deleted profile {}", p.name);
        }
        ProfileCmd::List { json } => {
            let profiles = berth.profiles().await?;
            if json {
                print_json(&profiles);
            } else if profiles.is_empty() {
                println!("no profiles yet: berth profile add NAME --url https://registry.example.com");
            } else {
                let w = profiles.iter().map(|p| p.name.len()).max().unwrap_or(0);
                let wu = profiles.iter().map(|p| p.url.len()).max().unwrap_or(0);
                for p in profiles {
                    println!("{:w$}  {:8}  {:wu$}  {}", p.name, p.kind, p.url, flags(&p).join(", "));
                }
            }
        }
        ProfileCmd::Show { name, json } => {
            let p = berth.profile(&name).await?;
            if json {
                print_json(&p);
            } else {
                print_profile(&p);
            }
        }
        ProfileCmd::Test { name, json } => {
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
        ProfileCmd::ImportDockerConfig { path, dry_run, json } => {
            let r = if dry_run {
                berth.preview_docker_config(path.as_deref()).await?
            } else {
                berth.import_docker_config(path.as_deref()).await?
            };
            if json {
                print_json(&r);
            } else {
                println!("read {}", r.config);
                for p in &r.planned {
                    let user = p.username.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
                    let from = p.credentials.as_deref().map(|c| format!(", password from {c}")).unwrap_or_default();
                    println!("would create  {}  {}{user}{from}", p.name, p.url);
                    for f in &p.files {
                        println!("              uses {f}");
                    }
                }
                for p in &r.created {
                    let user = p.username.as_deref().map(|u| format!(" as {u}")).unwrap_or_default();
                    let pw = if p.has_password { ", password in the OS keyring" } else { "" };
                    println!("created  {}  {}{user}{pw}", p.name, p.url);
                }
                for s in &r.skipped {
                    println!("skipped  {}: {}", s.server, s.message);
                }
                for n in &r.notes {
                    println!("note     {}: {}", if n.server.is_empty() { "-" } else { &n.server }, n.message);
                }
                if r.created.is_empty() && r.planned.is_empty() && r.skipped.is_empty() {
                    println!("no registries in {}", r.config);
                }
            }
        }
        ProfileCmd::Export { name } => {
            let p = berth.profile(&name).await?;
            let e = berth.export_profile(&name).await?;
            print_json(&e);
            if p.has_password || p.tls.client_cert.is_some() {
                eprintln!(
                    "berth: note: the password and client key are not exported; after import, add them with berth profile edit"
                );
            }
        }
        ProfileCmd::Import { file, name, trust_commands, trust_insecure_tls } => {
            let export = if file.as_os_str() == "-" {
                let mut b = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut b)
                    .map_err(|e| invalid(format!("cannot read stdin: {e}"), "pipe a profile file in"))?;
                berth_core::parse_profile_export(&b, "stdin")?
            } else {
                berth_core::read_profile_export(&file)?
            };
            let trust = berth_core::ImportTrust { gc_commands: trust_commands, insecure_tls: trust_insecure_tls };
            let report = berth.import_profile(export, name, trust).await?;
            for d in &report.dropped {
                eprintln!("berth: {d} (keep it with --trust-commands / --trust-insecure-tls)");
            }
            let p = report.profile;
            println!("imported profile {} → {}", p.name, p.url);
            if p.username.is_some() && !p.has_password {
                println!("set its password with: berth profile edit {} --password-stdin", p.name);
            }
            warn(&p);
        }
        ProfileCmd::Trust { name, pin, yes, json } => {
            let chain = berth.server_certificates(&name).await?;
            if !json {
                println!("the server of profile {name} presents:");
                for (i, c) in chain.iter().enumerate() {
                    print_cert(&format!("[{i}] "), c);
                }
            }
            let chosen = chain[berth_core::trust_choice(&name, &chain, pin)?].clone();
            let what = if pin {
                format!("pin the server's certificate \"{}\"", chosen.subject)
            } else {
                format!("trust \"{}\" as a CA", chosen.subject)
            };
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(invalid(
                        format!("not trusting anything: stdin is not a terminal, so I cannot ask whether to {what}"),
                        format!("check the certificate, then run again with --yes (berth profile trust {name} --yes)"),
                    ));
                }
                eprint!("{} for profile {name}? SHA-256 {}. [y/N] ", capital(&what), chosen.sha256_fingerprint);
                let _ = std::io::stderr().flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
                    return Err(ApiError::new(ErrorCode::Cancelled, "nothing trusted", ""));
                }
            }
            let r = berth.trust_server(&name, pin, Some(&chosen.sha256_fingerprint)).await?;
            if json {
                print_json(&r);
            } else if r.mode == "pin" {
                println!(
                    "pinned {} (SHA-256 {}) for profile {name}",
                    r.certificate.subject, r.certificate.sha256_fingerprint
                );
            } else {
                println!(
                    "imported {} (SHA-256 {}) as a CA of profile {name}",
                    r.certificate.subject, r.certificate.sha256_fingerprint
                );
            }
        }
        ProfileCmd::Snippets { name, json } => {
            let v = berth.snippets(&name).await?;
            if json {
                print_json(&v);
            } else {
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        println!();
                    }
                    println!("# {}", s.title);
                    print!("{}", s.text);
                }
            }
        }
    }
    Ok(())
}

pub fn run_cert(cmd: CertCmd) -> Result<(), ApiError> {
    match cmd {
        CertCmd::Show { file, json } => {
            let certs = berth_core::show_certificate_file(&file)?;
            if json {
                // One certificate: an object; a bundle: an array.
                match certs.as_slice() {
                    [one] => print_json(one),
                    many => print_json(&many),
                }
            } else {
                for (i, c) in certs.iter().enumerate() {
                    let prefix = if certs.len() > 1 { format!("[{i}] ") } else { String::new() };
                    print_cert(&prefix, c);
                }
            }
            for c in certs.iter().filter(|c| c.expired) {
                eprintln!("berth: warning: \"{}\" expired on {}", c.subject, c.not_after);
            }
        }
    }
    Ok(())
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn print_cert(prefix: &str, c: &CertificateDetail) {
    let pad = " ".repeat(prefix.chars().count());
    println!("{prefix}subject      {}", c.subject);
    println!("{pad}issuer       {}", c.issuer);
    println!("{pad}valid        {} .. {}{}", c.not_before, c.not_after, if c.expired { "  (EXPIRED)" } else { "" });
    println!("{pad}sha256       {}", c.sha256_fingerprint);
    println!(
        "{pad}CA           {}{}",
        if c.is_ca { "yes" } else { "no" },
        if c.self_signed { " (self-signed)" } else { "" }
    );
    if !c.names.is_empty() {
        println!("{pad}names        {}", c.names.join(", "));
    }
}

fn flags(p: &ProfileView) -> Vec<String> {
    let mut f = Vec::new();
    if p.auth != "none" {
        f.push(format!("{} {}", p.auth, p.username.as_deref().unwrap_or("")));
    }
    if p.has_password {
        f.push("password".into());
    }
    if !p.tls.cas.is_empty() {
        f.push(format!("{} CA", p.tls.cas.len()));
    }
    if p.tls.client_cert.is_some() {
        f.push("client cert".into());
    }
    if !p.tls.pinned_sha256.is_empty() {
        f.push("pinned".into());
    }
    if p.tls.insecure_skip_verify {
        f.push("INSECURE".into());
    }
    f
}

fn print_profile(p: &ProfileView) {
    println!("name      {}", p.name);
    println!("url       {}", p.url);
    println!("kind      {}", p.kind);
    println!("auth      {}{}", p.auth, p.username.as_deref().map(|u| format!(" (user {u})")).unwrap_or_default());
    println!("password  {}", if p.has_password { "in the OS keyring" } else { "none" });
    for c in &p.tls.cas {
        println!("CA        {}  (until {}, sha256 {})", c.subject, c.not_after, c.sha256_fingerprint);
    }
    if let Some(c) = &p.tls.client_cert {
        println!("client    {}  (until {})", c.subject, c.not_after);
    }
    for pin in &p.tls.pinned_sha256 {
        println!("pinned    {pin}");
    }
    if p.tls.insecure_skip_verify {
        println!("TLS       certificate verification OFF");
    }
    for t in &p.tls.trusted_token_services {
        println!("token     {t} (another host, trusted with the password)");
    }
    for w in &p.warnings {
        println!("warning   {w}");
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
    if let Some(t) = &r.token_service {
        let whose = match (t.other_host, t.trusted) {
            (false, _) => "the registry's own host",
            (true, true) => "another host, trusted for this profile",
            (true, false) => "another host, NOT trusted: no password is sent there",
        };
        println!("token     {} ({whose})", t.realm);
    }
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
