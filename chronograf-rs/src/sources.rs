//! The sources the dashboard may query: those of `chronograf-rs.toml` (ids 1…n, fixed) and
//! those added in the UI or through `POST /chronograf/v1/sources` (ids after them), kept in
//! `sources.json` in the data dir. Queries only ever go to a source of this list.

use crate::source::{Source, SourceConfig};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// Why a source could not be added, changed or removed.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// No source has this id.
    #[error("source {0} not found")]
    NotFound(String),
    /// Sources of the config file are changed there, not here.
    #[error("source {0} is configured in chronograf-rs.toml and cannot be changed here")]
    Configured(String),
    /// The settings are not usable.
    #[error("{0}")]
    Invalid(String),
    /// `sources.json` could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// A source added in the UI, as `sources.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Added {
    id: u64,
    config: SourceConfig,
}

/// One source of the list.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its id in URLs.
    pub id: String,
    /// The source.
    pub source: Source,
    /// Whether it comes from the config file (and so cannot be changed in the UI).
    pub configured: bool,
}

/// Configured and added sources.
#[derive(Debug)]
pub struct SourceStore {
    configured: Vec<Source>,
    added: RwLock<Vec<Entry>>,
    path: PathBuf,
    timeout: Duration,
}

/// An added source: as saved, and with its store client.
#[derive(Debug)]
struct Entry {
    saved: Added,
    source: Source,
}

impl SourceStore {
    /// The configured sources plus those saved in `dir/sources.json`.
    pub fn open(
        configured: Vec<SourceConfig>,
        dir: &Path,
        timeout: Duration,
    ) -> Result<SourceStore, SourcesError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SourcesError::Io(format!("{}: {e}", dir.display())))?;
        let path = dir.join("sources.json");
        // A file written by an earlier version may be readable by all: it holds passwords.
        if path.exists() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| SourcesError::Io(format!("{}: {e}", path.display())))?;
        }
        let added: Vec<Added> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| SourcesError::Io(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(SourcesError::Io(format!("{}: {e}", path.display()))),
        };
        let source = |config: SourceConfig| {
            Source::new(config, timeout).map_err(|e| SourcesError::Invalid(e.to_string()))
        };
        let added = added
            .into_iter()
            .map(|saved| {
                let source = source(saved.config.clone())?;
                Ok(Entry { saved, source })
            })
            .collect::<Result<_, SourcesError>>()?;
        Ok(SourceStore {
            configured: configured
                .into_iter()
                .map(source)
                .collect::<Result<_, _>>()?,
            added: RwLock::new(added),
            path,
            timeout,
        })
    }

    /// Every source, configured ones first.
    pub fn list(&self) -> Vec<Listed> {
        let configured = self.configured.iter().enumerate().map(|(i, s)| Listed {
            id: (i + 1).to_string(),
            source: s.clone(),
            configured: true,
        });
        let added: Vec<Listed> = self
            .read()
            .iter()
            .map(|e| Listed {
                id: e.saved.id.to_string(),
                source: e.source.clone(),
                configured: false,
            })
            .collect();
        configured.chain(added).collect()
    }

    /// Source `id`.
    pub fn get(&self, id: &str) -> Option<Source> {
        self.list()
            .into_iter()
            .find(|l| l.id == id)
            .map(|l| l.source)
    }

    /// The first source (the default one).
    pub fn first(&self) -> Option<Source> {
        self.configured.first().cloned()
    }

    /// Adds a source; returns its id.
    pub fn add(&self, config: SourceConfig) -> Result<String, SourcesError> {
        check(&config)?;
        let source = self.source(config.clone())?;
        let mut added = self.write();
        let id = added
            .iter()
            .map(|e| e.saved.id)
            .max()
            .unwrap_or(0)
            .max(self.configured.len() as u64)
            + 1;
        added.push(Entry {
            saved: Added { id, config },
            source,
        });
        self.save(&added)?;
        Ok(id.to_string())
    }

    /// Replaces the settings of added source `id`; an empty password keeps the old one.
    pub fn update(&self, id: &str, mut config: SourceConfig) -> Result<(), SourcesError> {
        check(&config)?;
        let mut added = self.write();
        let entry = self.find(&mut added, id)?;
        if config.password.is_empty() {
            config.password = entry.saved.config.password.clone();
        }
        // The form shows the URL without its credentials; sent back unchanged, it keeps them.
        if config.url == entry.saved.config.shown_url() {
            config.url = entry.saved.config.url.clone();
        }
        entry.source = self.source(config.clone())?;
        entry.saved.config = config;
        self.save(&added)
    }

    /// Removes added source `id`.
    pub fn remove(&self, id: &str) -> Result<(), SourcesError> {
        let mut added = self.write();
        self.find(&mut added, id)?;
        added.retain(|e| e.saved.id.to_string() != id);
        self.save(&added)
    }

    /// The source of `config`, with its client.
    fn source(&self, config: SourceConfig) -> Result<Source, SourcesError> {
        Source::new(config, self.timeout).map_err(|e| SourcesError::Invalid(e.to_string()))
    }

    fn find<'a>(&self, added: &'a mut [Entry], id: &str) -> Result<&'a mut Entry, SourcesError> {
        let configured = id
            .parse::<usize>()
            .is_ok_and(|n| n >= 1 && n <= self.configured.len());
        if configured {
            return Err(SourcesError::Configured(id.to_string()));
        }
        added
            .iter_mut()
            .find(|e| e.saved.id.to_string() == id)
            .ok_or_else(|| SourcesError::NotFound(id.to_string()))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        self.added.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        self.added.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn save(&self, added: &[Entry]) -> Result<(), SourcesError> {
        let io = |e: std::io::Error| SourcesError::Io(format!("{}: {e}", self.path.display()));
        let saved: Vec<&Added> = added.iter().map(|e| &e.saved).collect();
        let bytes =
            serde_json::to_vec_pretty(&saved).map_err(|e| SourcesError::Io(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        // Passwords are in it: readable by the owner only, from the moment it exists.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// A source needs a name and an http(s) URL.
pub fn check(config: &SourceConfig) -> Result<(), SourcesError> {
    if config.name.trim().is_empty() {
        return Err(SourcesError::Invalid("a source needs a name".into()));
    }
    match reqwest::Url::parse(&config.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(SourcesError::Invalid(format!(
            "url {:?} is not an http:// or https:// URL",
            config.shown_url()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, url: &str) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            url: url.into(),
            ..SourceConfig::default()
        }
    }

    #[test]
    fn added_sources_persist_and_configured_ones_are_fixed() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            SourceStore::open(
                vec![config("main", "http://a:8086")],
                dir.path(),
                Duration::from_secs(1),
            )
            .unwrap()
        };
        let store = open();
        let id = store
            .add(SourceConfig {
                password: "secret".into(),
                ..config("second", "http://b:8086")
            })
            .unwrap();
        assert_eq!(id, "2");
        store
            .update(&id, config("renamed", "https://b:8086"))
            .unwrap();
        let store = open();
        let ids: Vec<String> = store.list().into_iter().map(|l| l.id).collect();
        assert_eq!(ids, ["1", "2"]);
        let second = store.get("2").unwrap().config;
        assert_eq!(
            (second.name.as_str(), second.password.as_str()),
            ("renamed", "secret")
        );
        assert!(matches!(
            store.remove("1"),
            Err(SourcesError::Configured(_))
        ));
        assert!(matches!(
            store.add(config("x", "file:///etc/passwd")),
            Err(SourcesError::Invalid(_))
        ));
        store.remove("2").unwrap();
        assert!(matches!(store.remove("2"), Err(SourcesError::NotFound(_))));
        assert_eq!(open().list().len(), 1);
    }

    #[test]
    fn credentials_are_kept_private_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sources.json");
        std::fs::write(&path, "[]").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = SourceStore::open(Vec::new(), dir.path(), Duration::from_secs(1)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "an old file is made private on start");
        let id = store
            .add(SourceConfig {
                password: "secret".into(),
                ..config("creds", "http://admin:hunter2@b:8086")
            })
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        let shown = store.get(&id).unwrap().config.shown_url();
        assert_eq!(shown, "http://b:8086/");
        // The edit form sends the shown URL back: the credentials in it are kept.
        store.update(&id, config("creds", &shown)).unwrap();
        assert_eq!(
            store.get(&id).unwrap().config.url,
            "http://admin:hunter2@b:8086"
        );
        let bad = store.add(config("x", "ftp://admin:hunter2@b")).unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
        assert_eq!(
            crate::source::redacted_url("not a url://u:p@host"),
            "not a url://host"
        );
    }
}
