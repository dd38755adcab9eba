//! Harbor's RBAC as `src/common/rbac/project/rbac_role.go` and `rbac_util.go` define it (the parts a
//! registry manager meets): each project role's policies, the policies every caller gets on a public
//! project, and robots holding exactly the permissions they were created with.

use super::*;

/// (resource, action) pairs, relative to a project (`/project/<id>/<resource>`).
pub(super) type Policy = (&'static str, &'static str);

const READ_PUBLIC: &[Policy] = &[
    ("project", "read"),
    ("label", "read"),
    ("label", "list"),
    ("repository", "list"),
    ("repository", "pull"),
    ("scan", "read"),
    ("scanner", "read"),
    ("tag", "list"),
    ("artifact", "read"),
    ("artifact", "list"),
    ("artifact-addition", "read"),
    ("accessory", "list"),
];

const LIMITED_GUEST: &[Policy] = &[
    ("project", "read"),
    ("quota", "read"),
    ("repository", "list"),
    ("repository", "read"),
    ("repository", "pull"),
    ("configuration", "read"),
    ("scan", "read"),
    ("sbom", "read"),
    ("scanner", "read"),
    ("tag", "list"),
    ("accessory", "list"),
    ("artifact", "read"),
    ("artifact", "list"),
    ("artifact-addition", "read"),
];

const GUEST_EXTRA: &[Policy] = &[
    ("member", "read"),
    ("member", "list"),
    ("label", "read"),
    ("label", "list"),
    ("robot", "read"),
    ("robot", "list"),
];

const DEVELOPER_EXTRA: &[Policy] = &[
    ("repository", "create"),
    ("repository", "update"),
    ("repository", "push"),
    ("tag-retention", "read"),
    ("tag-retention", "list"),
    ("artifact", "create"),
    ("tag", "create"),
    ("scan", "create"),
];

const MAINTAINER_EXTRA: &[Policy] = &[
    ("repository", "delete"),
    ("tag-retention", "create"),
    ("tag-retention", "update"),
    ("tag-retention", "delete"),
    ("tag-retention", "operate"),
    ("immutable-tag", "create"),
    ("immutable-tag", "update"),
    ("immutable-tag", "delete"),
    ("immutable-tag", "list"),
    ("artifact", "delete"),
    ("tag", "delete"),
    ("scan", "stop"),
];

const ADMIN_EXTRA: &[Policy] = &[
    ("member", "create"),
    ("member", "update"),
    ("member", "delete"),
    ("project", "update"),
    ("project", "delete"),
    ("quota", "update"),
];

impl HarborRole {
    pub(super) fn policies(self) -> Vec<Policy> {
        let mut out: Vec<Policy> = LIMITED_GUEST.to_vec();
        let levels: &[&[Policy]] = match self {
            HarborRole::LimitedGuest => &[],
            HarborRole::Guest => &[GUEST_EXTRA],
            HarborRole::Developer => &[GUEST_EXTRA, DEVELOPER_EXTRA],
            HarborRole::Maintainer => &[GUEST_EXTRA, DEVELOPER_EXTRA, MAINTAINER_EXTRA],
            HarborRole::ProjectAdmin => &[GUEST_EXTRA, DEVELOPER_EXTRA, MAINTAINER_EXTRA, ADMIN_EXTRA],
        };
        for l in levels {
            out.extend_from_slice(l);
        }
        out
    }
}

/// What a robot's permission names (`pull`, `push`, `delete`, as Harbor's older robot dialog offered
/// them, or any `resource:action`) grant.
pub(super) fn robot_policies(actions: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in actions {
        let add: &[(&str, &str)] = match a.as_str() {
            // What a read-only robot is usually given: list, pull, read artifacts and tags.
            "pull" => &[
                ("repository", "list"),
                ("repository", "pull"),
                ("artifact", "read"),
                ("artifact", "list"),
                ("tag", "list"),
                ("accessory", "list"),
            ],
            "push" => &[("repository", "push"), ("repository", "pull"), ("tag", "create"), ("artifact", "create")],
            "delete" => &[("artifact", "delete"), ("tag", "delete"), ("repository", "delete")],
            other => {
                if let Some((r, act)) = other.split_once(':') {
                    out.push((r.to_string(), act.to_string()));
                }
                &[]
            }
        };
        out.extend(add.iter().map(|(r, act)| (r.to_string(), act.to_string())));
    }
    out
}

impl Principal {
    /// Every (resource, action) this caller holds on `p`.
    pub(super) fn policies(&self, p: &Project) -> Vec<(String, String)> {
        let own = |v: &[Policy]| v.iter().map(|(r, a)| (r.to_string(), a.to_string())).collect::<Vec<_>>();
        let mut out: Vec<(String, String)> = match self {
            Principal::User(u) if u.admin => own(&HarborRole::ProjectAdmin.policies()),
            Principal::User(_) => self.role(p).map(|r| own(&r.policies())).unwrap_or_default(),
            Principal::Robot(r) => r
                .access
                .iter()
                .filter(|(proj, _)| proj == "*" || *proj == p.name)
                .flat_map(|(_, a)| robot_policies(a))
                .collect(),
            Principal::Anonymous => Vec::new(),
        };
        if p.public {
            out.extend(own(READ_PUBLIC));
        }
        out.sort();
        out.dedup();
        out
    }

    pub(super) fn allowed(&self, p: &Project, resource: &str, action: &str) -> bool {
        self.policies(p).iter().any(|(r, a)| r == resource && a == action)
    }

    /// `pull`, `push` or `delete` on a project's repositories.
    pub(super) fn can(&self, p: &Project, action: &str) -> bool {
        match action {
            "pull" => self.allowed(p, "repository", "pull"),
            "push" => self.allowed(p, "repository", "push"),
            "delete" => self.allowed(p, "artifact", "delete"),
            _ => false,
        }
    }

    /// Whether the project is listed for this caller at all (public, a member, a robot of it).
    pub(super) fn sees(&self, p: &Project) -> bool {
        p.public || self.is_admin() || !self.policies(p).is_empty()
    }
}
