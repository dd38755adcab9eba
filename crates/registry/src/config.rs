//! The image configuration blob: what a user wants to see of an image.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The parts of an OCI / Docker image config that Berth shows. Serialized (the cache keeps it as JSON
/// for the offline detail) without its absent fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RuntimeConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeConfig {
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(rename = "ExposedPorts", default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_fields() {
        let c = ImageConfig::parse(
            br#"{"created":"2024-01-02T03:04:05Z","os":"linux","architecture":"arm64","variant":"v8",
            "config":{"Labels":{"a":"<img src=x>"},"Env":["PATH=/bin"],"Entrypoint":["/init"],"Cmd":null},
            "history":[{"created_by":"RUN x","empty_layer":true}],"rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .unwrap();
        assert_eq!(c.created.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(c.labels()["a"], "<img src=x>");
        assert_eq!(c.config.as_ref().unwrap().cmd, None);
        assert_eq!(c.history[0].empty_layer, Some(true));
        // Labels: null, no config at all: both fine.
        assert!(ImageConfig::parse(br#"{"config":{"Labels":null}}"#).unwrap().labels().is_empty());
        assert!(ImageConfig::parse(b"{}").unwrap().labels().is_empty());
    }

    #[test]
    fn cached_json_leaves_out_absent_fields_and_reads_back_the_same() {
        let c = ImageConfig::parse(
            br#"{"created":"2024-01-02T03:04:05Z","os":"linux","config":{"Labels":{"a":"b"},"Cmd":null},"history":[{"created_by":"RUN x"}]}"#,
        )
        .unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"created":"2024-01-02T03:04:05Z","os":"linux","config":{"Labels":{"a":"b"}},"history":[{"created_by":"RUN x"}]}"#
        );
        assert_eq!(ImageConfig::parse(json.as_bytes()).unwrap(), c);
        assert_eq!(serde_json::to_string(&ImageConfig::default()).unwrap(), "{}");
    }
}
