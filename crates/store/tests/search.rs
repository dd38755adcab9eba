//! Tag search over the cache: every needle shape (repository part, tag part, across the colon, digest
//! hex, pasted digest, short needles, quotes and LIKE wildcards) against a brute-force oracle, exact
//! totals, every sort, other profiles kept out, and the index following resyncs that change or drop tags.

use berth_store::{ManifestRecord, NewProfile, ProfileKind, Store, TagRecord, TagRow, TagSort};

/// (repository, tag, manifest index) of the fixture.
const TAGS: &[(&str, &str, usize)] = &[
    ("apps/web", "v1.2.0", 0),
    ("apps/web", "v1.2.1", 1),
    ("apps/web", "latest", 1),
    ("apps/web", "RC-1", 2),
    ("apps/api", "v1.2.0", 3),
    ("apps/api", "v2.0", 4),
    ("apps/api", "a_b", 5),
    ("apps/api", "axb", 5),
    ("tools/webhook", "v1", 0),
    ("tools/webhook", "sha256-0123.sig", 2),
    ("tools/cli", "web-v1", 3),
    ("tools/cli", "100%", 4),
    ("team7/service0042", "v3.1.14", 1),
    ("team7/service0042", "v3.10.1", 2),
    ("x", "y", 0),
];

/// (created, size, os, architecture) of each manifest.
const MANIFESTS: &[(Option<&str>, u64, Option<&str>, Option<&str>)] = &[
    (Some("2024-01-01T00:00:00Z"), 500, Some("linux"), Some("amd64")),
    (Some("2024-03-01T00:00:00Z"), 300, Some("linux"), Some("arm64")),
    (None, 900, None, None),
    (Some("2024-03-01T00:00:00Z"), 300, Some("windows"), Some("amd64")),
    (Some("2023-06-01T00:00:00Z"), 700, Some("linux"), Some("amd64")),
    (Some("2024-02-01T00:00:00Z"), 100, None, None),
];

fn digest(i: usize) -> String {
    // Distinct, hex-looking digests whose hex has a few shared substrings.
    let mut hex = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    while hex.len() < 64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        hex.push_str(&format!("{x:016x}"));
    }
    format!("sha256:{}", &hex[..64])
}

async fn profile(store: &Store, name: &str) -> i64 {
    store
        .add_profile(&NewProfile {
            name: name.into(),
            url: format!("http://{name}.invalid/"),
            kind: ProfileKind::Registry,
            username: None,
        })
        .await
        .unwrap()
        .id
}

async fn fill(store: &Store, pid: i64, tags: &[(&str, &str, usize)]) {
    let mut repos: Vec<&str> = tags.iter().map(|t| t.0).collect();
    repos.dedup();
    for repo in repos {
        let records: Vec<TagRecord> = tags
            .iter()
            .filter(|t| t.0 == repo)
            .map(|t| TagRecord {
                name: t.1.into(),
                digest: digest(t.2),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            })
            .collect();
        store.replace_repository_tags(pid, repo, &records).await.unwrap();
    }
}

async fn store() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    for (i, (created, size, os, arch)) in MANIFESTS.iter().enumerate() {
        store
            .insert_manifest(&ManifestRecord {
                digest: digest(i),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                raw: b"{}".to_vec(),
                created: created.map(str::to_string),
                os: os.map(str::to_string),
                architecture: arch.map(str::to_string),
                total_size: *size,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let pid = profile(&store, "lab").await;
    fill(&store, pid, TAGS).await;
    // Another profile with look-alike tags: never in the first profile's results.
    let other = profile(&store, "other").await;
    fill(&store, other, &[("apps/web", "v1.2.0", 0), ("apps/weblike", "latest", 3), ("zzz", "web", 1)]).await;
    (dir, store, pid)
}

/// The expected hits, by the documented rule, sorted as the window sorts.
fn oracle(tags: &[(&str, &str, usize)], needle: &str, sort: TagSort) -> Vec<(String, String)> {
    let n = needle.to_lowercase();
    let n = ["sha256:", "sha512:"].iter().find_map(|p| n.strip_prefix(p)).filter(|h| !h.is_empty()).unwrap_or(&n);
    let mut hits: Vec<_> = tags
        .iter()
        .filter(|(repo, tag, m)| {
            format!("{repo}:{tag}").to_lowercase().contains(n) || digest(*m)["sha256:".len()..].starts_with(n)
        })
        .collect();
    let platforms = |m: usize| match MANIFESTS[m] {
        (_, _, Some(os), Some(arch)) => format!("{os}/{arch}"),
        _ => String::new(),
    };
    hits.sort_by(|a, b| {
        let (ma, mb) = (&MANIFESTS[a.2], &MANIFESTS[b.2]);
        let key = match sort {
            TagSort::Name => std::cmp::Ordering::Equal,
            TagSort::Created => ma.0.is_none().cmp(&mb.0.is_none()).then(mb.0.cmp(&ma.0)),
            TagSort::Size => mb.1.cmp(&ma.1),
            TagSort::Digest => digest(a.2).cmp(&digest(b.2)),
            TagSort::Platforms => platforms(a.2).cmp(&platforms(b.2)),
            TagSort::Repository => a.0.cmp(b.0),
        };
        key.then(a.1.cmp(b.1)).then(a.0.cmp(b.0))
    });
    hits.into_iter().map(|(r, t, _)| (r.to_string(), t.to_string())).collect()
}

fn keys(rows: &[TagRow]) -> Vec<(String, String)> {
    rows.iter().map(|r| (r.repository.clone(), r.name.clone())).collect()
}

const SORTS: [TagSort; 6] =
    [TagSort::Name, TagSort::Created, TagSort::Size, TagSort::Digest, TagSort::Platforms, TagSort::Repository];

#[tokio::test]
async fn every_needle_shape_matches_the_oracle_with_exact_totals_in_every_sort() {
    let (_dir, store, pid) = store().await;
    let hex = &digest(2)["sha256:".len()..];
    let needles: Vec<String> = [
        // repository parts, tag parts, both (a repository match unioned with tag matches elsewhere)
        "web",
        "WEB",
        "apps/",
        "team7/",
        "service0042",
        "v1.2",
        "v3.1",
        "latest",
        "rc-1",
        "RC",
        // across the colon
        ":v1",
        ":V1.2.",
        "web:v1",
        "apps/web:",
        "s/web:L",
        "hook:sha",
        ":",
        "x:y",
        "x:",
        ":y",
        "a:b:c",
        "web:v1:",
        // short needles (scan), the empty needle (everything)
        "",
        "a",
        "x",
        "b",
        "1",
        "v3",
        // LIKE wildcards and FTS syntax are plain characters
        "a_b",
        "_",
        "%",
        "0%",
        "\"",
        "web\"",
        "'",
        "a*",
        "v1 OR v2",
        "NEAR(a b)",
        "nomatch-at-all",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        hex[..12].to_string(),
        hex[..2].to_string(),
        hex[10..13].to_uppercase(),
        hex[..3].to_uppercase(),
        hex[..4].to_string(),
        hex[1..8].to_string(),
        format!("sha256:{}", &hex[..12]),
        format!("SHA256:{}", &hex[..12].to_uppercase()),
        format!("sha256:{}", &hex[..2]),
        hex.to_string(),
        digest(2),
        "sha256:".to_string(),
    ])
    .collect();
    for needle in &needles {
        for sort in SORTS {
            let expected = oracle(TAGS, needle, sort);
            for limit in [100, 3, 1] {
                let (total, rows) = store.search_tags(pid, needle, sort, limit).await.unwrap();
                assert_eq!(total, expected.len() as u64, "total for {needle:?} ({sort:?})");
                let want: Vec<_> = expected.iter().take(limit as usize).cloned().collect();
                assert_eq!(keys(&rows), want, "page of {limit} for {needle:?} ({sort:?})");
            }
            let (total, rows) = store.search_tags(pid, needle, sort, 0).await.unwrap();
            assert_eq!((total, rows.len()), (expected.len() as u64, 0), "limit 0 still counts {needle:?}");
            // Pages from an offset: together they are the whole result, in order, without a cap.
            for page in [1u32, 2, 5] {
                let mut all = Vec::new();
                let mut offset = 0u64;
                loop {
                    let (total, rows) = store.search_tags_page(pid, needle, sort, offset, page).await.unwrap();
                    assert_eq!(total, expected.len() as u64, "total at offset {offset} for {needle:?} ({sort:?})");
                    if rows.is_empty() {
                        break;
                    }
                    offset += rows.len() as u64;
                    all.extend(keys(&rows));
                }
                assert_eq!(all, expected, "pages of {page} for {needle:?} ({sort:?})");
            }
        }
    }
    // Spot checks that the oracle itself is not vacuous.
    assert_eq!(oracle(TAGS, "web", TagSort::Name).len(), 7, "apps/web ×4, tools/webhook ×2, tools/cli:web-v1");
    assert_eq!(oracle(TAGS, "a_b", TagSort::Name), vec![("apps/api".to_string(), "a_b".to_string())]);
    assert_eq!(oracle(TAGS, &hex[..12], TagSort::Name).len(), 3, "RC-1, the .sig tag, v3.10.1");
    // Rows carry their columns.
    let (_, rows) = store.search_tags(pid, "apps/web:v1.2.0", TagSort::Name, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].digest, digest(0));
    assert_eq!(rows[0].size, 500);
    assert_eq!(rows[0].created.as_deref(), Some("2024-01-01T00:00:00Z"));
    assert_eq!(rows[0].platforms, "linux/amd64");
}

#[tokio::test]
async fn the_index_follows_resyncs_that_move_and_drop_tags() {
    let (_dir, store, pid) = store().await;
    let moved: Vec<_> = TAGS
        .iter()
        .filter(|t| t.0 == "apps/web" && t.1 != "latest")
        .map(|&(r, t, m)| (r, t, if t == "v1.2.0" { 4 } else { m }))
        .collect();
    // A resync of apps/web: "latest" gone, v1.2.0 moved to manifest 4; then the same resync again
    // (every digest rewritten with itself).
    for _ in 0..2 {
        fill(&store, pid, &moved).await;
    }
    let now: Vec<_> = TAGS.iter().filter(|t| t.0 != "apps/web").copied().chain(moved.iter().copied()).collect();
    let old_hex = &digest(0)["sha256:".len()..];
    let new_hex = &digest(4)["sha256:".len()..];
    for needle in ["latest", "apps/web", &old_hex[..12], &new_hex[..12], "v1.2.0", "web"] {
        let expected = oracle(&now, needle, TagSort::Name);
        let (total, rows) = store.search_tags(pid, needle, TagSort::Name, 100).await.unwrap();
        assert_eq!((total, keys(&rows)), (expected.len() as u64, expected), "after resync: {needle:?}");
    }
    let (total, _) = store.search_tags(pid, "latest", TagSort::Name, 10).await.unwrap();
    assert_eq!(total, 0, "the dropped tag left the index");
    // The trigram index holds exactly what the tags table does (FTS5 checks its index against its
    // content table; a tag the triggers missed, or an old name left behind, fails it).
    sqlx::query("INSERT INTO tags_search (tags_search, rank) VALUES ('integrity-check', 1)")
        .execute(store.pool())
        .await
        .expect("the trigram index matches the tags");
    // …and the check can fail: a tag deleted behind the index's back.
    sqlx::query("DROP TRIGGER tags_search_delete").execute(store.pool()).await.unwrap();
    sqlx::query("DELETE FROM tags WHERE name = 'v1.2.0'").execute(store.pool()).await.unwrap();
    let check = sqlx::query("INSERT INTO tags_search (tags_search, rank) VALUES ('integrity-check', 1)")
        .execute(store.pool())
        .await;
    assert!(check.is_err(), "integrity-check missed an index row without its tag");
}
