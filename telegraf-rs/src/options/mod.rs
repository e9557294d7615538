//! How a plugin's (or the agent's) table of options is read: typed, with an error naming the
//! file, line, table and key of a value that does not fit, and a warning for each key that is
//! not implemented; Go-style durations as Telegraf writes them.

mod duration;
mod locate;
mod size;

pub use duration::GoDuration;
pub(crate) use locate::header_line;
pub use size::{parse_size, Size};

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An option with a value of the wrong type or form.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {section}: {key}: {message}")]
pub struct OptionError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the option (or of its table).
    pub line: usize,
    /// `agent`, `inputs.cpu`, ….
    pub section: String,
    /// The option's name (dotted inside sub-tables).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

/// Where a table sits, for messages.
#[derive(Debug, Clone)]
pub struct Place {
    pub(crate) path: PathBuf,
    text: Arc<str>,
    pub(crate) section: String,
    pub(crate) line: usize,
}

impl Place {
    /// The table `section` at `line` of `path`, whose text is `text`.
    pub(crate) fn new(path: &Path, text: Arc<str>, section: &str, line: usize) -> Place {
        Place {
            path: path.to_path_buf(),
            text,
            section: section.to_string(),
            line,
        }
    }

    /// `file:line`.
    pub fn origin(&self) -> String {
        format!("{}:{}", self.path.display(), self.line)
    }

    fn key_line(&self, key: &str) -> usize {
        let first = key.split('.').next().unwrap_or(key);
        locate::key_line(&self.text, self.line, first)
    }

    /// An option error for `key` with `message`.
    pub fn option_error(&self, key: &str, message: impl Into<String>) -> OptionError {
        OptionError {
            path: self.path.clone(),
            line: self.key_line(key),
            section: self.section.clone(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads `table` into `T`: a value of the wrong type is an error naming the key and line; keys
/// `T` does not know become warnings ("not implemented, ignored").
pub fn parse_options<T: DeserializeOwned>(
    table: toml::Table,
    place: &Place,
    warnings: &mut Vec<String>,
) -> Result<T, OptionError> {
    let mut ignored = Vec::new();
    let value = toml::Value::Table(table);
    let mut record = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut record);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    let parsed = parsed.map_err(|e| {
        let key = e.path().to_string();
        place.option_error(&key, e.into_inner().to_string())
    })?;
    for key in ignored {
        warnings.push(format!(
            "{}:{}: {}: option {key:?} is not implemented by telegraf-rs; ignored",
            place.path.display(),
            place.key_line(&key),
            place.section
        ));
    }
    Ok(parsed)
}

/// Moves the entries named in `keys` out of `table` into a new table.
pub(crate) fn take_keys(table: &mut toml::Table, keys: &[&str]) -> toml::Table {
    keys.iter()
        .filter_map(|k| table.remove(*k).map(|v| (k.to_string(), v)))
        .collect()
}

/// A listening address as plugins write it (`:8186`, `127.0.0.1:8186`, `[::1]:8186`) as a
/// socket address string, an empty host meaning every interface; what is wrong otherwise.
pub fn listen_address(value: &str) -> Result<String, String> {
    let rest = value.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':').ok_or("no port")?;
    port.parse::<u16>()
        .map_err(|_| format!("bad port {port:?}"))?;
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(format!("{host}:{port}"))
}
