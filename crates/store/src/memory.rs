//! SQLite's memory, through mimalloc.
//!
//! SQLite allocates its page caches and statements with the C library's `malloc` unless told
//! otherwise. On glibc every sqlx connection's worker thread gets its own arena, and an arena keeps
//! the pages freed in it: after a few sorts and searches of a 100,000-tag repository the window's
//! process held some 20 MB more than it used (issue 22, bench (o); `MALLOC_ARENA_MAX=1` gave most of
//! it back, which showed where it was). mimalloc, which the `berth` CLI and the app use for Rust's
//! allocations, returns freed pages to the system (the app sets its purge delay to 0).
//!
//! SQLite takes its allocator once per process, before its first use; [`configure`] runs from
//! [`crate::Store::open`], before the pool's first connection.

use std::os::raw::{c_int, c_void};
use std::sync::OnceLock;

use libsqlite3_sys as ffi;

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    libmimalloc_sys::mi_malloc(n.max(0) as usize)
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    libmimalloc_sys::mi_free(p)
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    libmimalloc_sys::mi_realloc(p, n.max(0) as usize)
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    libmimalloc_sys::mi_usable_size(p).min(c_int::MAX as usize) as c_int
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    libmimalloc_sys::mi_good_size(n.max(0) as usize).min(c_int::MAX as usize) as c_int
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// The methods SQLite copies at `sqlite3_config` (a struct with a raw pointer, hence the wrapper).
struct Methods(ffi::sqlite3_mem_methods);
// SAFETY: immutable; its only pointer, pAppData, is null.
unsafe impl Sync for Methods {}

static METHODS: Methods = Methods(ffi::sqlite3_mem_methods {
    xMalloc: Some(x_malloc),
    xFree: Some(x_free),
    xRealloc: Some(x_realloc),
    xSize: Some(x_size),
    xRoundup: Some(x_roundup),
    xInit: Some(x_init),
    xShutdown: Some(x_shutdown),
    pAppData: std::ptr::null_mut(),
});

static CONFIGURED: OnceLock<bool> = OnceLock::new();

/// Gives SQLite mimalloc, and turns off its memory statistics (a global mutex taken on every
/// allocation, which nothing in Berth reads). Once per process; later calls return the first result.
/// `false` when SQLite was already in use (it then keeps its own allocator; nothing else changes).
pub(crate) fn configure() -> bool {
    *CONFIGURED.get_or_init(|| unsafe {
        let malloc = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &METHODS.0 as *const ffi::sqlite3_mem_methods);
        let memstatus = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        let ok = malloc == ffi::SQLITE_OK && memstatus == ffi::SQLITE_OK;
        if !ok {
            tracing::warn!(malloc, memstatus, "SQLite was in use before the store opened: it keeps its allocator");
        }
        ok
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn sqlite_allocates_through_mimalloc_once_a_store_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).await.unwrap();
        assert!(super::configure(), "sqlite3_config refused the allocator");
        sqlx::query(
            "CREATE TABLE t (x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT randomblob(1000) FROM n",
        )
        .execute(store.pool())
        .await
        .unwrap();
        unsafe {
            let p = libsqlite3_sys::sqlite3_malloc(1000);
            assert!(libmimalloc_sys::mi_is_in_heap_region(p), "sqlite3_malloc's memory is mimalloc's");
            libsqlite3_sys::sqlite3_free(p);
            // With statistics on, SQLite would count the pages and statements of the insert above.
            assert_eq!(libsqlite3_sys::sqlite3_memory_used(), 0, "SQLite's memory statistics are off");
        }
        store.close().await;
    }
}
