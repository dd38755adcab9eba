//! The app's own commands get generated permissions (`allow-<command>`), so the capability in
//! tauri.conf.json grants exactly the commands the window uses. A new command must be listed here,
//! in `tauri::generate_handler!` (lib.rs) and in the capability.

/// Every command `lib.rs` registers.
const COMMANDS: &[&str] = &[
    "list_profiles",
    "profile_statuses",
    "add_profile",
    "edit_profile",
    "test_profile",
    "server_certificates",
    "trust_server",
    "snippets",
    "show_certificate_file",
    "pick_certificate_file",
    "list_repositories",
    "repository_tree",
    "list_tags",
    "search_tags",
    "inspect_image",
    "storage",
    "harbor_projects",
    "sync_profile",
    "cancel_sync",
    "about",
    "plan_delete",
    "execute_delete",
    "cancel_delete",
    "plan_retention",
    "list_trash",
    "restore_trash",
    "audit_log",
    "gc_pending",
    "gc_history",
    "run_gc",
    "cancel_gc",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build");
}
