//! The desktop shell: Tauri commands that adapt berth-core to the window. No logic lives here.

mod commands;
mod deletes;

include!("command_list.rs");

/// `generate_handler!` over the command list.
macro_rules! handler {
    ($($module:ident :: $command:ident),* $(,)?) => {
        tauri::generate_handler![$($module::$command),*]
    };
}

use berth_core::Berth;
use tauri::Manager;

/// Registers state and commands; production passes `tauri::Builder::default()`, tests a mock builder.
/// Plugins: window-state (size and place remembered), notification (a long sync ended), dialog (the
/// CA file picker, called from Rust), clipboard-manager (copy buttons). Commands are listed once, in
/// command_list.rs (build.rs generates their permissions from it).
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
            Ok(())
        })
        .invoke_handler(for_each_command!(handler))
}

fn focus_main<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    tracing::info!("second launch: focusing the running window");
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

pub fn run() {
    // Daily-rotated file in ~/.local/state/berth/logs (or $BERTH_LOG_DIR), warnings on stderr too.
    let config = berth_core::logging::LogConfig::from_env("berth-desktop", Some("warn"));
    let _log = config.as_ref().map(berth_core::logging::init);
    tracing::info!(version = berth_core::VERSION, "Berth window starting");
    // One window per data directory: a second launch focuses it and exits. Registered first, so that
    // the second process leaves before it opens a window or the database.
    let instance = berth_core::default_data_dir().map(|d| berth_core::instance_id(&d));
    let single = tauri_plugin_single_instance::Builder::new()
        .dbus_id(instance.unwrap_or_else(|_| berth_core::APP_ID.into()))
        .callback(|app, _argv, _cwd| focus_main(app))
        .build();
    app(tauri::Builder::default().plugin(single))
        .run(tauri::generate_context!())
        .expect("error while running the Berth window");
}
