//! Each command: take state, call berth-core, hand back its view or its `ApiError`. Long jobs report
//! progress as events (`sync-progress`).

use std::collections::HashMap;
use std::sync::Mutex;

use berth_core::{
    AddProfileRequest, ApiError, Berth, CancellationToken, ConnectionReport, ErrorCode, ImageDetail, ProfileView,
    RepoNode, RepositoryView, SearchResult, SortBy, SyncSummaryView, TagView,
};
use tauri::{AppHandle, Emitter, State};

/// Running syncs by profile, so the window can cancel them.
#[derive(Default)]
pub struct Jobs {
    syncs: Mutex<HashMap<String, CancellationToken>>,
}

#[tauri::command]
pub async fn list_profiles(berth: State<'_, Berth>) -> Result<Vec<ProfileView>, ApiError> {
    berth.profiles().await
}

#[tauri::command]
pub async fn add_profile(berth: State<'_, Berth>, request: AddProfileRequest) -> Result<ProfileView, ApiError> {
    berth.add_profile(request).await
}

#[tauri::command]
pub async fn test_profile(berth: State<'_, Berth>, profile: String) -> Result<ConnectionReport, ApiError> {
    berth.test_profile(&profile).await
}

#[tauri::command]
pub async fn list_repositories(berth: State<'_, Berth>, profile: String) -> Result<Vec<RepositoryView>, ApiError> {
    berth.repositories(&profile).await
}

#[tauri::command]
pub async fn repository_tree(berth: State<'_, Berth>, profile: String) -> Result<Vec<RepoNode>, ApiError> {
    Ok(berth_core::repository_tree(&berth.repositories(&profile).await?))
}

#[tauri::command]
pub async fn list_tags(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
    sort: Option<SortBy>,
    filter: Option<String>,
) -> Result<Vec<TagView>, ApiError> {
    berth.tags(&profile, &repository, sort.unwrap_or_default(), filter.as_deref().filter(|f| !f.is_empty())).await
}

#[tauri::command]
pub async fn search_tags(
    berth: State<'_, Berth>,
    profile: String,
    query: String,
    sort: Option<SortBy>,
    limit: Option<u32>,
) -> Result<SearchResult, ApiError> {
    berth.search(&profile, &query, sort.unwrap_or_default(), limit.unwrap_or(200).min(10_000)).await
}

#[tauri::command]
pub async fn inspect_image(
    berth: State<'_, Berth>,
    profile: String,
    repository: String,
    reference: String,
) -> Result<ImageDetail, ApiError> {
    berth.inspect(&profile, &repository, &reference).await
}

/// Syncs a profile, emitting `sync-progress` events; one sync per profile at a time.
#[tauri::command]
pub async fn sync_profile<R: tauri::Runtime>(
    app: AppHandle<R>,
    berth: State<'_, Berth>,
    jobs: State<'_, Jobs>,
    profile: String,
    concurrency: Option<usize>,
) -> Result<SyncSummaryView, ApiError> {
    let cancel = CancellationToken::new();
    {
        let mut syncs = jobs.syncs.lock().expect("jobs lock");
        if syncs.contains_key(&profile) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("{profile} is already syncing"),
                "wait for it, or cancel it",
            ));
        }
        syncs.insert(profile.clone(), cancel.clone());
    }
    let progress = |p: &berth_core::SyncProgressView| {
        let _ = app.emit("sync-progress", p);
    };
    let result = berth.sync(&profile, concurrency.unwrap_or(16), &cancel, &progress).await;
    jobs.syncs.lock().expect("jobs lock").remove(&profile);
    result
}

#[tauri::command]
pub fn cancel_sync(jobs: State<'_, Jobs>, profile: String) -> bool {
    match jobs.syncs.lock().expect("jobs lock").get(&profile) {
        Some(c) => {
            c.cancel();
            true
        }
        None => false,
    }
}
