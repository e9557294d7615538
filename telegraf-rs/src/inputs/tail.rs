//! `inputs.tail`: follows files (globs allowed) as they grow, parsing each new line with the
//! `data_format` (`influx` by default); follows rotation (a new inode, or a file that shrank,
//! is read from its start) and remembers how far it read across restarts
//! (`<data-dir>/state/tail-<id>.json`, written after what was read was handed on).
//! Files present at the first start are read from their end unless `from_beginning`; files
//! that appear later, from their start.

use super::{
    glob_paths, Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture,
};
use crate::metric::{now_nanos, Metric};
use crate::parsers::{Parser, ParserConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Options of `[[inputs.tail]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TailConfig {
    /// Files or globs.
    pub files: Vec<String>,
    /// Read files found at the first start from their beginning.
    pub from_beginning: bool,
    /// The tag holding the file's path (`path`; empty: none).
    pub path_tag: Option<String>,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

/// Where reading of one file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The file's inode (a new one means the file was rotated).
    pub inode: u64,
    /// Bytes read (up to the last complete line).
    pub offset: u64,
}

/// Builds the input; the saved positions are read when it starts.
pub fn build(c: &TailConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let parser = Parser::new(&c.parser, "influx").map_err(InputError::Settings)?;
    if c.files.is_empty() {
        return Err(InputError::Settings(
            "files: at least one file is needed".into(),
        ));
    }
    // One state file per set of followed files.
    let id = c
        .files
        .join("\0")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    Ok(Box::new(Tail {
        config: c.clone(),
        parser,
        state_file: ctx.state_dir.join(format!("tail-{id:016x}.json")),
    }))
}

struct Tail {
    config: TailConfig,
    parser: Parser,
    state_file: PathBuf,
}

/// Follows the files: positions, and what one poll read.
pub struct Follower {
    config: TailConfig,
    parser: Parser,
    positions: BTreeMap<PathBuf, Position>,
    first_poll: bool,
    bad_lines: u64,
}

impl Follower {
    /// Starts from `saved` positions.
    pub fn new(config: TailConfig, parser: Parser, saved: BTreeMap<PathBuf, Position>) -> Self {
        let first_poll = saved.is_empty();
        Follower {
            config,
            parser,
            positions: saved,
            first_poll,
            bad_lines: 0,
        }
    }

    /// The positions now (what a restart resumes from).
    pub fn positions(&self) -> &BTreeMap<PathBuf, Position> {
        &self.positions
    }

    /// Lines that did not parse so far.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Reads what every file gained since the last poll.
    pub fn poll(&mut self, now: i64) -> Vec<Metric> {
        let mut metrics = Vec::new();
        let paths: Vec<PathBuf> = self
            .config
            .files
            .iter()
            .flat_map(|p| glob_paths(p))
            .collect();
        for path in paths {
            if let Err(e) = self.read_file(&path, now, &mut metrics) {
                tracing::debug!("[inputs.tail] {}: {e}", path.display());
            }
        }
        self.first_poll = false;
        metrics
    }

    fn read_file(&mut self, path: &Path, now: i64, out: &mut Vec<Metric>) -> std::io::Result<()> {
        let mut file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        let inode = meta.ino();
        let size = meta.len();
        let start = match self.positions.get(path) {
            Some(p) if p.inode == inode && p.offset <= size => p.offset,
            // Rotated (a new file under the name) or truncated: from the start.
            Some(_) => 0,
            None if self.first_poll && !self.config.from_beginning => size,
            None => 0,
        };
        if start == size {
            self.positions.insert(
                path.to_path_buf(),
                Position {
                    inode,
                    offset: size,
                },
            );
            return Ok(());
        }
        file.seek(SeekFrom::Start(start))?;
        // At most 16 MiB a poll per file: a huge backlog is read over several polls.
        let mut chunk = Vec::new();
        (&mut file).take(16 << 20).read_to_end(&mut chunk)?;
        let complete = chunk.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let tag = self
            .config
            .path_tag
            .clone()
            .unwrap_or_else(|| "path".into());
        for (n, line) in chunk[..complete].split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.parser.parse(line, "tail", now) {
                Ok(metrics) => {
                    for mut m in metrics {
                        if !tag.is_empty() {
                            m.tags
                                .insert(tag.clone(), path.to_string_lossy().into_owned());
                        }
                        out.push(m);
                    }
                }
                Err(e) => {
                    self.bad_lines += 1;
                    tracing::warn!(
                        "[inputs.tail] {}: line {} after offset {start}: {e}",
                        path.display(),
                        n + 1
                    );
                }
            }
        }
        self.positions.insert(
            path.to_path_buf(),
            Position {
                inode,
                offset: start + complete as u64,
            },
        );
        Ok(())
    }
}

/// The saved positions, none when there is no (readable) state file.
fn load_positions(file: &Path) -> BTreeMap<PathBuf, Position> {
    std::fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Writes the positions atomically (a temporary file renamed over the state file).
fn save_positions(file: &Path, positions: &BTreeMap<PathBuf, Position>) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("tmp");
    let body = serde_json::to_vec(positions).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, body)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, file)
}

impl Input for Tail {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let state_file = self.state_file.clone();
        let mut follower = Follower::new(
            self.config.clone(),
            self.parser.clone(),
            load_positions(&state_file),
        );
        Some(Box::pin(async move {
            let mut saved = follower.positions().clone();
            loop {
                let metrics = follower.poll(now_nanos());
                if !metrics.is_empty() && sink.send(metrics).await.is_err() {
                    return;
                }
                if follower.positions() != &saved {
                    saved = follower.positions().clone();
                    if let Err(e) = save_positions(&state_file, &saved) {
                        tracing::error!(
                            "[inputs.tail] saving positions in {}: {e}",
                            state_file.display()
                        );
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use std::io::Write;

    fn follower(dir: &Path, from_beginning: bool, saved: BTreeMap<PathBuf, Position>) -> Follower {
        let config = TailConfig {
            files: vec![format!("{}/*.log", dir.display())],
            from_beginning,
            ..TailConfig::default()
        };
        Follower::new(
            config,
            Parser::new(&ParserConfig::default(), "influx").unwrap(),
            saved,
        )
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn values(ms: &[Metric]) -> Vec<f64> {
        ms.iter()
            .filter_map(|m| match m.field("v") {
                Some(FieldValue::Float(f)) => Some(*f),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn follows_growth_partial_lines_rotation_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "m v=0\n");
        let mut f = follower(dir.path(), false, BTreeMap::new());
        assert!(
            f.poll(1).is_empty(),
            "existing lines are skipped without from_beginning"
        );
        append(&log, "m v=1\nm v=2\nm v=");
        let ms = f.poll(1);
        assert_eq!(values(&ms), [1.0, 2.0]);
        assert_eq!(ms[0].tags["path"], log.to_string_lossy());
        append(&log, "3\nbroken line\n");
        assert_eq!(values(&f.poll(1)), [3.0]);
        assert_eq!(f.bad_lines(), 1);
        // Rotation: the old file moves away, a new one takes the name.
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "m v=4\n");
        assert_eq!(values(&f.poll(1)), [4.0]);
        // A restart resumes where the last one stopped.
        let saved = f.positions().clone();
        append(&log, "m v=5\n");
        let mut again = follower(dir.path(), false, saved);
        assert_eq!(values(&again.poll(1)), [5.0]);
        // Truncation: from the start.
        std::fs::write(&log, "m v=6\n").unwrap();
        assert_eq!(values(&again.poll(1)), [6.0]);
        // A file appearing later is read whole.
        append(&dir.path().join("new.log"), "m v=7\n");
        assert_eq!(values(&again.poll(1)), [7.0]);
    }

    #[test]
    fn from_beginning_reads_existing_lines_and_positions_persist() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), "m v=1\n");
        let mut f = follower(dir.path(), true, BTreeMap::new());
        assert_eq!(values(&f.poll(1)), [1.0]);
        let state = dir.path().join("state/tail.json");
        save_positions(&state, f.positions()).unwrap();
        assert_eq!(&load_positions(&state), f.positions());
        assert!(load_positions(&dir.path().join("none.json")).is_empty());
    }
}
