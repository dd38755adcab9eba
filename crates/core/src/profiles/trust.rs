//! The certificate chain a profile's server presents, and trust on first use (import its CA or
//! pin the leaf).

use super::*;

/// The chain the profile's server presents (leaf first), fetched without verifying it.
pub(crate) async fn server_chain(berth: &Berth, name: &str) -> Result<Vec<CertificateDetail>, ApiError> {
    let row = berth.store().profile(name).await?;
    Ok(fetch_chain(&row).await?.into_iter().map(|c| c.detail).collect())
}

async fn fetch_chain(row: &ProfileRow) -> Result<Vec<ParsedCert>, ApiError> {
    let url = berth_registry::parse_registry_url(&row.url)?;
    if url.scheme() != "https" {
        return Err(invalid(
            format!("profile {:?} uses plain HTTP ({}): there is no certificate to trust", row.name, row.url),
            "only https:// profiles have certificates",
        ));
    }
    let chain = berth_registry::fetch_certificate_chain(&url).await?;
    let mut out = Vec::new();
    for c in chain {
        out.extend(certs::parse_pem_certificates(c.pem.as_bytes(), "the server's certificate")?);
    }
    Ok(out)
}

/// Trust on first use: fetch the chain again, check that the certificate the user saw (`sha256`,
/// when given) is the one to trust, then import the topmost certificate as a CA — or, with `pin`,
/// pin the leaf by fingerprint (for a self-signed certificate that is its own CA).
pub(crate) async fn trust(berth: &Berth, name: &str, pin: bool, sha256: Option<&str>) -> Result<TrustResult, ApiError> {
    let row = berth.store().profile(name).await?;
    let chain = fetch_chain(&row).await?;
    let details: Vec<CertificateDetail> = chain.iter().map(|c| c.detail.clone()).collect();
    let chosen = chain[trust_choice(name, &details, pin)?].clone();
    if let Some(expected) = sha256 {
        if normalize_fingerprint(expected)? != chosen.detail.sha256_fingerprint {
            return Err(invalid(
                "the server now presents a different certificate than the one shown",
                "run the command again and check the new certificate before trusting it",
            ));
        }
    }
    let mut changes = Changes::default();
    let mode = if pin {
        changes.pins.push(chosen.detail.sha256_fingerprint.clone());
        "pin"
    } else {
        changes.ca_pems.push(("the server's certificate".into(), chosen.pem().into_bytes()));
        "ca"
    };
    let profile = update(berth, name, changes).await?;
    Ok(TrustResult { profile, certificate: chosen.detail, mode: mode.into() })
}

/// Trusts the token service on another host that the profile's registry names with its password.
/// The registry is asked again which one it names (without sending the password anywhere): it must
/// be the one the user saw (`origin`).
pub(crate) async fn trust_token_service(berth: &Berth, name: &str, origin: &str) -> Result<ProfileView, ApiError> {
    let want = berth_registry::token_service_origin(origin).ok_or_else(|| {
        invalid(format!("{origin:?} is not a token service address"), "give it as https://auth.example.com")
    })?;
    let session = berth.session(name).await?;
    // The ping stops before any password leaves for an untrusted host; it records the realm.
    let _ = session.client().ping().await;
    match session.client().token_service() {
        Some(t) if t.origin == want => {}
        Some(t) => {
            return Err(invalid(
                format!("the registry of profile {name:?} now names another token service, {}", t.origin),
                "test the connection again and check the token service it shows before trusting it",
            ))
        }
        None => {
            return Err(invalid(
                format!("the registry of profile {name:?} asks for no token: there is no token service to trust"),
                "test the connection again",
            ))
        }
    }
    let changes = Changes { token_services: vec![want], ..Changes::default() };
    update(berth, name, changes).await
}

/// Which certificate of a server's chain (leaf first) trust on first use would trust for profile
/// `name`: the leaf to pin with `pin`, else the topmost one as a CA — or why neither can work.
pub fn trust_choice(name: &str, chain: &[CertificateDetail], pin: bool) -> Result<usize, ApiError> {
    if chain.is_empty() {
        return Err(invalid("the server presented no certificate", "check that the URL's port speaks TLS"));
    }
    let i = if pin { 0 } else { chain.len() - 1 };
    let c = &chain[i];
    if c.expired {
        return Err(invalid(
            format!("the certificate \"{}\" expired on {}", c.subject, c.not_after),
            "the registry's certificate must be renewed first",
        ));
    }
    if !pin {
        if chain.len() == 1 && c.is_ca && c.self_signed {
            return Err(invalid(
                "the server's only certificate is a self-signed certificate marked as a CA, which TLS libraries refuse as a server certificate even when trusted",
                "pin this certificate instead (or re-issue it without CA:TRUE)",
            )
            .with_fix(crate::FixAction::TrustServer { profile: name.to_string() }, format!("berth profile trust {name} --pin")));
        }
        if !c.is_ca && !c.self_signed {
            return Err(invalid(
                format!("the server sends only its own certificate, not the CA that signed it ({})", c.issuer),
                "import the file of the CA that signed it into the profile, or pin this certificate",
            )
            .edit(
                name,
                crate::ProfileField::CaFile,
                format!("berth profile edit {name} --ca-file FILE (or pin it: berth profile trust {name} --pin)"),
            ));
        }
    }
    Ok(i)
}
