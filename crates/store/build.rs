fn main() {
    // A new migration file alone must trigger a rebuild (sqlx::migrate! embeds them).
    println!("cargo:rerun-if-changed=migrations");
}
