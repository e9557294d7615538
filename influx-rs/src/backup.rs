//! Backups: `influx-rs backup` asks a running store for one (`GET /backup`), `influx-rs restore`
//! puts one into the data directory of a stopped or new store. A backup is a directory (sent
//! as a tar stream): `manifest.json` and `data/`, a consistent copy of the data directory
//! ([`Engine::copy_consistent`]). On a node of a cluster it holds the node's applied position,
//! so a node restored from it replays the log from there: how a node joins behind a log whose
//! older entries are gone.
//!
//! ```text
//! <backup>/manifest.json   {"format":1,"created":…,"version":…,"sequence":N|null,
//!                           "files":[{"path":"meta.json","bytes":…},…]}
//! <backup>/data/…          the data directory's files, as the store keeps them
//! ```

use crate::storage::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The manifest's name in a backup.
pub const MANIFEST: &str = "manifest.json";

/// The data directory's copy in a backup.
pub const DATA: &str = "data";

/// Where a running store stages backups, inside its data directory (so column files can be
/// hard-linked); left out of every copy and emptied at each backup.
pub const STAGING: &str = ".backup";

/// The format this build writes and reads.
pub const FORMAT: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// When it was taken (RFC 3339).
    pub created: String,
    /// The influx-rs version that took it.
    pub version: String,
    /// On a node of a cluster, the log sequence its data covers.
    pub sequence: Option<u64>,
    /// Every file of `data/`, with its size.
    pub files: Vec<ManifestFile>,
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Relative to `data/`, with `/` between names.
    pub path: String,
    /// Its size.
    pub bytes: u64,
}

/// Why a backup could not be taken, read or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The engine could not copy its files.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file of the backup or the target could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The backup is not one this build can restore, or it is damaged; the text says how.
    #[error("{path}: {reason}")]
    Invalid {
        /// The backup.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Restoring would mix the backup with data already there.
    #[error("{0}: not empty; restore into a new or empty data directory (the store stopped)")]
    NotEmpty(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the log sequence a copy of a data directory covers (a cluster node's applied
/// position, kept with its data); `None` for a single node's.
pub type SequenceOf = fn(&Path) -> Result<Option<u64>, String>;

/// Takes a backup of `engine` into a new directory under its data directory's
/// [`STAGING`] area, its sequence read from the copy by `sequence_of`; returns that directory
/// and its manifest. The caller removes it.
pub fn stage(engine: &Engine, sequence_of: SequenceOf) -> Result<(PathBuf, Manifest), BackupError> {
    let staging = engine.data_dir().join(STAGING);
    // Leftovers of an interrupted backup are no use to anyone.
    let _ = std::fs::remove_dir_all(&staging);
    let dir = staging.join(uuid::Uuid::new_v4().simple().to_string());
    let data = dir.join(DATA);
    std::fs::create_dir_all(&data).map_err(io(&data))?;
    let copied = engine.copy_consistent(&data, &staging)?;
    let sequence = sequence_of(&data).map_err(|reason| BackupError::Invalid {
        path: data.clone(),
        reason,
    })?;
    let manifest = Manifest {
        format: FORMAT,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        version: env!("CARGO_PKG_VERSION").to_string(),
        sequence,
        files: copied
            .files
            .iter()
            .map(|f| {
                let bytes = std::fs::metadata(data.join(f)).map_or(0, |m| m.len());
                ManifestFile {
                    path: slash_path(f),
                    bytes,
                }
            })
            .collect(),
    };
    write_manifest(&dir, &manifest)?;
    Ok((dir, manifest))
}

/// [`stage`], then the staged copy written as one tar file beside it (the copy removed): what
/// is sent or kept whole. The caller removes the file.
pub fn stage_tar(
    engine: &Engine,
    sequence_of: SequenceOf,
) -> Result<(PathBuf, Manifest), BackupError> {
    let (dir, manifest) = stage(engine, sequence_of)?;
    let tar = dir.with_extension("tar");
    let written = std::fs::File::create(&tar)
        .map_err(io(&tar))
        .and_then(|f| write_tar(&dir, std::io::BufWriter::new(f)));
    let _ = std::fs::remove_dir_all(&dir);
    written.map(|()| (tar, manifest))
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let path = dir.join(MANIFEST);
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(io(&path))
}

/// Reads and checks a backup directory's manifest: the format is known and every file it
/// lists is there with its size.
pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let invalid = |reason: String| BackupError::Invalid {
        path: dir.to_path_buf(),
        reason,
    };
    let text = std::fs::read(&path).map_err(io(&path))?;
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("{MANIFEST} unreadable: {e}")))?;
    if manifest.format != FORMAT {
        return Err(invalid(format!(
            "backup format {} (this influx-rs reads {FORMAT})",
            manifest.format
        )));
    }
    for f in &manifest.files {
        if f.path.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(invalid(format!(
                "{:?} is not a path inside the backup",
                f.path
            )));
        }
        let on_disk = dir.join(DATA).join(&f.path);
        match std::fs::metadata(&on_disk) {
            Ok(m) if m.len() == f.bytes => {}
            Ok(m) => {
                return Err(invalid(format!(
                    "{} has {} bytes, the manifest says {}: the backup is damaged",
                    f.path,
                    m.len(),
                    f.bytes
                )))
            }
            Err(e) => return Err(invalid(format!("{} is missing: {e}", f.path))),
        }
    }
    Ok(manifest)
}

/// Writes the backup directory `dir` as a tar stream to `out`.
pub fn write_tar(dir: &Path, out: impl std::io::Write) -> Result<(), BackupError> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    tar.append_path_with_name(dir.join(MANIFEST), MANIFEST)
        .map_err(io(dir))?;
    tar.append_dir_all(DATA, dir.join(DATA)).map_err(io(dir))?;
    tar.into_inner().map_err(io(dir))?.flush().map_err(io(dir))
}

/// Unpacks a tar stream of a backup into the directory `dir` (new or empty) and checks it.
pub fn unpack(input: impl std::io::Read, dir: &Path) -> Result<Manifest, BackupError> {
    ensure_empty(dir)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // `unpack` keeps every entry inside `dir` (it refuses `..` and absolute paths).
    tar::Archive::new(input).unpack(dir).map_err(io(dir))?;
    read_manifest(dir)
}

/// A data directory holding nothing but its lock file (a store that stopped before writing
/// its catalog) counts as empty.
fn ensure_empty(dir: &Path) -> Result<(), BackupError> {
    let store_file = |e: &std::io::Result<std::fs::DirEntry>| {
        e.as_ref().map_or(true, |e| {
            e.file_name() != crate::storage::dir_lock::LOCK_FILE
        })
    };
    match std::fs::read_dir(dir) {
        Ok(entries) => match entries.filter(store_file).count() {
            0 => Ok(()),
            _ => Err(BackupError::NotEmpty(dir.into())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Io {
            path: dir.into(),
            source: e,
        }),
    }
}

/// Restores the backup directory `backup` into the data directory `data_dir` (new or empty;
/// the store not running); the backup's manifest.
pub fn restore(backup: &Path, data_dir: &Path) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(backup)?;
    ensure_empty(data_dir)?;
    for f in &manifest.files {
        let from = backup.join(DATA).join(&f.path);
        let to = data_dir.join(&f.path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::copy(&from, &to).map_err(io(&from))?;
        std::fs::File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(io(&to))?;
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_or_foreign_backups_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        std::fs::create_dir_all(b.join(DATA)).unwrap();
        std::fs::write(b.join(DATA).join("meta.json"), "{}").unwrap();
        let mut manifest = Manifest {
            format: FORMAT,
            created: String::new(),
            version: String::new(),
            sequence: None,
            files: vec![ManifestFile {
                path: "meta.json".into(),
                bytes: 2,
            }],
        };
        write_manifest(b, &manifest).unwrap();
        assert_eq!(read_manifest(b).unwrap(), manifest);
        for (change, says) in [
            (
                (|m: &mut Manifest| m.files[0].bytes = 3) as fn(&mut Manifest),
                "damaged",
            ),
            (|m: &mut Manifest| m.format = FORMAT + 1, "format"),
            (
                |m: &mut Manifest| m.files[0].path = "../x".into(),
                "not a path",
            ),
            (
                |m: &mut Manifest| m.files[0].path = "gone".into(),
                "missing",
            ),
        ] {
            let mut m = manifest.clone();
            change(&mut m);
            write_manifest(b, &m).unwrap();
            let e = read_manifest(b).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        manifest.files.clear();
        write_manifest(b, &manifest).unwrap();
        // A data directory that holds anything is not restored into.
        let target = dir.path().join("target");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("x"), "").unwrap();
        assert!(matches!(restore(b, &target), Err(BackupError::NotEmpty(_))));
    }
}
