//! The daemon's configuration: defaults → `chronograf-rs.toml` (`--config`) → environment and
//! flags (`CHRONOGRAF_RS_BIND`, `INFLUXDB_URL`, … as `main` documents them).

use crate::source::SourceConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct Config {
    /// Listen address.
    pub bind: String,
    /// Where dashboards are kept.
    pub data_dir: PathBuf,
    /// The agents' gather interval, for the hosts' up/down status (`1m0s`).
    pub telegraf_system_interval: String,
    /// A directory of layout files in Chronograf's format (`*.json`), added to the built-in
    /// ones (a file replaces the built-in layout with its `id`); a missing one holds none.
    pub canned_path: PathBuf,
    /// The kapacitor-rs the alerting pages drive.
    pub kapacitor: KapacitorConfig,
    /// The stores; the first is source 1, the one the pages show.
    pub sources: Vec<SourceConfig>,
    /// How long a login lasts.
    pub session_hours: u64,
    /// The address users reach the dashboard at, when it is not `bind` (a reverse proxy):
    /// with `https://` the session cookies get the `Secure` flag.
    pub public_url: String,
    /// Users who may log in; none: no login is asked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<crate::login::LoginUser>,
}

/// `[kapacitor]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct KapacitorConfig {
    /// Base URL of its API.
    pub url: String,
    /// A user of kapacitor-rs's `[auth]` (with the `api` permission); empty sends none.
    pub username: String,
    /// Its password (never shown).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
}

impl Default for KapacitorConfig {
    fn default() -> Self {
        KapacitorConfig {
            url: "http://localhost:9092".into(),
            username: String::new(),
            password: String::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "0.0.0.0:8888".into(),
            data_dir: PathBuf::from("/var/lib/chronograf-rs"),
            telegraf_system_interval: "1m0s".into(),
            canned_path: PathBuf::from("/usr/share/chronograf/canned"),
            kapacitor: KapacitorConfig::default(),
            sources: vec![SourceConfig::default()],
            session_hours: 24,
            public_url: String::new(),
            users: Vec::new(),
        }
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML for this configuration (the message names the key and line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Valid TOML, impossible settings.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl Config {
    /// The defaults, with `path` read over them.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if config.sources.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "at least one [[sources]] is needed".into(),
            });
        }
        if let Some(u) = config
            .users
            .iter()
            .find(|u| !u.password_hash.starts_with("$2"))
        {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "user {:?}: password-hash must be a bcrypt hash (chronograf-rs hash-password)",
                    u.name
                ),
            });
        }
        if let Some(s) = config.sources.iter().find(|s| !s.url.starts_with("http")) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("source {:?}: url must be http(s)://…", s.name),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_example_states_the_defaults() {
        let example: Config =
            toml::from_str(include_str!("../../deploy/chronograf-rs.toml")).unwrap();
        assert_eq!(example, Config::default());
    }

    #[test]
    fn files_add_sources_and_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:1\"\n[[sources]]\nname = \"a\"\nurl = \"http://a:8086\"\n[[sources]]\nname = \"b\"\nurl = \"http://b:8086\"\ntelegraf = \"metrics\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[1].telegraf, "metrics");
        assert_eq!(c.kapacitor.url, "http://localhost:9092");
        std::fs::write(&path, "[[sources]]\nurll = \"x\"\n").unwrap();
        let e = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(e.contains("urll") && e.contains("line 2"), "{e}");
        std::fs::write(&path, "sources = []\n").unwrap();
        assert!(Config::load(Some(&path)).is_err());
    }
}
