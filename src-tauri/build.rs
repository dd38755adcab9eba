//! The app's own commands get generated permissions (`allow-<command>`), so the capability in
//! tauri.conf.json grants exactly the commands the window uses. The commands are declared once, in
//! command_list.rs, which lib.rs also uses to register them.

include!("command_list.rs");

/// The command names of the list.
macro_rules! names {
    ($($module:ident :: $command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}

/// Every command `lib.rs` registers.
const COMMANDS: &[&str] = for_each_command!(names);

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/command_list.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build");
}
