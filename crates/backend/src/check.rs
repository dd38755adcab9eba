//! What a connection test finds beyond `/v2/`: the server's own API, the account's rights, and the
//! settings users get wrong when they deploy the server (each with what to do about it).

/// One finding of a connection test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked: `REST API`, `writable`, `repository docker-hosted`.
    pub name: String,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do when it is not ok, in words any front end can show.
    pub hint: Option<String>,
    pub fix: Option<CheckFix>,
    /// Nothing works while this fails (the server is down, the login is refused).
    pub fatal: bool,
}

/// The fix of a failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckFix {
    /// The profile's username and password.
    Credentials,
    /// The endpoint Berth uses for one repository of the server (a reverse proxy, another host).
    Endpoint { repository: String },
    /// A setting on the server, where its administrator finds it (`Security → Realms`).
    ServerSetting { place: String },
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), ok: true, detail: detail.into(), hint: None, fix: None, fatal: false }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>, hint: impl Into<String>) -> Check {
        Check { name: name.into(), ok: false, detail: detail.into(), hint: Some(hint.into()), fix: None, fatal: false }
    }

    pub fn fatal(mut self) -> Check {
        self.fatal = true;
        self
    }

    pub fn with_fix(mut self, fix: CheckFix) -> Check {
        self.fix = Some(fix);
        self
    }
}
