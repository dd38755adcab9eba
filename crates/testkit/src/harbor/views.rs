//! What the emulator reads from the registry's storage, and the JSON Harbor answers with for it.

use super::*;

/// An artifact as Harbor would list it, built from the registry's storage.
pub(super) struct Artifact {
    pub(super) m: StoredManifest,
    pub(super) tags: Vec<(String, SystemTime)>,
    pub(super) size: u64,
    /// Referenced by an index in the repository.
    pub(super) child: bool,
}

impl HState {
    pub(super) fn id(&self, key: &str) -> i64 {
        let mut ids = self.ids.lock().unwrap();
        *ids.entry(key.to_string()).or_insert_with(|| self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    pub(super) fn principal(&self, headers: &HeaderMap) -> Principal {
        match basic_auth(headers) {
            BasicAuth::Given(u, p) => self.login(&u, &p).unwrap_or(Principal::Anonymous),
            _ => Principal::Anonymous,
        }
    }

    pub(super) fn login(&self, user: &str, password: &str) -> Option<Principal> {
        if user.starts_with("robot$") {
            return self.robots.iter().find(|r| r.login == user && r.secret == password).cloned().map(Principal::Robot);
        }
        self.users.iter().find(|u| u.name == user && u.password == password).cloned().map(Principal::User)
    }

    pub(super) fn project(&self, name_or_id: &str) -> Option<Project> {
        let projects = self.projects.lock().unwrap();
        projects.iter().find(|p| p.name == name_or_id || p.id.to_string() == name_or_id).cloned()
    }

    /// Like Harbor: a repository exists from its first push until it is deleted through the API
    /// (deleting its last artifact leaves it, empty).
    pub(super) fn repositories_of(&self, project: &str) -> Vec<String> {
        let prefix = format!("{project}/");
        let removed = self.removed.lock().unwrap().clone();
        self.disk
            .repositories()
            .into_iter()
            .filter(|r| r.starts_with(&prefix))
            .filter(|r| !removed.contains(r) || !self.disk.revisions(r).is_empty())
            .collect()
    }

    pub(super) fn artifacts(&self, repo: &str) -> Vec<Artifact> {
        let manifests = self.disk.manifests(repo);
        let tags = self.disk.tags(repo);
        let children: BTreeSet<String> =
            manifests.iter().filter(|m| m.is_index()).flat_map(|m| m.children().into_iter().map(|c| c.0)).collect();
        let by_digest: HashMap<&str, &StoredManifest> = manifests.iter().map(|m| (m.digest.as_str(), m)).collect();
        let size_of =
            |m: &StoredManifest| -> u64 { m.bytes.len() as u64 + m.blobs().iter().map(|(_, s)| s).sum::<u64>() };
        manifests
            .iter()
            .map(|m| {
                let size = if m.is_index() {
                    m.bytes.len() as u64
                        + m.children()
                            .iter()
                            .filter_map(|c| by_digest.get(c.0.as_str()))
                            .map(|c| size_of(c))
                            .sum::<u64>()
                } else {
                    size_of(m)
                };
                let mut t: Vec<(String, SystemTime)> =
                    tags.iter().filter(|(_, (d, _))| *d == m.digest).map(|(n, (_, at))| (n.clone(), *at)).collect();
                t.sort();
                Artifact { m: m.clone(), tags: t, size, child: children.contains(&m.digest) }
            })
            .collect()
    }

    pub(super) fn project_usage(&self, project: &str) -> u64 {
        let mut blobs: BTreeMap<String, u64> = BTreeMap::new();
        for repo in self.repositories_of(project) {
            for m in self.disk.manifests(&repo) {
                blobs.insert(m.digest.clone(), m.bytes.len() as u64);
                for (d, s) in m.blobs() {
                    blobs.insert(d, s);
                }
            }
        }
        blobs.values().sum()
    }

    pub(super) fn project_json(&self, p: &Project, who: &Principal) -> Value {
        let role = who.role(p);
        json!({
            "project_id": p.id,
            "owner_id": 1,
            "name": p.name,
            "creation_time": self.created,
            "update_time": self.created,
            "deleted": false,
            "owner_name": "admin",
            "togglable": true,
            "current_user_role_id": role.map(|r| r as i64).unwrap_or(0),
            "current_user_role_ids": role.map(|r| vec![r as i64]),
            "repo_count": self.repositories_of(&p.name).len(),
            "metadata": {"public": p.public.to_string()},
            "cve_allowlist": {"id": p.id, "project_id": p.id, "items": [], "creation_time": self.created, "update_time": self.created},
        })
    }

    pub(super) fn repository_json(&self, p: &Project, repo: &str) -> Value {
        let arts = self.artifacts(repo);
        let created = arts.iter().map(|a| a.m.pushed).min().map(emu::rfc3339).unwrap_or_else(|| self.created.clone());
        let updated = arts.iter().map(|a| a.m.pushed).max().map(emu::rfc3339).unwrap_or_else(|| self.created.clone());
        json!({
            "id": self.id(&format!("repo:{repo}")),
            "project_id": p.id,
            "name": repo,
            "description": "",
            "artifact_count": arts.iter().filter(|a| !a.child || !a.tags.is_empty()).count(),
            "pull_count": 0,
            "creation_time": created,
            "update_time": updated,
        })
    }

    pub(super) fn artifact_json(&self, p: &Project, repo: &str, a: &Artifact, with_tag: bool) -> Value {
        let repo_id = self.id(&format!("repo:{repo}"));
        let art_id = self.id(&format!("art:{repo}@{}", a.m.digest));
        let tags: Vec<Value> = a
            .tags
            .iter()
            .map(|(t, at)| {
                json!({"id": self.id(&format!("tag:{repo}:{t}")), "repository_id": repo_id, "artifact_id": art_id,
                    "name": t, "push_time": emu::rfc3339(*at), "pull_time": ZERO_TIME, "immutable": false})
            })
            .collect();
        let references: Vec<Value> =
            a.m.children()
                .into_iter()
                .map(|(d, os, arch, variant)| {
                    let mut platform = json!({"os": os, "architecture": arch});
                    if let Some(v) = variant {
                        platform["variant"] = json!(v);
                    }
                    json!({"parent_id": art_id, "child_id": self.id(&format!("art:{repo}@{d}")), "child_digest": d,
                    "platform": platform, "urls": null, "annotations": null})
                })
                .collect();
        let config =
            a.m.config_digest().and_then(|d| self.disk.blob(&d)).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let mut extra = serde_json::Map::new();
        if let Some(c) = &config {
            for k in ["architecture", "os", "created", "author", "variant"] {
                if let Some(v) = c.get(k) {
                    extra.insert(k.into(), v.clone());
                }
            }
            if let Some(v) = c.get("config") {
                extra.insert("config".into(), v.clone());
            }
        }
        let config_media = a.m.json.pointer("/config/mediaType").and_then(Value::as_str);
        let enc = repo.strip_prefix(&format!("{}/", p.name)).unwrap_or(repo).replace('/', "%252F");
        json!({
            "id": art_id,
            "type": "IMAGE",
            "media_type": config_media.unwrap_or(&a.m.media_type),
            "manifest_media_type": a.m.media_type,
            "artifact_type": config_media.unwrap_or(&a.m.media_type),
            "project_id": p.id,
            "repository_id": repo_id,
            "repository_name": repo,
            "digest": a.m.digest,
            "size": a.size,
            "icon": "",
            "push_time": emu::rfc3339(a.m.pushed),
            "pull_time": ZERO_TIME,
            "extra_attrs": if extra.is_empty() { Value::Null } else { Value::Object(extra) },
            "annotations": a.m.json.get("annotations").cloned(),
            "references": if references.is_empty() { Value::Null } else { Value::Array(references) },
            "tags": if with_tag && !tags.is_empty() { Value::Array(tags) } else { Value::Null },
            "labels": null,
            "accessories": null,
            "addition_links": {"build_history": {"absolute": false,
                "href": format!("/api/v2.0/projects/{}/repositories/{enc}/artifacts/{}/additions/build_history", p.name, a.m.digest)}},
        })
    }
}
