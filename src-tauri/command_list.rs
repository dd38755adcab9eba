// The IPC surface, declared once. `lib.rs` registers these commands with Tauri (`generate_handler!`),
// `build.rs` generates a permission for each (`allow-<command>`), and the capability in
// tauri.conf.json must grant exactly these (checked by ui/tests/capability.test.ts, which also checks
// that every command the window invokes is here). A new command is added here and nowhere else in Rust.
//
// Included by both lib.rs and build.rs: `for_each_command!(m)` calls the macro `m` with the list.
macro_rules! for_each_command {
    ($m:ident) => {
        $m! {
            commands::list_profiles,
            commands::profile_statuses,
            commands::add_profile,
            commands::edit_profile,
            commands::test_profile,
            commands::server_certificates,
            commands::trust_server,
            commands::trust_token_service,
            commands::snippets,
            commands::show_certificate_file,
            commands::pick_certificate_file,
            commands::list_repositories,
            commands::repository_tree,
            commands::list_tags,
            commands::search_tags,
            commands::inspect_image,
            commands::storage,
            commands::harbor_projects,
            commands::harbor_artifacts,
            commands::harbor_policies,
            commands::nexus_discover,
            commands::nexus_blob_stores,
            commands::nexus_components,
            commands::nexus_tasks,
            commands::nexus_cleanup_policies,
            commands::sync_profile,
            commands::cancel_sync,
            commands::about,
            deletes::plan_delete,
            deletes::execute_delete,
            deletes::cancel_delete,
            deletes::plan_retention,
            deletes::list_trash,
            deletes::restore_trash,
            deletes::audit_log,
            deletes::gc_pending,
            deletes::gc_history,
            deletes::server_gc,
            deletes::gc_run_after,
            deletes::run_gc,
            deletes::cancel_gc,
            deletes::plan_copy,
            deletes::execute_copy,
            deletes::cancel_copy,
        }
    };
}
