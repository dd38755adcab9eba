//! `/service/token` and `/v2`: Harbor's token service and the registry API behind its permission checks.

use super::*;

pub(super) async fn token(State(st): State<Arc<HState>>, req: Request) -> Response {
    let q = query_pairs(req.uri().query());
    if let Some(s) = qget(&q, "service") {
        if s != SERVICE {
            return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("Unable to handle service: {s}"));
        }
    }
    let who = match basic_auth(req.headers()) {
        BasicAuth::Given(u, p) => match st.login(&u, &p) {
            Some(w) => w,
            None => return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid username or password"),
        },
        BasicAuth::Malformed => return unauthorized(),
        BasicAuth::None => Principal::Anonymous,
    };
    let scoped = q.iter().any(|(k, _)| k == "scope");
    if !who.authenticated() && !scoped {
        return unauthorized();
    }
    let token = format!(
        "harbor-emu.{}",
        crate::sha256_digest(
            format!("{:?}{}", SystemTime::now(), st.next_id.fetch_add(1, Ordering::SeqCst)).as_bytes()
        )
        .trim_start_matches("sha256:")
    );
    // Harbor's token service grants, per requested `repository:<name>:<actions>` scope, the actions
    // this account may do there; a scope it may do nothing in is left out of the token.
    let mut access: Vec<(String, Vec<String>)> = Vec::new();
    for (_, scope) in q.iter().filter(|(k, _)| k == "scope") {
        for one in scope.split(' ') {
            let Some(rest) = one.strip_prefix("repository:") else { continue };
            let Some((name, actions)) = rest.rsplit_once(':') else { continue };
            let Some(project) = st.project(name.split('/').next().unwrap_or("")) else { continue };
            let granted: Vec<String> = actions
                .split(',')
                .filter(|a| match *a {
                    "*" => who.is_admin(),
                    a => who.can(&project, a),
                })
                .map(str::to_string)
                .collect();
            if !granted.is_empty() {
                access.push((name.to_string(), granted));
            }
        }
    }
    st.tokens.lock().unwrap().insert(token.clone(), (who, access));
    axum::Json(json!({"token": token, "access_token": token, "expires_in": 1800, "issued_at": emu::now()}))
        .into_response()
}

pub(super) fn v2_challenge(st: &HState, scope: Option<String>) -> Response {
    let mut c = format!("Bearer realm=\"{}/service/token\",service=\"{SERVICE}\"", st.public);
    if let Some(s) = scope {
        c.push_str(&format!(",scope=\"{s}\""));
    }
    let mut r = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized to access repository");
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&c).expect("challenge"));
    r.headers_mut().insert("Docker-Distribution-Api-Version", HeaderValue::from_static("registry/2.0"));
    r
}

pub(super) async fn v2(State(st): State<Arc<HState>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let pq = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
    let has_auth = req.headers().contains_key(header::AUTHORIZATION);
    let mut granted: Option<Vec<(String, Vec<String>)>> = None;
    let who = if let Some(t) = emu::bearer(req.headers()) {
        match st.tokens.lock().unwrap().get(&t).cloned() {
            Some((w, access)) => {
                granted = Some(access);
                w
            }
            None => return v2_challenge(&st, None),
        }
    } else {
        match basic_auth(req.headers()) {
            BasicAuth::Given(u, p) => match st.login(&u, &p) {
                Some(w) => w,
                None => {
                    let mut r = unauthorized();
                    r.headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"harbor\""));
                    return r;
                }
            },
            BasicAuth::Malformed => return v2_challenge(&st, None),
            BasicAuth::None => Principal::Anonymous,
        }
    };
    let rest = path.trim_start_matches("/v2").trim_start_matches('/');
    if rest.is_empty() {
        if !has_auth {
            return v2_challenge(&st, None);
        }
        return emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await;
    }
    if rest == "_catalog" {
        if !who.is_admin() {
            let mut r = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized to list catalog");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"harbor\""));
            return r;
        }
        return emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await;
    }
    // /v2/<name>/(manifests|blobs|tags|referrers)/...
    let marker = ["/manifests/", "/blobs/", "/tags/", "/referrers/"].iter().filter_map(|m| rest.find(m)).min();
    let Some(cut) = marker else { return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found") };
    let name = &rest[..cut];
    let project_name = name.split('/').next().unwrap_or("");
    let action = match *req.method() {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "push",
    };
    let scope = Some(format!("repository:{name}:{}", if action == "pull" { "pull" } else { "pull,push" }));
    if !has_auth {
        // Harbor challenges every repository request that carries no Authorization header.
        return v2_challenge(&st, scope);
    }
    let Some(project) = st.project(project_name) else {
        if !who.authenticated() {
            return v2_challenge(&st, scope);
        }
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("project {project_name} not found"));
    };
    // A token acts only within the scopes it was issued for (nested names included, as one name).
    if let Some(access) = &granted {
        let ok = access.iter().any(|(n, acts)| n == name && acts.iter().any(|a| a == action || a == "*"));
        if !ok {
            let mut r = error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "insufficient scope");
            let c = format!(
                "Bearer realm=\"{}/service/token\",service=\"{SERVICE}\",scope=\"repository:{name}:{action}\",error=\"insufficient_scope\"",
                st.public
            );
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&c).expect("challenge"));
            return r;
        }
    }
    if !who.can(&project, action) {
        if !has_auth || !who.authenticated() {
            return v2_challenge(&st, scope);
        }
        return error(StatusCode::FORBIDDEN, "DENIED", "requested access to the resource is denied");
    }
    if *req.method() == Method::DELETE && rest[cut..].starts_with("/manifests/") && !rest.contains("/manifests/sha256:")
    {
        return error(StatusCode::BAD_REQUEST, "UNSUPPORTED", "unsupported digest");
    }
    if let Some(reference) = rest[cut..].strip_prefix("/manifests/") {
        let digest = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            st.disk.tags(name).get(reference).map(|(d, _)| d.clone())
        };
        if let Some(d) = digest {
            if *req.method() == Method::GET {
                st.pulls.lock().unwrap().insert((name.to_string(), d.clone()), SystemTime::now());
            }
            if *req.method() == Method::DELETE {
                // Harbor's immutable middleware: a manifest with an immutable tag cannot be deleted.
                let tags = st.disk.tags(name);
                if let Some((t, _)) =
                    tags.iter().find(|(t, (td, _))| *td == d && st.immutable_rule(&project, name, t).is_some())
                {
                    return error(
                        StatusCode::PRECONDITION_FAILED,
                        "PRECONDITION",
                        &format!("Failed to process request due to '{name}:{t}' configured as immutable."),
                    );
                }
            }
        }
    }
    let deleting = (*req.method() == Method::DELETE)
        .then(|| rest[cut..].strip_prefix("/manifests/").map(str::to_string))
        .flatten();
    let resp = emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await;
    // A manifest delete through /v2 has the API's semantics: its accessories go with it.
    if let (Some(digest), true) = (deleting, resp.status().is_success()) {
        for acc in st.artifacts(name).iter().filter(|a| a.accessory.as_ref().is_some_and(|(s, _)| *s == digest)) {
            emu::registry_delete_manifest(&st.http, &st.upstream, name, &acc.m.digest).await;
        }
    }
    resp
}
