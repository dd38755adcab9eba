//! What the emulator reads from the registry's storage, and the JSON Harbor answers with for it.

use super::*;

/// An artifact as Harbor would list it, built from the registry's storage.
pub(super) struct Artifact {
    pub(super) m: StoredManifest,
    pub(super) tags: Vec<(String, SystemTime)>,
    pub(super) size: u64,
    /// Referenced by an index in the repository.
    pub(super) child: bool,
    /// An accessory (signature, SBOM, other referrer): its subject's digest and Harbor's type
    /// (`signature.cosign`, `signature.notation`, `sbom.harbor`, `subject.accessory`). Harbor lists
    /// accessories under their subject, not as artifacts.
    pub(super) accessory: Option<(String, &'static str)>,
}

/// Harbor's `type` of an artifact, from its config media type (the processors it registers).
pub(super) fn artifact_kind(m: &StoredManifest) -> &'static str {
    let config = m.json.pointer("/config/mediaType").and_then(Value::as_str).unwrap_or("");
    match config {
        _ if m.is_index() => "IMAGE",
        "application/vnd.oci.image.config.v1+json" | "application/vnd.docker.container.image.v1+json" => "IMAGE",
        "application/vnd.cncf.helm.config.v1+json" => "CHART",
        "application/vnd.cnab.manifest.config.v1+json" => "CNAB",
        "application/vnd.wasm.config.v1+json" | "application/vnd.module.wasm.config.v1+json" => "WASM",
        "application/vnd.goharbor.harbor.sbom.v1" => "SBOM",
        _ => "UNKNOWN",
    }
}

/// The subject and accessory type of a manifest that is one: an OCI `subject`, or a cosign
/// signature under the `sha256-<hex>.sig` tag scheme.
fn accessory_of(m: &StoredManifest, tags: &[(String, SystemTime)]) -> Option<(String, &'static str)> {
    if let Some(subject) = m.json.pointer("/subject/digest").and_then(Value::as_str) {
        let kind = m
            .json
            .get("artifactType")
            .and_then(Value::as_str)
            .or_else(|| m.json.pointer("/config/mediaType").and_then(Value::as_str))
            .unwrap_or("");
        let t = match kind {
            "application/vnd.cncf.notary.signature" => "signature.notation",
            "application/vnd.dev.cosign.artifact.sig.v1+json" => "signature.cosign",
            "application/vnd.goharbor.harbor.sbom.v1" => "sbom.harbor",
            _ => "subject.accessory",
        };
        return Some((subject.to_string(), t));
    }
    let cosign = m.json.pointer("/layers/0/mediaType").and_then(Value::as_str)
        == Some("application/vnd.dev.cosign.simplesigning.v1+json");
    let sig_tag = tags.iter().find_map(|(t, _)| t.strip_prefix("sha256-")?.strip_suffix(".sig").map(str::to_string));
    match sig_tag {
        Some(hex) if cosign => Some((format!("sha256:{hex}"), "signature.cosign")),
        _ => None,
    }
}

/// Doublestar matching as Harbor's selectors do it (`*` stays within a path segment).
pub(super) fn doublestar(pattern: &str, value: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(value))
        .unwrap_or(false)
}

/// The `with_*` flags of an artifact request.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ArtifactOptions {
    pub(super) with_tag: bool,
    pub(super) with_label: bool,
    pub(super) with_scan_overview: bool,
    pub(super) with_accessory: bool,
    pub(super) with_immutable_status: bool,
}

impl ArtifactOptions {
    pub(super) fn from_query(q: &[(String, String)]) -> ArtifactOptions {
        let flag = |k: &str, default: bool| qget(q, k).map(|v| v == "true").unwrap_or(default);
        ArtifactOptions {
            with_tag: flag("with_tag", true),
            with_label: flag("with_label", false),
            with_scan_overview: flag("with_scan_overview", false),
            with_accessory: flag("with_accessory", false),
            with_immutable_status: flag("with_immutable_status", false),
        }
    }
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

    /// A project by name.
    pub(super) fn project(&self, name: &str) -> Option<Project> {
        self.projects.lock().unwrap().iter().find(|p| p.name == name).cloned()
    }

    pub(super) fn project_by_id(&self, id: &str) -> Option<Project> {
        self.projects.lock().unwrap().iter().find(|p| p.id.to_string() == id).cloned()
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
                let accessory = accessory_of(m, &t);
                Artifact { m: m.clone(), tags: t, size, child: children.contains(&m.digest), accessory }
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
            "metadata": self.project_metadata(p),
            "cve_allowlist": {"id": p.id, "project_id": p.id, "items": [], "creation_time": self.created, "update_time": self.created},
        })
    }

    fn project_metadata(&self, p: &Project) -> Value {
        let mut m = json!({"public": p.public.to_string()});
        if let Some(r) = self.retention.lock().unwrap().iter().find(|r| r.project == p.name) {
            m["retention_id"] = json!(r.id.to_string());
        }
        m
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
            "artifact_count": arts.iter().filter(|a| (!a.child || !a.tags.is_empty()) && a.accessory.is_none()).count(),
            "pull_count": 0,
            "creation_time": created,
            "update_time": updated,
        })
    }

    /// The immutability rule protecting `repo:tag`, if one does.
    pub(super) fn immutable_rule(&self, p: &Project, repo: &str, tag: &str) -> Option<i64> {
        let relative = repo.strip_prefix(&format!("{}/", p.name)).unwrap_or(repo);
        self.immutable
            .iter()
            .find(|r| r.project == p.name && doublestar(&r.repositories, relative) && doublestar(&r.tags, tag))
            .map(|r| r.id)
    }

    fn pull_time(&self, repo: &str, digest: &str) -> String {
        self.pulls
            .lock()
            .unwrap()
            .get(&(repo.to_string(), digest.to_string()))
            .map(|t| emu::rfc3339(*t))
            .unwrap_or_else(|| ZERO_TIME.to_string())
    }

    pub(super) fn artifact_json(
        &self,
        p: &Project,
        repo: &str,
        a: &Artifact,
        all: &[Artifact],
        o: &ArtifactOptions,
    ) -> Value {
        let with_tag = o.with_tag;
        let repo_id = self.id(&format!("repo:{repo}"));
        let art_id = self.id(&format!("art:{repo}@{}", a.m.digest));
        let pull_time = self.pull_time(repo, &a.m.digest);
        let tags: Vec<Value> = a
            .tags
            .iter()
            .map(|(t, at)| {
                let immutable = o.with_immutable_status && self.immutable_rule(p, repo, t).is_some();
                json!({"id": self.id(&format!("tag:{repo}:{t}")), "repository_id": repo_id, "artifact_id": art_id,
                    "name": t, "push_time": emu::rfc3339(*at), "pull_time": pull_time, "immutable": immutable})
            })
            .collect();
        let labels: Vec<Value> = self
            .labels
            .iter()
            .filter(|(d, ..)| *d == a.m.digest)
            .map(|(_, name, color)| {
                json!({"id": self.id(&format!("label:{name}")), "name": name, "description": "", "color": color,
                    "scope": "g", "project_id": 0, "creation_time": self.created, "update_time": self.created})
            })
            .collect();
        let accessories: Vec<Value> = all
            .iter()
            .filter_map(|x| x.accessory.as_ref().filter(|(s, _)| *s == a.m.digest).map(|(_, t)| (x, t)))
            .map(|(x, t)| {
                json!({"id": self.id(&format!("acc:{repo}@{}", x.m.digest)),
                    "artifact_id": self.id(&format!("art:{repo}@{}", x.m.digest)), "subject_artifact_id": art_id,
                    "subject_artifact_digest": a.m.digest, "subject_artifact_repo": repo, "size": x.size,
                    "digest": x.m.digest, "type": t, "icon": "", "creation_time": emu::rfc3339(x.m.pushed)})
            })
            .collect();
        let scan = self.scans.iter().find(|s| s.digest == a.m.digest).map(|s| {
            let order = ["Critical", "High", "Medium", "Low", "Unknown"];
            let severity =
                order.iter().find(|sev| s.counts.iter().any(|(k, n)| k == *sev && *n > 0)).copied().unwrap_or("None");
            let total: i64 = s.counts.iter().map(|(_, n)| n).sum();
            let summary: serde_json::Map<String, Value> = s.counts.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
            json!({"application/vnd.security.vulnerability.report; version=1.1": {
                "report_id": format!("report-{}", &a.m.digest[7..19]), "scan_status": "Success", "severity": severity,
                "duration": 12, "summary": {"total": total, "fixable": s.fixable, "summary": summary},
                "start_time": self.created, "end_time": self.created, "complete_percent": 100,
                "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.58.1"}}})
        });
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
        let artifact_type =
            a.m.json.get("artifactType").and_then(Value::as_str).or(config_media).unwrap_or(&a.m.media_type);
        let mut v = json!({
            "id": art_id,
            "type": artifact_kind(&a.m),
            "media_type": config_media.unwrap_or(&a.m.media_type),
            "manifest_media_type": a.m.media_type,
            "artifact_type": artifact_type,
            "project_id": p.id,
            "repository_id": repo_id,
            "repository_name": repo,
            "digest": a.m.digest,
            "size": a.size,
            "icon": "",
            "push_time": emu::rfc3339(a.m.pushed),
            "pull_time": pull_time,
            "extra_attrs": if extra.is_empty() { Value::Null } else { Value::Object(extra) },
            "annotations": a.m.json.get("annotations").cloned(),
            "references": if references.is_empty() { Value::Null } else { Value::Array(references) },
            "tags": if with_tag && !tags.is_empty() { Value::Array(tags) } else { Value::Null },
            "labels": if o.with_label && !labels.is_empty() { Value::Array(labels) } else { Value::Null },
            "accessories": if o.with_accessory && !accessories.is_empty() { Value::Array(accessories) } else { Value::Null },
            "addition_links": {"build_history": {"absolute": false,
                "href": format!("/api/v2.0/projects/{}/repositories/{enc}/artifacts/{}/additions/build_history", p.name, a.m.digest)}},
        });
        if let (true, Some(scan)) = (o.with_scan_overview, scan) {
            v["scan_overview"] = scan;
        }
        if self.old {
            // Harbor before 2.5: no artifact_type, no accessories.
            if let Some(m) = v.as_object_mut() {
                m.remove("artifact_type");
                m.remove("accessories");
            }
        }
        v
    }
}
