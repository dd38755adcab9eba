//! The desktop shell: Tauri commands that adapt berth-core to the window. No logic lives here.

mod commands;
mod deletes;
mod profiles;
#[cfg(target_os = "linux")]
pub mod rendering;

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
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if close_during_gc(window) {
                    api.prevent_close();
                }
            }
        })
        .invoke_handler(for_each_command!(handler))
}

/// End-to-end tests only (debug builds): the answer to the "GC is running" question on close
/// (`stop` or `keep`), instead of the native dialog WebDriver cannot drive.
pub const E2E_CLOSE_ANSWER_ENV: &str = "BERTH_E2E_CLOSE_ANSWER";

/// Closing the window while GC runs asks first: the registry is read-only until the after command
/// runs. "Stop GC and close" cancels the runs (their after commands run), waits for them, then
/// closes; "Keep running" keeps the window. Returns whether the close is held back for that.
fn close_during_gc<R: tauri::Runtime>(window: &tauri::Window<R>) -> bool {
    let app = window.app_handle().clone();
    let gcs: Vec<String> = app
        .state::<Berth>()
        .running_jobs()
        .into_iter()
        .filter(|(_, k)| *k == berth_core::JobKind::Gc)
        .map(|(p, _)| p)
        .collect();
    if gcs.is_empty() {
        return false;
    }
    let window = window.clone();
    std::thread::spawn(move || {
        use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
        let scripted = cfg!(debug_assertions).then(|| std::env::var(E2E_CLOSE_ANSWER_ENV).ok()).flatten();
        let stop = match scripted {
            Some(answer) => answer == "stop",
            None => app
                .dialog()
                .message(format!(
                    "Garbage collection is running on {}. The registry stays read-only (or stopped) until its after \
                     command runs.\n\nStop GC and close: Berth cancels the run, runs the after command, then closes.",
                    gcs.join(", ")
                ))
                .title("GC is running")
                .kind(MessageDialogKind::Warning)
                .buttons(MessageDialogButtons::OkCancelCustom("Stop GC and close".into(), "Keep running".into()))
                .blocking_show(),
        };
        if !stop {
            return;
        }
        let berth = app.state::<Berth>();
        for p in &gcs {
            tracing::info!(profile = %p, "window closing: cancelling GC (its after command runs first)");
            berth.cancel_job(p, Some(berth_core::JobKind::Gc));
        }
        // The after command runs before the job ends; it is never cancelled. Wait for it (bounded).
        let started = std::time::Instant::now();
        while berth.running_jobs().iter().any(|(_, k)| *k == berth_core::JobKind::Gc)
            && started.elapsed() < std::time::Duration::from_secs(600)
        {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let _ = window.destroy();
    });
    true
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
    // Before any thread: it may set an environment variable WebKit reads when it starts.
    #[cfg(target_os = "linux")]
    let rendering = rendering::apply();
    // Daily-rotated file in ~/.local/state/berth/logs (or $BERTH_LOG_DIR), warnings on stderr too.
    let config = berth_core::logging::LogConfig::from_env("berth-desktop", Some("warn"));
    let _log = config.as_ref().map(berth_core::logging::init);
    tracing::info!(version = berth_core::VERSION, "Berth window starting");
    #[cfg(target_os = "linux")]
    tracing::info!(?rendering, "window rendering");
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
