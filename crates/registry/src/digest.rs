//! Content digests (`sha256:<64 hex>`, `sha512:<128 hex>`): validated on parse, computed over exact bytes.

use sha2::Digest as _;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Option<Digest> {
        let (alg, hex) = s.split_once(':')?;
        let len = match alg {
            "sha256" => 64,
            "sha512" => 128,
            _ => return None,
        };
        (hex.len() == len && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Digest(s.to_string()))
    }

    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes))))
    }

    /// The digest of `bytes` with this digest's algorithm.
    pub fn compute_like(&self, bytes: &[u8]) -> Digest {
        if self.algorithm() == "sha512" {
            Digest(format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes))))
        } else {
            Digest::sha256(bytes)
        }
    }

    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.compute_like(bytes) == *self
    }

    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or("sha256")
    }

    pub fn hex(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or("")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag under which the OCI referrers fallback keeps this digest's referrers: `sha256-<hex>`.
    pub fn referrers_tag(&self) -> String {
        format!("{}-{}", self.algorithm(), self.hex())
    }

    /// `sha256:abcdef123456` — 12 hex characters, for display.
    pub fn short(&self) -> String {
        format!("{}:{}", self.algorithm(), self.hex().get(..12).unwrap_or(self.hex()))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Digest::parse(&s).ok_or_else(|| format!("invalid digest {s:?}"))
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_compute() {
        let d = Digest::sha256(b"{}");
        assert_eq!(d.as_str(), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        assert!(d.matches(b"{}"));
        assert!(!d.matches(b"{ }"));
        assert_eq!(Digest::parse(d.as_str()), Some(d.clone()));
        assert_eq!(d.referrers_tag(), format!("sha256-{}", d.hex()));
        assert_eq!(d.short(), "sha256:44136fa355b3");
        for bad in [
            "",
            "sha256:",
            "sha256:XYZ",
            "md5:abc",
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8A",
        ] {
            assert!(Digest::parse(bad).is_none(), "{bad}");
        }
        let d512 = Digest::parse(&format!("sha512:{}", "a".repeat(128))).unwrap();
        assert_eq!(d512.algorithm(), "sha512");
    }
}
