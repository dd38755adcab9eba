//! `/api/v2.0`: projects, repositories, artifacts and tags, with Harbor's permission checks.

use super::*;

pub(super) fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized")
}

pub(super) fn forbidden() -> Response {
    error(StatusCode::FORBIDDEN, "FORBIDDEN", "forbidden")
}

pub(super) fn denied(who: &Principal) -> Response {
    if who.authenticated() {
        forbidden()
    } else {
        unauthorized()
    }
}

pub(super) async fn api(State(st): State<Arc<HState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q = query_pairs(req.uri().query());
    let who = st.principal(req.headers());
    // `X-Is-Resource-Name: true` makes a numeric project reference a name (otherwise it is an ID).
    let is_name = req.headers().get("X-Is-Resource-Name").and_then(|v| v.to_str().ok()) == Some("true");
    // gorilla/csrf as Harbor configures it: only requests carrying the session cookie are checked.
    let has_session = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.split(';').any(|kv| kv.trim().starts_with("sid=")));
    let safe = method == Method::GET || method == Method::HEAD;
    if has_session && !safe && !req.headers().contains_key("X-Harbor-CSRF-Token") {
        return error(StatusCode::FORBIDDEN, "FORBIDDEN", "CSRF token invalid");
    }
    let body = axum::body::to_bytes(req.into_body(), 1024 * 1024).await.unwrap_or_default();
    let rel = path.strip_prefix("/api/v2.0/").unwrap_or("");
    let segs: Vec<&str> = rel.split('/').collect();
    let m = method.as_str();
    match (m, segs.as_slice()) {
        ("GET", ["ping"]) => ([(header::CONTENT_TYPE, "text/plain")], "Pong").into_response(),
        ("GET", ["health"]) => ok_json(&json!({"status": "healthy", "components": [
            {"name": "core", "status": "healthy"}, {"name": "registry", "status": "healthy"},
            {"name": "jobservice", "status": "healthy"}, {"name": "database", "status": "healthy"}]})),
        ("GET", ["systeminfo"]) => {
            let mode = if st.oidc { "oidc_auth" } else { "db_auth" };
            let mut v = json!({"auth_mode": mode, "primary_auth_mode": false, "self_registration": false,
                "banner_message": "", "oidc_provider_name": ""});
            if who.authenticated() {
                let host = st.public.trim_start_matches("http://").to_string();
                for (k, val) in [
                    ("current_time", json!(emu::now())),
                    ("harbor_version", json!(HARBOR_VERSION)),
                    ("external_url", json!(st.public)),
                    ("registry_url", json!(host)),
                    ("read_only", json!(false)),
                    ("has_ca_root", json!(false)),
                    ("project_creation_restriction", json!("everyone")),
                    ("registry_storage_provider_name", json!("filesystem")),
                    ("notification_enable", json!(true)),
                ] {
                    v[k] = val;
                }
            }
            ok_json(&v)
        }
        ("GET", ["users", "current"]) => match &who {
            Principal::Anonymous => unauthorized(),
            Principal::Robot(r) => error(
                StatusCode::PRECONDITION_FAILED,
                "PRECONDITION",
                &format!("get current user not available for security context: robot ({})", r.login),
            ),
            Principal::User(u) => {
                let mut v = json!({"user_id": u.id, "username": u.name, "email": format!("{}@example.invalid", u.name),
                "realname": u.name, "comment": "", "sysadmin_flag": u.admin, "admin_role_in_auth": false,
                "creation_time": st.created, "update_time": st.created});
                if st.oidc && !u.admin {
                    v["oidc_user_meta"] = json!({"id": u.id, "user_id": u.id, "subiss": format!("{}https://idp.example.invalid", u.name),
                        "secret": u.password, "creation_time": st.created, "update_time": st.created});
                }
                ok_json(&v)
            }
        },
        ("GET", ["users", "current", "permissions"]) => {
            if !who.authenticated() {
                return unauthorized();
            }
            let scope = qget(&q, "scope").unwrap_or("");
            let relative = qget(&q, "relative") == Some("true");
            let project = scope.strip_prefix("/project/").and_then(|id| st.project_by_id(id));
            let items: Vec<Value> = match project {
                Some(p) => who
                    .policies(&p)
                    .into_iter()
                    .map(|(r, a)| {
                        let resource = if relative { r } else { format!("/project/{}/{r}", p.id) };
                        json!({"resource": resource, "action": a})
                    })
                    .collect(),
                None => Vec::new(),
            };
            ok_json(&Value::Array(items))
        }
        ("GET", ["retentions", id]) => {
            let Some(r) = st.retention.lock().unwrap().iter().find(|r| r.id.to_string() == *id).cloned() else {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("retention policy {id} not found"));
            };
            let Some(p) = st.project(&r.project) else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
            if !who.allowed(&p, "tag-retention", "read") {
                return denied(&who);
            }
            ok_json(&json!({"id": r.id, "algorithm": "or",
                "rules": [{"id": 1, "priority": 1, "disabled": false, "action": "retain", "template": r.template,
                    "params": r.params,
                    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": r.tags, "extras": "{\"untagged\":true}"}],
                    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": r.repositories}]}}],
                "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 0 * * *"}, "references": {}},
                "scope": {"level": "project", "ref": p.id}}))
        }
        ("GET", ["statistics"]) => {
            if !who.authenticated() {
                return unauthorized();
            }
            let projects = st.projects.lock().unwrap().clone();
            let visible: Vec<&Project> = projects.iter().filter(|p| who.sees(p)).collect();
            let count = |public: bool| visible.iter().filter(|p| p.public == public).count();
            let repos = |public: bool| -> usize {
                visible.iter().filter(|p| p.public == public).map(|p| st.repositories_of(&p.name).len()).sum()
            };
            let mut v = json!({"private_project_count": count(false), "private_repo_count": repos(false),
                "public_project_count": count(true), "public_repo_count": repos(true)});
            if who.is_admin() {
                v["total_project_count"] = json!(projects.len());
                v["total_repo_count"] = json!(repos(true) + repos(false));
                v["total_storage_consumption"] = json!(projects.iter().map(|p| st.project_usage(&p.name)).sum::<u64>());
            }
            ok_json(&v)
        }
        ("GET", ["projects"]) => {
            let projects = st.projects.lock().unwrap().clone();
            let name = qget(&q, "name");
            let fuzzy = qget(&q, "q").and_then(|q| q.strip_prefix("name=~")).map(str::to_string);
            let public = qget(&q, "public").map(|v| v == "true");
            let items = projects
                .iter()
                .filter(|p| who.sees(p))
                .filter(|p| name.is_none_or(|n| p.name == n))
                .filter(|p| fuzzy.as_deref().is_none_or(|f| p.name.contains(f)))
                .filter(|p| public.is_none_or(|b| p.public == b))
                .map(|p| st.project_json(p, &who))
                .collect();
            paginate(items, &path, &q)
        }
        ("GET", ["quotas"]) => {
            if !who.authenticated() {
                return unauthorized();
            }
            let projects = st.projects.lock().unwrap().clone();
            let id = qget(&q, "reference_id");
            let items = projects
                .iter()
                .filter(|p| who.allowed(p, "quota", "read") && id.is_none_or(|i| i == p.id.to_string()))
                .map(|p| {
                    json!({"id": p.id, "ref": {"id": p.id, "name": p.name, "owner_name": "admin"},
                    "hard": {"storage": p.quota}, "used": {"storage": st.project_usage(&p.name)},
                    "creation_time": st.created, "update_time": st.created})
                })
                .collect();
            paginate(items, &path, &q)
        }
        (_, ["projects", p, rest @ ..]) => project_api(&st, m, &path, &q, &who, (p, is_name), rest).await,
        (_, ["system", "gc", rest @ ..]) => gc_api(&st, m, &q, &path, &who, rest, &body).await,
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

pub(super) async fn project_api(
    st: &Arc<HState>,
    m: &str,
    path: &str,
    q: &[(String, String)],
    who: &Principal,
    (project, is_name): (&str, bool),
    rest: &[&str],
) -> Response {
    let Some(pname) = path_param(project) else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
    // Harbor's parseProjectNameOrID: a number is an ID unless the header says it is a name.
    let found = if !is_name && pname.parse::<i64>().is_ok() { st.project_by_id(&pname) } else { st.project(&pname) };
    let Some(p) = found else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("project {pname} not found"));
    };
    if !who.sees(&p) {
        return denied(who);
    }
    let repo_of = |raw: &str| path_param(raw).map(|r| format!("{}/{r}", p.name));
    match (m, rest) {
        ("GET", []) => ok_json(&st.project_json(&p, who)),
        ("GET", ["summary"]) => {
            // GetProjectSummary: project read, then quota and member counts only with their permissions.
            if !who.allowed(&p, "project", "read") {
                return denied(who);
            }
            let count = |role: HarborRole| p.members.iter().filter(|(_, r)| *r == role).count();
            let mut v = json!({"repo_count": st.repositories_of(&p.name).len()});
            if who.allowed(&p, "member", "list") {
                v["project_admin_count"] = json!(count(HarborRole::ProjectAdmin));
                v["maintainer_count"] = json!(count(HarborRole::Maintainer));
                v["developer_count"] = json!(count(HarborRole::Developer));
                v["guest_count"] = json!(count(HarborRole::Guest));
                v["limited_guest_count"] = json!(count(HarborRole::LimitedGuest));
            }
            if who.allowed(&p, "quota", "read") {
                v["quota"] = json!({"hard": {"storage": p.quota}, "used": {"storage": st.project_usage(&p.name)}});
            }
            ok_json(&v)
        }
        ("GET", ["immutabletagrules"]) => {
            if !who.allowed(&p, "immutable-tag", "list") {
                return denied(who);
            }
            let items = st
                .immutable
                .iter()
                .filter(|r| r.project == p.name)
                .map(|r| {
                    json!({"id": r.id, "priority": 0, "disabled": false, "action": "immutable",
                        "template": "immutable_template", "params": {},
                        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": r.tags}],
                        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": r.repositories}]}})
                })
                .collect();
            paginate(items, path, q)
        }
        ("GET", ["repositories"]) => {
            if !who.allowed(&p, "repository", "list") {
                return denied(who);
            }
            let fuzzy = qget(q, "q").and_then(|q| q.strip_prefix("name=~")).map(str::to_string);
            let items = st
                .repositories_of(&p.name)
                .iter()
                .filter(|r| fuzzy.as_deref().is_none_or(|f| r.contains(f)))
                .map(|r| st.repository_json(&p, r))
                .collect();
            paginate(items, path, q)
        }
        (_, ["repositories", r, rest @ ..]) => {
            let Some(repo) = repo_of(r) else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
            if !st.repositories_of(&p.name).contains(&repo) {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("repository {repo} not found"));
            }
            artifact_api(st, m, path, q, who, &p, &repo, rest).await
        }
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn artifact_api(
    st: &Arc<HState>,
    m: &str,
    path: &str,
    q: &[(String, String)],
    who: &Principal,
    p: &Project,
    repo: &str,
    rest: &[&str],
) -> Response {
    let opts = ArtifactOptions::from_query(q);
    let arts = st.artifacts(repo);
    let find = |reference: &str| -> Option<&Artifact> {
        let reference = percent_decode(reference);
        if reference.starts_with("sha256:") {
            arts.iter().find(|a| a.m.digest == reference)
        } else {
            arts.iter().find(|a| a.tags.iter().any(|(t, _)| *t == reference))
        }
    };
    match (m, rest) {
        ("GET", []) => ok_json(&st.repository_json(p, repo)),
        ("DELETE", []) => {
            if !who.can(p, "delete") {
                return denied(who);
            }
            for a in &arts {
                emu::registry_delete_manifest(&st.http, &st.upstream, repo, &a.m.digest).await;
            }
            st.removed.lock().unwrap().insert(repo.to_string());
            ok_empty()
        }
        ("GET", ["artifacts"]) => {
            if !who.allowed(p, "artifact", "list") {
                return denied(who);
            }
            let filter = qget(q, "q").unwrap_or("");
            let items = arts
                .iter()
                .filter(|a| !a.child || !a.tags.is_empty())
                .filter(|a| a.accessory.is_none())
                .filter(|a| match filter {
                    "tags=*" => !a.tags.is_empty(),
                    "tags=nil" => a.tags.is_empty(),
                    f => match f.strip_prefix("tags=~") {
                        Some(s) => a.tags.iter().any(|(t, _)| t.contains(s)),
                        None => match f.strip_prefix("tags=") {
                            Some(s) => a.tags.iter().any(|(t, _)| t == s),
                            None => true,
                        },
                    },
                })
                .map(|a| st.artifact_json(p, repo, a, &arts, &opts))
                .collect();
            paginate(items, path, q)
        }
        ("GET", ["artifacts", reference]) => match find(reference) {
            Some(_) if !who.allowed(p, "artifact", "read") => denied(who),
            Some(a) => ok_json(&st.artifact_json(p, repo, a, &arts, &opts)),
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found")),
        },
        ("DELETE", ["artifacts", reference]) => {
            let Some(a) = find(reference) else {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found"));
            };
            if !who.can(p, "delete") {
                return denied(who);
            }
            if a.child {
                return error(
                    StatusCode::PRECONDITION_FAILED,
                    "VIOLATE_FOREIGN_KEY_CONSTRAINT",
                    "the deleting artifact is referenced by others",
                );
            }
            if let Some((t, _)) = a.tags.iter().find(|(t, _)| st.immutable_rule(p, repo, t).is_some()) {
                return error(
                    StatusCode::PRECONDITION_FAILED,
                    "PRECONDITION",
                    &format!("the tag {t} configured as immutable, cannot be deleted"),
                );
            }
            emu::registry_delete_manifest(&st.http, &st.upstream, repo, &a.m.digest).await;
            // Its accessories (signatures, SBOMs) are hard references: they go with it.
            for acc in arts.iter().filter(|x| x.accessory.as_ref().is_some_and(|(s, _)| *s == a.m.digest)) {
                emu::registry_delete_manifest(&st.http, &st.upstream, repo, &acc.m.digest).await;
            }
            // The index's children go with it, unless another index or a tag still holds them.
            let remaining: BTreeSet<String> = arts
                .iter()
                .filter(|o| o.m.digest != a.m.digest && o.m.is_index())
                .flat_map(|o| o.m.children().into_iter().map(|c| c.0))
                .collect();
            for (child, ..) in a.m.children() {
                let tagged = arts.iter().any(|o| o.m.digest == child && !o.tags.is_empty());
                if !remaining.contains(&child) && !tagged {
                    emu::registry_delete_manifest(&st.http, &st.upstream, repo, &child).await;
                }
            }
            ok_empty()
        }
        ("GET", ["artifacts", reference, "tags"]) => match find(reference) {
            Some(a) => {
                let tag_opts = ArtifactOptions { with_tag: true, ..opts };
                let v = st.artifact_json(p, repo, a, &arts, &tag_opts);
                let tags = v["tags"].as_array().cloned().unwrap_or_default();
                paginate(tags, path, q)
            }
            None => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found")),
        },
        ("DELETE", ["artifacts", reference, "tags", tag]) => {
            let Some(a) = find(reference) else {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("artifact {repo}:{reference} not found"));
            };
            if !who.allowed(p, "tag", "delete") {
                return denied(who);
            }
            let tag = percent_decode(tag);
            if !a.tags.iter().any(|(t, _)| *t == tag) {
                return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("tag {tag} not found on {}", a.m.digest));
            }
            if st.immutable_rule(p, repo, &tag).is_some() {
                return error(
                    StatusCode::PRECONDITION_FAILED,
                    "PRECONDITION",
                    &format!("the tag {tag} configured as immutable, cannot be deleted"),
                );
            }
            st.disk.remove_tag(repo, &tag);
            ok_empty()
        }
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no route for {m} {path}")),
    }
}
