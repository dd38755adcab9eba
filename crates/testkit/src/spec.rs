//! Contract checks for the emulators: every JSON response an emulator sends is validated against
//! the response schema of the matching operation in the vendor's spec file (Harbor's Swagger 2.0,
//! Nexus' OpenAPI 3.0), so the emulators cannot drift from the real API.
//!
//! The spec's schemas are turned into JSON Schema (draft 7) with these rules:
//! * `$ref`s (`#/definitions/X`, `#/components/schemas/X`) are resolved into one `definitions` map;
//! * a property that is not `required` may be `null` (Go's nil slices and pointers, Jackson's
//!   included nulls: both servers send them), as may anything marked `nullable`/`x-nullable`;
//! * strict: an object schema with `properties` and no `additionalProperties` rejects unknown
//!   fields, so a misspelt field in an emulator is a violation (not inside `allOf`);
//! * `format`s are checked (date-time, etc.).
//!
//! Violations are recorded, not thrown: the emulator's handle panics with all of them when the test
//! ends (and `assert_clean` checks on demand).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Map, Value};

/// Where the spec files live (copied into the test kit, see `specs/README.md`).
pub fn spec_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Swagger2,
    OpenApi3,
}

#[derive(Debug)]
struct Operation {
    method: String,
    template: String,
    segments: Vec<Option<String>>,
    /// status ("200", "default") → schema (None: documented without a body)
    responses: BTreeMap<String, Option<Value>>,
}

/// One parsed spec file.
#[derive(Debug)]
pub struct Spec {
    name: String,
    base_path: String,
    ops: Vec<Operation>,
    definitions: Map<String, Value>,
}

impl Spec {
    /// Parses a YAML or JSON spec file.
    pub fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read spec {}: {e}", path.display()));
        let doc: Value = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).expect("spec JSON")
        } else {
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("spec YAML {}: {e}", path.display()))
        };
        Self::from_value(&path.file_name().unwrap_or_default().to_string_lossy(), doc)
    }

    pub fn from_value(name: &str, doc: Value) -> Spec {
        let flavor = if doc.get("openapi").is_some() { Flavor::OpenApi3 } else { Flavor::Swagger2 };
        let base_path = match flavor {
            Flavor::Swagger2 => doc.get("basePath").and_then(Value::as_str).unwrap_or("").to_string(),
            Flavor::OpenApi3 => doc
                .pointer("/servers/0/url")
                .and_then(Value::as_str)
                .map(|u| {
                    if u.starts_with("http") {
                        url::Url::parse(u).map(|u| u.path().to_string()).unwrap_or_default()
                    } else {
                        u.to_string()
                    }
                })
                .unwrap_or_default(),
        };
        let base_path = base_path.trim_end_matches('/').to_string();
        let definitions = match flavor {
            Flavor::Swagger2 => doc.get("definitions"),
            Flavor::OpenApi3 => doc.pointer("/components/schemas"),
        }
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
        let mut ops = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                let Some(item) = item.as_object() else { continue };
                for (method, op) in item {
                    if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head") {
                        continue;
                    }
                    let mut responses = BTreeMap::new();
                    if let Some(rs) = op.get("responses").and_then(Value::as_object) {
                        for (status, r) in rs {
                            let r = resolve_response(&doc, r);
                            let schema = match flavor {
                                Flavor::Swagger2 => r.get("schema").cloned(),
                                Flavor::OpenApi3 => r
                                    .get("content")
                                    .and_then(Value::as_object)
                                    .and_then(|c| c.get("application/json").or_else(|| c.values().next()))
                                    .and_then(|m| m.get("schema"))
                                    .cloned(),
                            };
                            responses.insert(status.clone(), schema);
                        }
                    }
                    let segments = template
                        .trim_matches('/')
                        .split('/')
                        .map(|s| if s.starts_with('{') && s.ends_with('}') { None } else { Some(s.to_string()) })
                        .collect();
                    ops.push(Operation {
                        method: method.to_ascii_uppercase(),
                        template: template.clone(),
                        segments,
                        responses,
                    });
                }
            }
        }
        Spec { name: name.to_string(), base_path, ops, definitions }
    }

    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The operation for `method` and a concrete request path (raw, still percent-encoded): the
    /// template with the most literal segments wins (`/system/gc/schedule` over `/system/gc/{id}`).
    fn find(&self, method: &str, path: &str) -> Option<&Operation> {
        let rel = path.strip_prefix(&self.base_path)?;
        let parts: Vec<&str> = rel.trim_matches('/').split('/').collect();
        self.ops
            .iter()
            .filter(|o| o.method == method && o.segments.len() == parts.len())
            .filter(|o| o.segments.iter().zip(&parts).all(|(s, p)| s.as_deref().is_none_or(|s| s == *p)))
            .max_by_key(|o| o.segments.iter().filter(|s| s.is_some()).count())
    }

    /// A definition by name, as JSON Schema (for schema overrides).
    fn definition_ref(&self, name: &str) -> Value {
        assert!(self.definitions.contains_key(name), "{}: no schema named {name}", self.name);
        json!({"$ref": format!("#/definitions/{name}")})
    }

    /// Builds a self-contained JSON Schema for `schema` (a spec schema, possibly a `$ref`).
    fn json_schema(&self, schema: &Value) -> Value {
        let mut defs = Map::new();
        let mut pending = Vec::new();
        let root = self.convert(schema, &mut pending, false);
        while let Some(name) = pending.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            defs.insert(name.clone(), Value::Null);
            let def =
                self.definitions.get(&name).cloned().unwrap_or_else(|| panic!("{}: unresolved $ref {name}", self.name));
            let converted = self.convert(&def, &mut pending, false);
            defs.insert(name, converted);
        }
        let mut out = json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": defs});
        out.as_object_mut().unwrap().insert("allOf".into(), json!([root]));
        out
    }

    fn convert(&self, s: &Value, pending: &mut Vec<String>, in_all_of: bool) -> Value {
        let Some(obj) = s.as_object() else { return s.clone() };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap_or(r).to_string();
            pending.push(name.clone());
            return json!({"$ref": format!("#/definitions/{name}")});
        }
        let mut out = Map::new();
        let nullable = is_true(obj.get("nullable")) || is_true(obj.get("x-nullable"));
        let required: Vec<String> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        for (k, v) in obj {
            match k.as_str() {
                "properties" => {
                    let mut props = Map::new();
                    for (pname, pschema) in v.as_object().into_iter().flatten() {
                        let c = self.convert(pschema, pending, false);
                        let c = if required.contains(pname) { c } else { or_null(c) };
                        props.insert(pname.clone(), c);
                    }
                    out.insert(k.clone(), Value::Object(props));
                }
                "items" | "additionalProperties" | "not" => {
                    let c = if v.is_object() { self.convert(v, pending, false) } else { v.clone() };
                    out.insert(k.clone(), c);
                }
                "allOf" => {
                    let parts = v.as_array().into_iter().flatten().map(|p| self.convert(p, pending, true)).collect();
                    out.insert(k.clone(), Value::Array(parts));
                }
                "anyOf" | "oneOf" => {
                    let parts = v.as_array().into_iter().flatten().map(|p| self.convert(p, pending, false)).collect();
                    out.insert(k.clone(), Value::Array(parts));
                }
                "type" if v == "file" => {}
                "type" | "enum" | "format" | "minimum" | "maximum" | "minLength" | "maxLength" | "pattern"
                | "minItems" | "maxItems" | "required" | "exclusiveMinimum" | "exclusiveMaximum" => {
                    // Nexus' patched spec has a few string-typed booleans; JSON Schema wants booleans.
                    let v = match (k.as_str(), v) {
                        ("exclusiveMinimum" | "exclusiveMaximum", Value::String(s)) => Value::Bool(s == "true"),
                        _ => v.clone(),
                    };
                    if k == "enum" && nullable {
                        let mut e = v.as_array().cloned().unwrap_or_default();
                        e.push(Value::Null);
                        out.insert(k.clone(), Value::Array(e));
                    } else {
                        out.insert(k.clone(), v);
                    }
                }
                _ => {} // description, example, x-*, readOnly, …
            }
        }
        if out.contains_key("properties") && !obj.contains_key("additionalProperties") && !in_all_of {
            out.insert("additionalProperties".into(), Value::Bool(false));
        }
        let v = Value::Object(out);
        if nullable {
            or_null(v)
        } else {
            v
        }
    }
}

fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

fn or_null(v: Value) -> Value {
    json!({"anyOf": [{"type": "null"}, v]})
}

fn resolve_response<'a>(doc: &'a Value, r: &'a Value) -> &'a Value {
    match r.get("$ref").and_then(Value::as_str) {
        Some(p) => doc.pointer(p.trim_start_matches('#')).unwrap_or(r),
        None => r,
    }
}

type CompiledKey = (String, String, String);

/// Validates responses against a [`Spec`] and records what does not conform.
pub struct SpecValidator {
    spec: Spec,
    /// (METHOD, template) → definition name, for operations whose spec documents no body schema.
    overrides: HashMap<(String, String), String>,
    compiled: Mutex<HashMap<CompiledKey, Arc<jsonschema::Validator>>>,
    violations: Mutex<Vec<String>>,
    checked: AtomicUsize,
}

impl std::fmt::Debug for SpecValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecValidator").field("spec", &self.spec.name).finish()
    }
}

impl SpecValidator {
    pub fn new(spec: Spec) -> SpecValidator {
        SpecValidator {
            spec,
            overrides: HashMap::new(),
            compiled: Mutex::new(HashMap::new()),
            violations: Mutex::new(Vec::new()),
            checked: AtomicUsize::new(0),
        }
    }

    /// The spec file `name` from [`spec_dir`].
    pub fn from_file(name: &str) -> SpecValidator {
        Self::new(Spec::load(&spec_dir().join(name)))
    }

    /// For an operation the spec lists without a success schema (Nexus 3.94's `GET /v1/components`
    /// has only 403/422): validate 2xx bodies against this named schema of the same spec.
    pub fn with_override(mut self, method: &str, template: &str, definition: &str) -> SpecValidator {
        self.spec.definition_ref(definition);
        self.overrides.insert((method.to_string(), template.to_string()), definition.to_string());
        self
    }

    /// Replaces a definition of the spec where the real server is known to differ from its own spec
    /// (say why at the call site). Use sparingly: every patch is a hole in the contract check.
    pub fn patch_definition(mut self, name: &str, schema: Value) -> SpecValidator {
        assert!(self.spec.definitions.contains_key(name), "{}: no schema named {name}", self.spec.name);
        self.spec.definitions.insert(name.to_string(), schema);
        self
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// JSON bodies checked so far.
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::SeqCst)
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    /// Panics with every violation recorded so far.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "{} response(s) broke {}:\n{}", v.len(), self.spec.name, v.join("\n"));
    }

    fn record(&self, v: String) {
        tracing::error!("spec violation: {v}");
        self.violations.lock().unwrap().push(v);
    }

    /// Checks one response. Only paths under the spec's base path are checked; JSON bodies must
    /// match the documented schema; an undocumented operation or success status is a violation.
    pub fn check(&self, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
        if !path.starts_with(&self.spec.base_path) {
            return;
        }
        let what = format!("{method} {path} → {status}");
        let Some(op) = self.spec.find(method, path) else {
            if status < 400 {
                self.record(format!("{what}: no such operation in {}", self.spec.name));
            }
            return;
        };
        let is_json = content_type.is_some_and(|c| c.contains("json")) && !body.is_empty();
        let status_key = status.to_string();
        let override_schema = (200..300)
            .contains(&status)
            .then(|| self.overrides.get(&(method.to_string(), op.template.clone())))
            .flatten()
            .map(|d| self.spec.definition_ref(d));
        let documented = op.responses.get(&status_key).or_else(|| op.responses.get("default"));
        let schema = match (override_schema, documented) {
            (Some(s), _) => Some(s),
            (None, Some(s)) => s.clone(),
            (None, None) => {
                if status < 400 {
                    self.record(format!("{what}: status not documented for {} {}", op.method, op.template));
                }
                if !is_json {
                    return;
                }
                None
            }
        };
        if !is_json {
            return;
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                self.record(format!("{what}: body is not JSON ({e})"));
                return;
            }
        };
        self.checked.fetch_add(1, Ordering::SeqCst);
        let Some(schema) = schema else {
            if status < 400 {
                self.record(format!("{what}: a JSON body where {} documents none", op.template));
            }
            return;
        };
        let key = (op.method.clone(), op.template.clone(), status_key);
        let validator = {
            let mut c = self.compiled.lock().unwrap();
            match c.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let js = self.spec.json_schema(&schema);
                    let v = jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft7)
                        .should_validate_formats(true)
                        .build(&js)
                        .unwrap_or_else(|e| {
                            panic!("{}: schema of {} {} does not compile: {e}", self.spec.name, op.method, op.template)
                        });
                    let v = Arc::new(v);
                    c.insert(key, v.clone());
                    v
                }
            }
        };
        let errors: Vec<String> =
            validator.iter_errors(&instance).take(5).map(|e| format!("at {}: {e}", e.instance_path())).collect();
        if !errors.is_empty() {
            let mut body = instance.to_string();
            body.truncate(600);
            self.record(format!("{what} ({}): {}\n    body: {body}", op.template, errors.join("; ")));
        }
    }
}

/// axum middleware: buffers each response, checks it with the validator, passes it on unchanged.
pub async fn validate_responses(State(v): State<Arc<SpecValidator>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if method == Method::HEAD {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            v.record(format!("{method} {path}: unreadable body: {e}"));
            return Response::from_parts(parts, Body::empty());
        }
    };
    let ct = parts.headers.get(axum::http::header::CONTENT_TYPE).and_then(|c| c.to_str().ok());
    v.check(method.as_str(), &path, parts.status.as_u16(), ct, &bytes);
    let _ = StatusCode::OK;
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn harbor() -> SpecValidator {
        SpecValidator::from_file("harbor-swagger-v2.15.2.yaml")
    }

    #[test]
    fn harbor_project_list_conforms_or_not() {
        let v = harbor();
        let good = json!([{"project_id": 1, "name": "library", "metadata": {"public": "true"}, "repo_count": 2,
            "creation_time": "2024-01-02T03:04:05.000Z", "owner_name": "admin", "cve_allowlist": null}]);
        v.check("GET", "/api/v2.0/projects", 200, Some("application/json"), good.to_string().as_bytes());
        v.assert_clean();
        assert_eq!(v.checked(), 1);
        // A wrong type, an unknown field and a bad date: each is caught.
        let bad = json!([{"project_id": "1", "name": "library", "colour": "red", "creation_time": "yesterday"}]);
        v.check("GET", "/api/v2.0/projects", 200, Some("application/json"), bad.to_string().as_bytes());
        let found = v.violations().join("\n");
        assert!(found.contains("project_id"), "{found}");
        assert!(found.contains("colour"), "{found}");
        assert!(found.contains("yesterday"), "{found}");
    }

    #[test]
    fn literal_segments_win_and_unknown_paths_are_violations() {
        let v = harbor();
        v.check("GET", "/api/v2.0/system/gc/schedule", 200, Some("application/json"), b"{\"id\": 1}");
        v.assert_clean();
        v.check("GET", "/api/v2.0/no/such/thing", 200, Some("application/json"), b"{}");
        assert!(v.violations()[0].contains("no such operation"));
    }

    #[test]
    fn nexus_spec_loads_with_an_override() {
        let v = SpecValidator::from_file("nexus-openapi-3.94.yaml").with_override(
            "GET",
            "/v1/components",
            "PageComponentXO",
        );
        let page = json!({"items": [{"id": "ZG9j", "repository": "docker", "format": "docker", "group": null,
            "name": "team/app", "version": "1.0", "assets": []}], "continuationToken": null});
        v.check("GET", "/service/rest/v1/components", 200, Some("application/json"), page.to_string().as_bytes());
        v.assert_clean();
        v.check("GET", "/service/rest/v1/components", 200, Some("application/json"), b"{\"items\": 3}");
        assert_eq!(v.violations().len(), 1);
    }
}
