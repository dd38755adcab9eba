// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc, as in the `berth` CLI (issue 22).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's option enum (libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // The window stays open for hours: memory a thread frees goes back to the system at once, not a
    // second later at that thread's next allocation, which an idle worker never makes (measured with a
    // million cached tags, `make bench`: the app kept 20 to 30 MB after opening a 100,000-tag repository).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    berth_desktop::run();
}
