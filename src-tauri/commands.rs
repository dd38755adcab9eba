//! Each command: take state, call berth-core, hand back its view or its `ApiError`.

use berth_core::{AddProfileRequest, ApiError, Berth, ProfileView, RepositoryView};
use tauri::State;

#[tauri::command]
pub async fn list_profiles(berth: State<'_, Berth>) -> Result<Vec<ProfileView>, ApiError> {
    berth.profiles().await
}

#[tauri::command]
pub async fn add_profile(berth: State<'_, Berth>, request: AddProfileRequest) -> Result<ProfileView, ApiError> {
    berth.add_profile(request).await
}

#[tauri::command]
pub async fn list_repositories(berth: State<'_, Berth>, profile: String) -> Result<Vec<RepositoryView>, ApiError> {
    berth.repositories(&profile).await
}
