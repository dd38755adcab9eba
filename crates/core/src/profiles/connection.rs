//! What an operation connects with: the profile's row, its credentials (one keyring read) and
//! its TLS settings (its certificate files).

use super::*;

/// What a profile connects with: its row, credentials (from the keyring) and TLS settings (from
/// its files). The registry client and the Harbor/Nexus API clients are built from it.
pub(crate) struct Connection {
    pub row: ProfileRow,
    pub creds: Credentials,
    pub tls: TlsOptions,
}

pub(crate) async fn connection(berth: &Berth, name: &str) -> Result<Connection, ApiError> {
    let row = berth.store().profile(name).await?;
    let s = &row.settings;
    let need_pw = s.auth != AuthMode::None && s.has_password;
    let need_pp = s.client_key_file.is_some() && s.has_key_passphrase;
    let (password, passphrase) = if need_pw || need_pp {
        let n = row.name.clone();
        keyring(&berth.secrets, move |st| {
            let pw = if need_pw { st.get(&n, SecretKind::Password)? } else { None };
            let pp = if need_pp { st.get(&n, SecretKind::KeyPassphrase)? } else { None };
            Ok((pw, pp))
        })
        .await?
    } else {
        (None, None)
    };
    let missing = |what: &str| {
        ApiError::new(
            ErrorCode::Keyring,
            format!("the OS keyring has no {what} for profile {:?}", row.name),
            "store it again in the profile",
        )
        .edit(
            &row.name,
            crate::ProfileField::Password,
            format!("berth profile edit {} --password-stdin", row.name),
        )
    };
    let creds = match (&row.username, s.auth) {
        (Some(u), AuthMode::Basic | AuthMode::Token) => {
            let pw = match password {
                Some(p) => p,
                None if need_pw => return Err(missing("password")),
                None => Secret::new(""),
            };
            Credentials::Basic { username: u.clone(), password: pw.expose().to_string() }
        }
        _ => Credentials::Anonymous,
    };
    let mut tls = TlsOptions {
        pinned_sha256: s.pinned_sha256.clone(),
        insecure_skip_verify: s.insecure_skip_verify,
        trusted_token_services: s.trusted_token_services.clone(),
        ..TlsOptions::default()
    };
    for ca in &s.cas {
        tls.extra_ca_pem.push(
            certs::read_file(&berth.data_dir().join(&ca.file))
                .map_err(|e| missing_file(&row, e, crate::ProfileField::CaFile))?,
        );
    }
    if let (Some(cert), Some(key)) = (&s.client_cert_file, &s.client_key_file) {
        let cert_missing = |e| missing_file(&row, e, crate::ProfileField::ClientCertificate);
        let cert_pem = certs::read_file(&berth.data_dir().join(cert)).map_err(cert_missing)?;
        let key_path = berth.data_dir().join(key);
        let key = certs::load_client_key(&key_path).map_err(cert_missing)?;
        if key.encrypted && passphrase.is_none() {
            return Err(ApiError::new(
                ErrorCode::Keyring,
                format!("the OS keyring has no passphrase for the client key of profile {:?}", row.name),
                "store the key's passphrase again in the profile",
            )
            .edit(
                &row.name,
                crate::ProfileField::KeyPassphrase,
                format!("berth profile edit {} --client-cert FILE --client-key FILE --key-passphrase-stdin", row.name),
            ));
        }
        let plain = certs::decrypt_client_key(
            &key,
            passphrase.as_ref().map(Secret::expose).unwrap_or(""),
            &key_path.display().to_string(),
        )?;
        tls.client_identity_pem = Some((cert_pem, plain));
    }
    Ok(Connection { row, creds, tls })
}

fn missing_file(row: &ProfileRow, e: ApiError, field: crate::ProfileField) -> ApiError {
    let flags = match field {
        crate::ProfileField::CaFile => "--ca-file FILE",
        _ => "--client-cert FILE --client-key FILE",
    };
    ApiError::new(
        ErrorCode::Storage,
        format!("profile {:?}: {}", row.name, e.message),
        "import the certificate file into the profile again",
    )
    .edit(&row.name, field, format!("berth profile edit {} {flags}", row.name))
}
