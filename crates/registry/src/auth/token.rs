//! Bearer tokens: scopes, the token endpoint's answer, and a cache keyed by realm + service + scope set.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One resource scope, `type:name:actions` (e.g. `repository:team/app:pull,push`, `registry:catalog:*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: BTreeSet<String>,
}

impl Scope {
    pub fn repository(name: &str, actions: &[&str]) -> Scope {
        Scope { kind: "repository".into(), name: name.into(), actions: actions.iter().map(|a| a.to_string()).collect() }
    }

    pub fn catalog() -> Scope {
        Scope { kind: "registry".into(), name: "catalog".into(), actions: ["*".to_string()].into() }
    }

    /// Parses `type[(class)]:name:action[,action]`. Repository names never contain ':', but the type may
    /// carry a class and the name of other types might; split at the first and last colon.
    pub fn parse(s: &str) -> Option<Scope> {
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Scope {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect(),
        })
    }

    /// Whether `self` grants at least what `other` asks (same resource, a superset of actions, `*` covers all).
    pub fn covers(&self, other: &Scope) -> bool {
        self.kind == other.kind
            && self.name == other.name
            && (self.actions.contains("*") || other.actions.is_subset(&self.actions))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(String::as_str).collect();
        write!(f, "{}:{}:{}", self.kind, self.name, actions.join(","))
    }
}

/// Merges scopes on the same resource (union of actions) and sorts them: a canonical scope set.
pub fn normalize(scopes: impl IntoIterator<Item = Scope>) -> Vec<Scope> {
    let mut map: std::collections::BTreeMap<(String, String), BTreeSet<String>> = Default::default();
    for s in scopes {
        map.entry((s.kind, s.name)).or_default().extend(s.actions);
    }
    map.into_iter().map(|((kind, name), actions)| Scope { kind, name, actions }).collect()
}

/// The token endpoint's JSON answer (`Debug` shows no token).
#[derive(Clone, serde::Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| t.as_ref().map(|_| "<redacted>");
        f.debug_struct("TokenResponse")
            .field("token", &shown(&self.token))
            .field("access_token", &shown(&self.access_token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl TokenResponse {
    /// `token`, else `access_token` (the spec allows either; some servers send only one).
    pub fn bearer(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty()).or(self.access_token.as_deref().filter(|t| !t.is_empty()))
    }

    /// Lifetime clamped to [60 s, 24 h]: the spec's minimum is 60 s, and a huge value must not pin a token forever.
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.expires_in.unwrap_or(60).clamp(60, 86_400) as u64)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    realm: String,
    service: String,
    scopes: Vec<String>,
}

/// Tokens by realm + service + canonical scope set, renewed a little before they expire (`Debug`
/// shows how many, never a token).
#[derive(Default)]
pub struct TokenCache {
    map: Mutex<HashMap<Key, (String, Instant)>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        write!(f, "TokenCache({n} tokens)")
    }
}

const RENEW_EARLY: Duration = Duration::from_secs(5);

impl TokenCache {
    fn key(realm: &str, service: &str, scopes: &[Scope]) -> Key {
        Key {
            realm: realm.into(),
            service: service.into(),
            scopes: normalize(scopes.iter().cloned()).iter().map(Scope::to_string).collect(),
        }
    }

    pub fn get(&self, realm: &str, service: &str, scopes: &[Scope]) -> Option<String> {
        let map = crate::client::lock(&self.map);
        let (tok, exp) = map.get(&Self::key(realm, service, scopes))?;
        (Instant::now() + RENEW_EARLY < *exp).then(|| tok.clone())
    }

    pub fn put(&self, realm: &str, service: &str, scopes: &[Scope], token: String, lifetime: Duration) {
        let mut map = crate::client::lock(&self.map);
        map.insert(Self::key(realm, service, scopes), (token, Instant::now() + lifetime));
    }

    pub fn forget(&self, realm: &str, service: &str, scopes: &[Scope]) {
        crate::client::lock(&self.map).remove(&Self::key(realm, service, scopes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parse_and_display() {
        let s = Scope::parse("repository:team/app:pull,push").unwrap();
        assert_eq!(s.name, "team/app");
        assert_eq!(s.to_string(), "repository:team/app:pull,push");
        assert_eq!(Scope::parse("registry:catalog:*").unwrap(), Scope::catalog());
        assert_eq!(Scope::parse("repository(plugin):x:pull").unwrap().kind, "repository(plugin)");
        assert!(Scope::parse("nonsense").is_none());
        assert!(Scope::parse("a:b").is_none());
    }

    #[test]
    fn normalize_merges_actions() {
        let n = normalize([Scope::repository("a", &["pull"]), Scope::repository("a", &["delete"]), Scope::catalog()]);
        assert_eq!(
            n.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["registry:catalog:*", "repository:a:delete,pull"]
        );
    }

    #[test]
    fn covers() {
        let all = Scope::repository("a", &["*"]);
        assert!(all.covers(&Scope::repository("a", &["delete"])));
        assert!(Scope::repository("a", &["pull", "push"]).covers(&Scope::repository("a", &["pull"])));
        assert!(!Scope::repository("a", &["pull"]).covers(&Scope::repository("a", &["delete"])));
        assert!(!Scope::repository("b", &["pull"]).covers(&Scope::repository("a", &["pull"])));
    }

    #[test]
    fn token_fields_and_lifetime() {
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"x","expires_in":5}"#).unwrap();
        assert_eq!(t.bearer(), Some("x"));
        assert_eq!(t.lifetime(), Duration::from_secs(60));
        let t: TokenResponse =
            serde_json::from_str(r#"{"token":"a","access_token":"b","expires_in":999999999}"#).unwrap();
        assert_eq!(t.bearer(), Some("a"));
        assert_eq!(t.lifetime(), Duration::from_secs(86_400));
        let t: TokenResponse = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert_eq!(t.bearer(), None);
    }

    #[test]
    fn cache_keys_on_scope_sets() {
        let c = TokenCache::default();
        let a = [Scope::repository("x", &["pull"]), Scope::catalog()];
        let b = [Scope::catalog(), Scope::repository("x", &["pull"])];
        c.put("r", "s", &a, "tok".into(), Duration::from_secs(60));
        assert_eq!(c.get("r", "s", &b).as_deref(), Some("tok"), "order does not matter");
        assert_eq!(c.get("r", "s", &[Scope::catalog()]), None);
        assert_eq!(c.get("r", "other", &a), None);
        c.put("r", "s", &[Scope::catalog()], "short".into(), Duration::from_secs(3));
        assert_eq!(c.get("r", "s", &[Scope::catalog()]), None, "a token about to expire is not handed out");
    }
}
