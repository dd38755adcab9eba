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
    st.tokens.lock().unwrap().insert(token.clone(), who);
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
    let who = if let Some(t) = emu::bearer(req.headers()) {
        match st.tokens.lock().unwrap().get(&t).cloned() {
            Some(w) => w,
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
    emu::proxy(&st.http, &st.upstream, &st.public, &pq, req).await
}
