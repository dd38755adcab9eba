//! The About view's paths and versions, and the single-instance id per data directory.

use std::path::Path;

use berth_core::{instance_id, AboutView, ShellVersions, APP_ID, VERSION};

#[test]
fn about_names_the_files_and_versions() {
    let shell = ShellVersions { tauri: Some("2.12.5".into()), webview: None };
    let a = AboutView::new(Path::new("/d/berth"), Path::new("/s/berth/logs"), shell);
    assert_eq!(a.name, "Berth");
    assert_eq!(a.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(a.version, VERSION);
    assert_eq!(a.tauri_version.as_deref(), Some("2.12.5"));
    assert_eq!(a.webview_version, None);
    assert_eq!(a.data_dir, "/d/berth");
    assert_eq!(a.database_file, "/d/berth/berth.sqlite");
    assert_eq!(a.log_dir, "/s/berth/logs");
    assert!(!a.keyring_service.is_empty());
}

#[tokio::test]
async fn berth_about_reports_its_data_dir_and_the_database_it_opened() {
    let data = tempfile::tempdir().unwrap();
    let secrets = std::sync::Arc::new(berth_secrets::MemoryStore::new());
    let berth = berth_core::Berth::open_with_secrets(data.path(), secrets).await.unwrap();
    let a = berth.about(ShellVersions::default()).unwrap();
    assert_eq!(a.data_dir, data.path().display().to_string());
    assert!(Path::new(&a.database_file).is_file(), "{} is the database Berth opened", a.database_file);
}

/// A D-Bus well-known name element: [A-Za-z0-9_-], not starting with a digit.
fn valid_dbus_name(name: &str) -> bool {
    name.len() <= 255
        && name.split('.').all(|e| {
            !e.is_empty()
                && !e.starts_with(|c: char| c.is_ascii_digit())
                && e.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

#[test]
fn one_instance_per_data_dir() {
    let default = dirs::data_dir().unwrap().join("berth");
    assert_eq!(instance_id(&default), APP_ID, "the usual data dir: one instance per user");
    let a = instance_id(Path::new("/tmp/a/berth"));
    let b = instance_id(Path::new("/tmp/b/berth"));
    assert_ne!(a, b, "separate data dirs run separately");
    assert_eq!(a, instance_id(Path::new("/tmp/a/berth")), "stable");
    for id in [&a, &b, &instance_id(&default)] {
        assert!(id.starts_with(APP_ID));
        assert!(valid_dbus_name(&format!("{id}.SingleInstance")), "{id}");
    }
}
