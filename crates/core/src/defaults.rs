//! Every default and cap the front ends share, in one place (the sync's own live in
//! [`berth_sync::SyncOptions`]).

/// Results of a search when the caller does not say.
pub const SEARCH_LIMIT: u32 = 200;
/// At most this many search results in one answer.
pub const SEARCH_LIMIT_MAX: u32 = 10_000;
/// Audit rows shown when the caller does not say.
pub const AUDIT_LIMIT: u32 = 500;
/// Requests in flight during a sync when the caller does not say.
pub const SYNC_CONCURRENCY: usize = berth_sync::SyncOptions::DEFAULT_CONCURRENCY;

/// Most tag rows the window asks for at once by name (`Berth::tags_named`): a screenful and its
/// margins is about 100.
pub const TAG_ROWS_MAX: usize = 1000;
