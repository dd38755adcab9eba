// placeholder until cargo test regenerates it
export type AboutView = { name: string, version: string, tauri_version: string | null, webview_version: string | null, data_dir: string, database_file: string, log_dir: string, keyring_service: string, };
