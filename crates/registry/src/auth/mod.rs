//! Authentication: anonymous, Basic, and Bearer tokens per the distribution token spec.

mod challenge;
mod token;

pub use challenge::{parse_challenges, Challenge};
pub use token::{normalize as normalize_scopes, Scope, TokenCache, TokenResponse};
