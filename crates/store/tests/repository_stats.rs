//! The counts and sizes kept on each repository's row (migration 0018) against the recursive query
//! that defines them, after every kind of change a sync or a delete makes: tags written, dropped and
//! moved, an index whose children and blobs are shared, a manifest cached after its tag, a repository
//! dropped; and the paging reads (names in every sort, rows by name).

use berth_store::{ChildRecord, ManifestRecord, NewProfile, ProfileKind, Store, TagRecord, TagSort};

/// A sha256-looking digest of `s` (the store does not check digests).
fn d(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("sha256:{:016x}{:016x}{:016x}{:016x}", h, h.rotate_left(7), h.rotate_left(19), h.rotate_left(41))
}

fn image(name: &str, size: u64, layers: &[(&str, u64)]) -> ManifestRecord {
    let config = d(&format!("{name}-config"));
    let mut blobs = vec![(config.clone(), 10, "application/vnd.oci.image.config.v1+json".to_string())];
    blobs.extend(layers.iter().map(|(l, s)| (d(l), *s, "application/vnd.oci.image.layer.v1.tar+gzip".to_string())));
    ManifestRecord {
        digest: d(name),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        raw: format!("{{\"n\":\"{name}\"}}").into_bytes(),
        created: Some(format!("2024-01-{:02}T00:00:00Z", size % 28 + 1)),
        os: Some("linux".into()),
        architecture: Some("amd64".into()),
        config_digest: Some(config),
        total_size: size,
        blobs,
        ..Default::default()
    }
}

fn tags(list: &[(&str, &str)]) -> Vec<TagRecord> {
    list.iter()
        .map(|(name, m)| TagRecord {
            name: name.to_string(),
            digest: d(m),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        })
        .collect()
}

/// (name, tags, size) of every repository of the profile by the defining recursive query.
async fn oracle(store: &Store, pid: i64) -> Vec<(String, u64, u64)> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "WITH RECURSIVE \
           reach(rid, d) AS ( \
             SELECT DISTINCT t.repository_id, t.digest FROM tags t JOIN repositories r ON r.id = t.repository_id \
             WHERE r.profile_id = ?1 \
             UNION SELECT reach.rid, c.child FROM manifest_children c JOIN reach ON c.parent = reach.d), \
           bl(rid, b) AS (SELECT reach.rid, mb.blob FROM reach JOIN manifest_blobs mb ON mb.manifest = reach.d \
             UNION SELECT reach.rid, m.config_digest FROM reach JOIN manifests m ON m.digest = reach.d \
             WHERE m.config_digest IS NOT NULL) \
         SELECT r.name, COALESCE(tc.n, 0), COALESCE(ms.s, 0) + COALESCE(bs.s, 0) \
         FROM repositories r \
         LEFT JOIN (SELECT repository_id AS rid, COUNT(*) AS n FROM tags GROUP BY repository_id) tc ON tc.rid = r.id \
         LEFT JOIN (SELECT reach.rid, SUM(m.size) AS s FROM reach JOIN manifests m ON m.digest = reach.d GROUP BY reach.rid) ms ON ms.rid = r.id \
         LEFT JOIN (SELECT bl.rid, SUM(b.size) AS s FROM bl JOIN blobs b ON b.digest = bl.b GROUP BY bl.rid) bs ON bs.rid = r.id \
         WHERE r.profile_id = ?1 ORDER BY r.name",
    )
    .bind(pid)
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.into_iter().map(|(n, t, s)| (n, t as u64, s as u64)).collect()
}

async fn kept(store: &Store, pid: i64) -> Vec<(String, u64, u64)> {
    store.repository_summaries(pid).await.unwrap().into_iter().map(|r| (r.name, r.tags, r.size)).collect()
}

async fn check(store: &Store, pid: i64, step: &str) {
    let want = oracle(store, pid).await;
    assert_eq!(kept(store, pid).await, want, "after {step}");
    // A second read computes nothing again.
    assert_eq!(store.refresh_repository_sizes(pid).await.unwrap(), 0, "after {step}: nothing stale");
}

/// An empty cache with one profile.
async fn store_with_profile() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let pid = store
        .add_profile(&NewProfile {
            name: "lab".into(),
            url: "http://lab.invalid/".into(),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .unwrap()
        .id;
    (dir, store, pid)
}

#[tokio::test]
async fn counts_and_sizes_follow_every_change() {
    let (_dir, store, pid) = store_with_profile().await;
    // Two images sharing a base layer, and an index of two platform images.
    store.insert_manifest(&image("a", 100, &[("base", 1000), ("a-top", 50)])).await.unwrap();
    store.insert_manifest(&image("b", 200, &[("base", 1000), ("b-top", 70)])).await.unwrap();
    store.insert_manifest(&image("amd", 300, &[("base", 1000), ("amd-top", 5)])).await.unwrap();
    store.insert_manifest(&image("arm", 400, &[("arm-base", 900)])).await.unwrap();
    let mut index = image("idx", 60, &[]);
    index.media_type = "application/vnd.oci.image.index.v1+json".into();
    index.config_digest = None;
    index.blobs = vec![];
    index.children = ["amd", "arm"]
        .iter()
        .map(|c| ChildRecord { digest: d(c), os: Some("linux".into()), architecture: Some((*c).into()), variant: None })
        .collect();
    store.insert_manifest(&index).await.unwrap();

    store.replace_repository_tags(pid, "apps/web", &tags(&[("1", "a"), ("2", "b"), ("latest", "b")])).await.unwrap();
    store.replace_repository_tags(pid, "apps/multi", &tags(&[("1", "idx"), ("amd", "amd")])).await.unwrap();
    store.replace_repository_tags(pid, "empty", &[]).await.unwrap();
    check(&store, pid, "the first writes").await;
    let web = kept(&store, pid).await.into_iter().find(|r| r.0 == "apps/web").unwrap();
    // A manifest counts its own bytes (the raw JSON's, 9 each here), its config and its layers.
    assert_eq!(web, ("apps/web".into(), 3, 9 + 9 + 10 + 10 + 1000 + 50 + 70), "shared base counted once");

    // A tag dropped, a tag moved, a tag added.
    store.replace_repository_tags(pid, "apps/web", &tags(&[("1", "a"), ("latest", "a"), ("3", "amd")])).await.unwrap();
    check(&store, pid, "drop, move and add").await;

    // A tag whose manifest is cached only later (its fetch failed once): counted, then sized.
    store.replace_repository_tags(pid, "apps/late", &tags(&[("x", "late")])).await.unwrap();
    check(&store, pid, "a tag without its manifest").await;
    assert_eq!(kept(&store, pid).await.into_iter().find(|r| r.0 == "apps/late").unwrap().2, 0);
    store.insert_manifest(&image("late", 7, &[("late-top", 3)])).await.unwrap();
    check(&store, pid, "its manifest cached").await;
    assert_eq!(kept(&store, pid).await.into_iter().find(|r| r.0 == "apps/late").unwrap().2, 12 + 10 + 3);

    // A repository gone from the catalog; another profile's repositories untouched.
    store.retain_repositories(pid, &["apps/web".into(), "apps/late".into(), "empty".into()]).await.unwrap();
    check(&store, pid, "a repository dropped").await;
    assert_eq!(kept(&store, pid).await.len(), 3);
}

#[tokio::test]
async fn names_in_every_sort_and_rows_by_name() {
    let (_dir, store, pid) = store_with_profile().await;
    for (i, m) in ["m0", "m1", "m2", "m3"].iter().enumerate() {
        store.insert_manifest(&image(m, 100 * (4 - i as u64), &[(m, i as u64)])).await.unwrap();
    }
    let list = [("b", "m1"), ("a", "m2"), ("d", "m0"), ("c", "m3"), ("e", "m1"), ("untracked", "nothing")];
    store.replace_repository_tags(pid, "apps/web", &tags(&list)).await.unwrap();
    for sort in [TagSort::Name, TagSort::Created, TagSort::Size, TagSort::Digest, TagSort::Platforms] {
        let rows: Vec<String> =
            store.repository_tags(pid, "apps/web", sort).await.unwrap().into_iter().map(|t| t.name).collect();
        let names = store.repository_tag_names(pid, "apps/web", sort).await.unwrap();
        assert_eq!(names, rows, "{sort:?}: the names in the order of the rows");
    }
    let ask: Vec<String> = ["e", "gone", "a", "untracked"].iter().map(|s| s.to_string()).collect();
    let rows = store.repository_tags_named(pid, "apps/web", &ask).await.unwrap();
    assert_eq!(rows.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["e", "a", "untracked"]);
    assert_eq!(rows[0].digest, d("m1"));
    assert_eq!(rows[1].size, 200, "a row carries what the table shows");
    assert!(store.repository_tags_named(pid, "apps/other", &ask).await.unwrap().is_empty());
}

#[tokio::test]
async fn sizes_computed_in_several_batches_match_the_definition() {
    let (_dir, store, pid) = store_with_profile().await;
    for i in 0..50 {
        let name = format!("m{i}");
        store.insert_manifest(&image(&name, 1, &[("base", 1000), (&format!("top{i}"), i)])).await.unwrap();
    }
    // More tags than one batch holds, over repositories of different sizes (one larger than a batch).
    let per_repo = [berth_store::SIZE_BATCH_TAGS as usize + 10, 9_000, 9_000, 3, 0];
    for (r, n) in per_repo.iter().enumerate() {
        let list: Vec<TagRecord> = (0..*n)
            .map(|t| TagRecord {
                name: format!("t{t}"),
                digest: d(&format!("m{}", (t * 7 + r) % 50)),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            })
            .collect();
        store.replace_repository_tags(pid, &format!("r{r}"), &list).await.unwrap();
    }
    assert_eq!(store.refresh_repository_sizes(pid).await.unwrap(), per_repo.len() as u64);
    check(&store, pid, "several batches").await;
}
