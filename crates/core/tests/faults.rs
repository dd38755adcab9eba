//! A sync against a registry that misbehaves (the test kit's `FaultServer`): the fault affects what
//! it touches and is reported, the rest of the cache stays consistent, nothing panics.

use std::path::Path;
use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken};
use berth_secrets::MemoryStore;
use berth_testkit::{Fault, FaultServer};

async fn berth(dir: &Path, url: &str) -> Berth {
    let b = Berth::open_with_secrets(dir, Arc::new(MemoryStore::new())).await.unwrap();
    b.add_profile(AddProfileRequest { name: "f".into(), url: url.into(), ..AddProfileRequest::default() })
        .await
        .unwrap();
    b
}

async fn sync(b: &Berth) -> Result<berth_core::SyncSummaryView, berth_core::ApiError> {
    b.sync("f", 4, &CancellationToken::new(), &|_| {}).await
}

#[tokio::test]
async fn sizes_adding_up_past_2_64_are_cached_saturated_without_a_panic() {
    let s = FaultServer::start(vec![Fault::SizesOverflow]);
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path(), &s.url()).await;
    let summary = sync(&b).await.unwrap();
    assert_eq!(summary.errors, 0, "{summary:?}");
    let tags = b.tags("f", "app", berth_core::SortBy::Size, None).await.unwrap();
    assert_eq!(tags.len(), 1);
    assert!(tags[0].size >= i64::MAX as u64, "{tags:?}");
}

#[tokio::test]
async fn an_endlessly_nested_index_skips_that_image_only() {
    let s = FaultServer::start(vec![Fault::DeepIndex(20)]);
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path(), &s.url()).await;
    let summary = sync(&b).await.unwrap();
    assert_eq!((summary.status.as_str(), summary.errors), ("ok", 1), "{summary:?}");
    assert!(summary.error_samples[0].contains("nested more than 8"), "{summary:?}");
    assert!(b.tags("f", "app", berth_core::SortBy::Name, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lying_digest_header_caches_nothing_for_that_tag() {
    let s = FaultServer::start(vec![Fault::DigestMismatch]);
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path(), &s.url()).await;
    let summary = sync(&b).await.unwrap();
    assert_eq!(summary.errors, 1, "{summary:?}");
    assert!(summary.error_samples[0].contains("Docker-Content-Digest"), "{summary:?}");
    assert!(b.tags("f", "app", berth_core::SortBy::Name, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_looping_catalog_fails_the_sync_and_leaves_the_cache_as_it_was() {
    let good = FaultServer::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let b = berth(dir.path(), &good.url()).await;
    sync(&b).await.unwrap();
    let before: Vec<String> = b.repositories("f").await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(before, ["a", "app", "c", "d"]);

    let looping = FaultServer::start(vec![Fault::CatalogCycle]);
    b.edit_profile(
        "f",
        berth_core::EditProfileRequest { url: Some(looping.url()), ..berth_core::EditProfileRequest::default() },
    )
    .await
    .unwrap();
    let e = sync(&b).await.unwrap_err();
    assert!(e.message.contains("incomplete listing"), "{e:?}");
    let after: Vec<String> = b.repositories("f").await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(after, before, "no repository dropped on a partial catalog");
    // Nothing is predicted from it: the GC prediction is the cache's, untouched.
    let pending = b.gc_pending("f").await.unwrap();
    assert_eq!(pending.predicted_bytes, 0);
}
