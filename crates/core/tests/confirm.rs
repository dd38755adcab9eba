//! When a delete must be confirmed by typing is the core's policy, not the window's: the plan says
//! which phrase (`confirm_phrase`), and `execute_delete_confirmed` refuses a plan that needs one
//! unless it was typed, against a real registry (distribution 2.8.2), with nothing deleted.

use std::sync::Arc;

use berth_core::{AddProfileRequest, Berth, CancellationToken, DeleteMode, ErrorCode, PlanOptions, Selection};
use berth_registry::{Credentials, Reference, RegistryClient, TlsOptions};
use berth_secrets::MemoryStore;
use berth_testkit::{ImageSpec, Registry, Seeder};

async fn has_tag(client: &RegistryClient, repo: &str, tag: &str) -> bool {
    client.head_manifest(repo, &Reference::Tag(tag.into())).await.unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_that_needs_a_typed_phrase_runs_only_with_it() {
    let reg = Registry::start().await;
    let seeder = Seeder::new(&reg.url());
    let client = RegistryClient::new(&reg.url(), Credentials::Anonymous, &TlsOptions::default()).unwrap();
    let img = seeder.push_image("team/app", "v1", &ImageSpec::small("one")).await;
    seeder.tag("team/app", &img.digest, "stable").await;
    for i in 0..6 {
        seeder.push_image("a", &format!("t{i}"), &ImageSpec::small(&format!("a{i}"))).await;
        seeder.push_image("b", &format!("t{i}"), &ImageSpec::small(&format!("b{i}"))).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let berth = Berth::open_with_secrets(dir.path(), Arc::new(MemoryStore::new())).await.unwrap();
    berth.add_profile(AddProfileRequest { name: "lab".into(), url: reg.url(), ..Default::default() }).await.unwrap();
    berth.sync("lab", 4, &CancellationToken::new(), &|_| {}).await.unwrap();
    let cancel = CancellationToken::new();

    // One untag: a button is enough.
    let sel = [Selection { repository: "team/app".into(), reference: "v1".into() }];
    let small = berth.plan_delete("lab", &sel, PlanOptions::default(), &cancel).await.unwrap();
    assert_eq!((small.untag.len(), small.confirm_phrase.as_deref()), (1, None));

    // The image with its sibling tag: the repository's name.
    let opts = PlanOptions { mode: DeleteMode::Image, referrers: true };
    let plan = berth.plan_delete("lab", &sel, opts, &cancel).await.unwrap();
    assert_eq!(plan.siblings.len(), 1, "{plan:?}");
    assert_eq!(plan.confirm_phrase.as_deref(), Some("team/app"));

    // Not typed, mistyped, or a plan whose phrase was removed on its way back: refused, nothing deleted.
    for typed in [None, Some("team/ap"), Some("delete 1")] {
        let err = berth.execute_delete_confirmed("lab", &plan, typed, &cancel, &|_| {}).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
        assert!(err.message.contains("team/app"), "the message names the phrase: {}", err.message);
    }
    let stripped = berth_core::DeletePlan { confirm_phrase: None, ..plan.clone() };
    assert!(berth.execute_delete_confirmed("lab", &stripped, None, &cancel, &|_| {}).await.is_err());
    assert!(has_tag(&client, "team/app", "v1").await && has_tag(&client, "team/app", "stable").await);

    // Typed (surrounding spaces ignored): deleted.
    let report = berth.execute_delete_confirmed("lab", &plan, Some(" team/app "), &cancel, &|_| {}).await.unwrap();
    assert_eq!((report.deleted, report.failed), (1, 0), "{report:?}");
    assert!(!has_tag(&client, "team/app", "v1").await && !has_tag(&client, "team/app", "stable").await);

    // More than ten actions over two repositories: `delete N`.
    let many: Vec<Selection> = (0..6)
        .flat_map(|i| ["a", "b"].map(|r| Selection { repository: r.into(), reference: format!("t{i}") }))
        .collect();
    let plan = berth.plan_delete("lab", &many, PlanOptions::default(), &cancel).await.unwrap();
    assert_eq!(plan.action_count(), 12);
    assert_eq!(plan.confirm_phrase.as_deref(), Some("delete 12"));
    assert!(berth.execute_delete_confirmed("lab", &plan, Some("a"), &cancel, &|_| {}).await.is_err());
    assert!(has_tag(&client, "a", "t0").await);
}
