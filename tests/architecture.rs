//! The floors of the house (ARCHITECTURE.md), checked on every `Cargo.toml`: each crate may use only
//! the Berth crates below it. The shells (the window, the CLI) use berth-core and nothing else; the
//! workflows never reach Harbor's or Nexus's clients (they ask the `Backend`); the store is SQLite only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every crate of the workspace, with the Berth crates its `[dependencies]` may name.
const ALLOWED: &[(&str, &[&str])] = &[
    ("berth-desktop", &["berth-core"]),
    ("berth-cli", &["berth-core"]),
    (
        "berth-core",
        &[
            "berth-backend",
            "berth-sync",
            "berth-workflows",
            "berth-store",
            "berth-secrets",
            "berth-registry",
            "berth-harbor",
            "berth-nexus",
        ],
    ),
    ("berth-workflows", &["berth-backend", "berth-sync", "berth-store", "berth-registry"]),
    ("berth-sync", &["berth-backend", "berth-store", "berth-registry"]),
    ("berth-backend", &["berth-registry", "berth-harbor", "berth-nexus"]),
    ("berth-harbor", &["berth-registry"]),
    ("berth-nexus", &["berth-registry"]),
    ("berth-store", &["berth-registry"]),
    ("berth-registry", &[]),
    ("berth-secrets", &[]),
    ("berth-testkit", &[]),
    // The benchmarks drive the sync over each backend (the Harbor/Nexus resync against registry:2), and
    // the real window through the end-to-end kit (the window benchmark).
    (
        "berth-bench",
        &[
            "berth-e2e",
            "berth-sync",
            "berth-backend",
            "berth-harbor",
            "berth-nexus",
            "berth-registry",
            "berth-store",
            "berth-testkit",
        ],
    ),
    ("berth-e2e", &["berth-testkit"]),
];

fn manifest(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (package name, Berth crates in its `[dependencies]` and `[build-dependencies]`).
fn packages() -> Vec<(String, BTreeSet<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("Cargo.toml")];
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        if e.path().join("Cargo.toml").is_file() {
            files.push(e.path().join("Cargo.toml"));
        }
    }
    files
        .iter()
        .map(|f| {
            let m = manifest(f);
            let name = m["package"]["name"].as_str().unwrap().to_string();
            let mut deps = BTreeSet::new();
            for section in ["dependencies", "build-dependencies"] {
                if let Some(t) = m.get(section).and_then(|v| v.as_table()) {
                    deps.extend(t.keys().filter(|k| k.starts_with("berth-")).cloned());
                }
            }
            (name, deps)
        })
        .collect()
}

#[test]
fn every_crate_depends_only_on_the_floors_below_it() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> =
        ALLOWED.iter().map(|(k, v)| (*k, v.iter().copied().collect())).collect();
    let mut wrong = Vec::new();
    let found = packages();
    assert!(found.len() >= 14, "every crate is read: {found:?}");
    for (name, deps) in &found {
        let Some(ok) = allowed.get(name.as_str()) else {
            wrong.push(format!("{name} is not in ARCHITECTURE.md's table (add it to this test and the map)"));
            continue;
        };
        for d in deps {
            if !ok.contains(d.as_str()) {
                wrong.push(format!("{name} → {d} is a forbidden arrow"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_rules_themselves_hold() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    // The shells reach the rest only through core.
    assert_eq!(allowed["berth-desktop"], ["berth-core"]);
    assert_eq!(allowed["berth-cli"], ["berth-core"]);
    // The workflows ask the Backend, never Harbor's or Nexus's clients.
    for d in ["berth-harbor", "berth-nexus", "berth-core"] {
        assert!(!allowed["berth-workflows"].contains(&d), "workflows → {d}");
    }
    // The store is SQLite only: no sync engine, no backends.
    for d in ["berth-sync", "berth-backend", "berth-harbor", "berth-nexus"] {
        assert!(!allowed["berth-store"].contains(&d), "store → {d}");
    }
    // Nothing below the shells uses core.
    for (k, v) in ALLOWED {
        if !matches!(*k, "berth-desktop" | "berth-cli") {
            assert!(!v.contains(&"berth-core"), "{k} → berth-core");
        }
    }
}
