//! Repositories as a namespace tree (`team/app/api` → team → app → api), with tag counts and sizes
//! summed over each namespace.

use serde::Serialize;
use ts_rs::TS;

use crate::RepositoryView;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RepoNode {
    /// The last path segment.
    pub name: String,
    /// The full path (`team/app`).
    pub path: String,
    /// Whether a repository has exactly this path (a namespace can be one too).
    pub is_repository: bool,
    #[ts(type = "number")]
    pub repositories: u64,
    #[ts(type = "number")]
    pub tags: u64,
    /// Sum of the repositories' sizes (a blob shared between repositories is counted in each).
    #[ts(type = "number")]
    pub size: u64,
    pub children: Vec<RepoNode>,
}

/// Builds the tree; children sorted by name.
pub fn repository_tree(repos: &[RepositoryView]) -> Vec<RepoNode> {
    let mut roots: Vec<RepoNode> = Vec::new();
    for r in repos {
        let mut level = &mut roots;
        let mut path = String::new();
        let segments: Vec<&str> = r.name.split('/').collect();
        for (i, seg) in segments.iter().enumerate() {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(seg);
            let idx = match level.binary_search_by(|n| n.name.as_str().cmp(seg)) {
                Ok(i) => i,
                Err(i) => {
                    level.insert(
                        i,
                        RepoNode {
                            name: seg.to_string(),
                            path: path.clone(),
                            is_repository: false,
                            repositories: 0,
                            tags: 0,
                            size: 0,
                            children: Vec::new(),
                        },
                    );
                    i
                }
            };
            let node = &mut level[idx];
            node.repositories += 1;
            node.tags += r.tags.unwrap_or(0);
            node.size = node.size.saturating_add(r.size.unwrap_or(0));
            if i == segments.len() - 1 {
                node.is_repository = true;
            }
            level = &mut node.children;
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, tags: u64, size: u64) -> RepositoryView {
        RepositoryView { name: name.into(), tags: Some(tags), size: Some(size) }
    }

    #[test]
    fn nested_namespaces_sum_up() {
        let t = repository_tree(&[
            repo("team/app", 3, 100),
            repo("team/app/api", 2, 50),
            repo("team/web", 1, 10),
            repo("base", 5, 7),
        ]);
        assert_eq!(t.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["base", "team"]);
        let team = &t[1];
        assert_eq!((team.repositories, team.tags, team.size, team.is_repository), (3, 6, 160, false));
        let app = &team.children[0];
        assert_eq!((app.path.as_str(), app.is_repository, app.tags), ("team/app", true, 5));
        assert_eq!(app.children[0].path, "team/app/api");
        assert!(t[0].is_repository && t[0].children.is_empty());
    }
}
