//! The desktop shell: Tauri commands that adapt berth-core to the window. No logic lives here.

mod commands;

use berth_core::Berth;
use tauri::Manager;

/// Registers state and commands; production passes `tauri::Builder::default()`, tests a mock builder.
/// Plugins: window-state (size and place remembered), notification (a long sync ended), dialog (the
/// CA file picker, called from Rust), clipboard-manager (copy buttons). Commands are listed in
/// build.rs too, which generates their permissions for the capability in tauri.conf.json.
pub fn app<R: tauri::Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .setup(|app| {
            let data_dir = berth_core::default_data_dir().map_err(|e| e.message)?;
            let berth = tauri::async_runtime::block_on(Berth::open(&data_dir))
                .map_err(|e| format!("{}. {}", e.message, e.hint))?;
            app.manage(berth);
            app.manage(commands::Jobs::default());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_profiles,
            commands::profile_statuses,
            commands::add_profile,
            commands::edit_profile,
            commands::test_profile,
            commands::server_certificates,
            commands::trust_server,
            commands::snippets,
            commands::show_certificate_file,
            commands::pick_certificate_file,
            commands::list_repositories,
            commands::repository_tree,
            commands::list_tags,
            commands::search_tags,
            commands::inspect_image,
            commands::storage,
            commands::sync_profile,
            commands::cancel_sync,
        ])
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    app(tauri::Builder::default()).run(tauri::generate_context!()).expect("error while running the Berth window");
}
