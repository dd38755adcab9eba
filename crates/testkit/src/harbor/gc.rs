//! `/api/v2.0/system/gc`: Harbor's GC job (schedule, history, log, stop), run against the registry.

use super::*;

pub(super) fn gc_json(r: &GcRecord) -> Value {
    json!({
        "id": r.id,
        "job_name": "GARBAGE_COLLECTION",
        "job_kind": r.kind,
        "job_parameters": r.params.to_string(),
        "schedule": {"type": if r.kind == "MANUAL" { "Manual" } else { "Schedule" }, "cron": "", "next_scheduled_time": ZERO_TIME},
        "job_status": r.status,
        "deleted": false,
        "creation_time": r.created,
        "update_time": r.updated,
    })
}

pub(super) async fn gc_api(
    st: &Arc<HState>,
    m: &str,
    q: &[(String, String)],
    path: &str,
    who: &Principal,
    rest: &[&str],
    body: &[u8],
) -> Response {
    if !who.authenticated() {
        return unauthorized();
    }
    if !who.is_admin() {
        return forbidden();
    }
    match (m, rest) {
        ("GET", []) => {
            let runs = st.gc.lock().unwrap().runs.clone();
            paginate(runs.iter().rev().map(gc_json).collect(), path, q)
        }
        ("GET", ["schedule"]) => match st.gc.lock().unwrap().schedule.clone() {
            None => StatusCode::OK.into_response(),
            Some((kind, cron, params)) => ok_json(&json!({
                "id": 1, "job_name": "", "job_kind": kind, "job_parameters": params.to_string(),
                "schedule": {"type": kind, "cron": cron, "next_scheduled_time": ZERO_TIME},
                "job_status": "", "deleted": false, "creation_time": st.created, "update_time": st.created})),
        },
        ("POST" | "PUT", ["schedule"]) => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "invalid JSON body");
            };
            let kind = v.pointer("/schedule/type").and_then(Value::as_str).unwrap_or("").to_string();
            let params = v.get("parameters").cloned().unwrap_or_else(|| json!({}));
            if let Some(w) = params.get("workers") {
                if !w.as_i64().is_some_and(|w| (1..=10).contains(&w)) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BAD_REQUEST",
                        &format!("Error: Invalid number of workers:{w}. Workers must be greater than 0 and less than or equal to 10."),
                    );
                }
            }
            match kind.as_str() {
                "Manual" => {
                    let id = start_gc(st, &params);
                    if m == "POST" {
                        let mut r = StatusCode::CREATED.into_response();
                        r.headers_mut().insert(
                            header::LOCATION,
                            HeaderValue::from_str(&format!("/api/v2.0/system/gc/{id}")).expect("location"),
                        );
                        r
                    } else {
                        ok_empty()
                    }
                }
                "None" => {
                    st.gc.lock().unwrap().schedule = None;
                    ok_empty()
                }
                "Hourly" | "Daily" | "Weekly" | "Custom" => {
                    let cron = v.pointer("/schedule/cron").and_then(Value::as_str).unwrap_or("").to_string();
                    if cron.split_whitespace().count() != 6 {
                        return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("invalid cron: {cron:?}"));
                    }
                    st.gc.lock().unwrap().schedule = Some((kind, cron, params));
                    if m == "POST" {
                        StatusCode::CREATED.into_response()
                    } else {
                        ok_empty()
                    }
                }
                other => error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("unsupported schedule type {other:?}")),
            }
        }
        ("GET", [id]) => match st.gc.lock().unwrap().runs.iter().find(|r| r.id.to_string() == *id) {
            Some(r) => ok_json(&gc_json(r)),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} not found")),
        },
        ("PUT", [id]) => {
            let mut gc = st.gc.lock().unwrap();
            match gc.runs.iter_mut().find(|r| r.id.to_string() == *id) {
                Some(r) => {
                    if r.status == "Running" || r.status == "Pending" {
                        r.status = "Stopped".into();
                        r.updated = emu::now();
                        r.log.push_str("the GC job was stopped\n");
                    }
                    ok_empty()
                }
                None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} not found")),
            }
        }
        ("GET", [id, "log"]) => match st.gc.lock().unwrap().runs.iter().find(|r| r.id.to_string() == *id) {
            Some(r) => ([(header::CONTENT_TYPE, "text/plain")], r.log.clone()).into_response(),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("garbage collection {id} log is not found")),
        },
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

pub(super) fn start_gc(st: &Arc<HState>, params: &Value) -> i64 {
    let delete_untagged = params.get("delete_untagged").and_then(Value::as_bool).unwrap_or(false);
    let dry_run = params.get("dry_run").and_then(Value::as_bool).unwrap_or(false);
    let workers = params.get("workers").and_then(Value::as_i64).unwrap_or(1);
    let id = {
        let mut gc = st.gc.lock().unwrap();
        let id = gc.runs.len() as i64 + 1;
        let now = emu::now();
        let p = json!({"delete_untagged": delete_untagged, "delete_tag": false, "dry_run": dry_run,
            "time_window": st.time_window, "workers": workers});
        gc.runs.push(GcRecord {
            id,
            kind: "MANUAL".into(),
            params: p,
            status: "Running".into(),
            created: now.clone(),
            updated: now,
            log: format!(
                "Garbage Collection parameters: [delete_untagged: {delete_untagged}, delete_tag: false, dry_run: {dry_run}, time_window: {}, workers: {workers}]\nstart to run gc in job.\n",
                st.time_window
            ),
        });
        id
    };
    let st = st.clone();
    tokio::spawn(async move {
        let mut purged_manifests = 0u64;
        if delete_untagged && !dry_run {
            // Harbor deletes untagged artifacts (not index children) through its own delete.
            let projects = st.projects.lock().unwrap().clone();
            for p in projects {
                for repo in st.repositories_of(&p.name) {
                    for a in st.artifacts(&repo) {
                        if a.tags.is_empty() && !a.child {
                            emu::registry_delete_manifest(&st.http, &st.upstream, &repo, &a.m.digest).await;
                            purged_manifests += 1;
                        }
                    }
                }
            }
        }
        let window = st.time_window;
        let registry = st.registry.clone();
        let disk = st.disk.clone();
        let (log, freed, blobs) = tokio::task::spawn_blocking(move || {
            let (_, before) = disk.bytes_on_disk();
            let probe = registry.garbage_collect(true, false);
            let eligible = probe.blobs_eligible.unwrap_or(0);
            let manifests = probe.manifests_eligible.unwrap_or(0);
            let mut log = format!("{eligible} blobs and {manifests} manifests eligible for deletion\n");
            if window > 0 || dry_run {
                // Every blob of a test is younger than the window: nothing is old enough to go.
                log.push_str("The GC job actual frees up 0 B space.\n");
                return (log, 0, 0);
            }
            let run = registry.garbage_collect(false, false);
            let (_, after) = disk.bytes_on_disk();
            let freed = before.saturating_sub(after);
            if !run.success {
                log.push_str(&format!("garbage-collect failed: {}\n", run.stderr));
            }
            log.push_str(&format!("The GC job actual frees up {freed} B space.\n"));
            (log, freed, eligible)
        })
        .await
        .unwrap_or_else(|e| (format!("gc crashed: {e}\n"), 0, 0));
        let mut gc = st.gc.lock().unwrap();
        if let Some(r) = gc.runs.iter_mut().find(|r| r.id == id) {
            r.log.push_str(&log);
            if r.status == "Running" {
                r.status = "Success".into();
                r.log.push_str("success to run gc in job.\n");
            }
            r.params["freed_space"] = json!(freed);
            r.params["purged_blobs"] = json!(blobs);
            r.params["purged_manifests"] = json!(purged_manifests);
            r.updated = emu::now();
        }
    });
    id
}
