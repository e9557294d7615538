//! A `/proc` or `/sys` file kept open between gathers and read again from its start each time.
//!
//! The kernel makes such a file's text anew for every read from offset 0 (`seq_file`), so the
//! descriptor can stay open: a gather then costs one `pread` instead of `openat`, two `read`s
//! and `close` — the path walk of `openat` (a `/proc/[pid]` lookup and its revalidation) was
//! the largest single cost of the host inputs' gathers (`bench/agent.sh`).

use super::InputError;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One file, opened on first read and kept open.
#[derive(Debug)]
pub struct ProcFile {
    path: PathBuf,
    file: Option<File>,
}

impl ProcFile {
    /// A file at `path`, not opened yet.
    pub fn new(path: PathBuf) -> ProcFile {
        ProcFile { path, file: None }
    }

    /// Reads the whole file, with `buf` as the space to read into (kept between reads, so that
    /// it is not cleared again each time); returns the bytes read. A read through a descriptor
    /// kept from an earlier gather that fails is tried once more on a fresh open: the process
    /// a `/proc/[pid]` file described has ended (reads give `ESRCH`) and its pid may belong to
    /// another process now, or a device went and came back.
    pub fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
        if let Some(file) = &self.file {
            match read_whole(file, buf) {
                Ok(n) => return Ok(&buf[..n]),
                Err(_) => self.file = None,
            }
        }
        let file = File::open(&self.path)?;
        let n = read_whole(&file, buf)?;
        self.file = Some(file);
        Ok(&buf[..n])
    }

    /// Reads the whole file as text (see [`ProcFile::read`]); not UTF-8 is an `InvalidData`
    /// error.
    pub fn read_text<'b>(&mut self, buf: &'b mut Vec<u8>) -> io::Result<&'b str> {
        let bytes = self.read(buf)?;
        std::str::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// The `/proc` files an input reads by name at every gather ([`super::HostPaths::read_proc`]:
/// `stat`, `meminfo`, `net/dev`, …, a fixed set), kept open. Each input holds its own copy of
/// the host's paths, and a copy starts empty: an input's files are its own.
#[derive(Debug, Default)]
pub struct OpenFiles {
    inner: Mutex<OpenFilesInner>,
}

#[derive(Debug, Default)]
struct OpenFilesInner {
    files: HashMap<PathBuf, ProcFile>,
    buf: Vec<u8>,
}

impl Clone for OpenFiles {
    fn clone(&self) -> Self {
        OpenFiles::default()
    }
}

impl OpenFiles {
    /// Reads the whole text of the file at `path`, naming it on failure; a file that cannot
    /// be read is not kept.
    pub fn read(&self, path: &Path) -> Result<String, InputError> {
        // Nothing panics while the lock is held; were it poisoned, the map is still whole.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let OpenFilesInner { files, buf } = &mut *inner;
        let file = files
            .entry(path.to_path_buf())
            .or_insert_with(|| ProcFile::new(path.to_path_buf()));
        match file.read_text(buf) {
            Ok(text) => Ok(text.to_string()),
            Err(source) => {
                files.remove(path);
                Err(InputError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Reads `file` from offset 0 to its end into the start of `buf`, growing it when the file
/// does not fit (it never shrinks); returns how many bytes were read.
fn read_whole(file: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut at = 0;
    loop {
        if buf.len() < at + 4096 {
            buf.resize(at + 4096, 0);
        }
        match file.read_at(&mut buf[at..], at as u64) {
            Ok(0) => return Ok(at),
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_again_from_the_start_and_grows_past_a_page() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let long: String = (0..3000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, &long).unwrap();
        let mut f = ProcFile::new(path.clone());
        let mut buf = Vec::new();
        assert_eq!(f.read_text(&mut buf).unwrap(), long);
        std::fs::write(&path, "short\n").unwrap();
        assert_eq!(f.read_text(&mut buf).unwrap(), "short\n");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            f.read_text(&mut buf).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let missing = ProcFile::new(dir.path().join("missing"))
            .read(&mut buf)
            .map(drop);
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn open_files_are_kept_by_path_and_copies_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "1").unwrap();
        std::fs::write(&b, "2").unwrap();
        let open = OpenFiles::default();
        assert_eq!(open.read(&a).unwrap(), "1");
        assert_eq!(open.read(&b).unwrap(), "2");
        std::fs::write(&a, "3").unwrap();
        assert_eq!(open.read(&a).unwrap(), "3");
        assert_eq!(open.inner.lock().unwrap().files.len(), 2);
        assert!(open.clone().inner.lock().unwrap().files.is_empty());
        let missing = open.read(&dir.path().join("c")).unwrap_err();
        assert!(missing.to_string().contains("c"), "{missing}");
        assert_eq!(open.inner.lock().unwrap().files.len(), 2);
    }

    #[test]
    fn a_procfs_file_is_made_anew_for_each_read() {
        let mut f = ProcFile::new(PathBuf::from("/proc/self/stat"));
        let mut buf = Vec::new();
        let first = f.read_text(&mut buf).unwrap().to_string();
        assert!(first.ends_with('\n') && first.contains(") "), "{first}");
        // utime and stime (fields 14 and 15) move while this process spins.
        let fields = |s: &str| -> Vec<String> {
            s.rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        let started = std::time::Instant::now();
        let mut moved = false;
        while started.elapsed() < std::time::Duration::from_secs(5) {
            std::hint::black_box((0..100_000u64).sum::<u64>());
            let now = f.read_text(&mut buf).unwrap().to_string();
            if fields(&now)[11..13] != fields(&first)[11..13] {
                moved = true;
                break;
            }
        }
        assert!(moved, "the same text read again for 5 s: {first}");
    }

    #[test]
    fn the_file_of_an_ended_process_fails_to_read() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut f = ProcFile::new(PathBuf::from(format!("/proc/{}/stat", child.id())));
        let mut buf = Vec::new();
        assert!(f.read_text(&mut buf).unwrap().contains("(sleep)"));
        child.kill().unwrap();
        child.wait().unwrap();
        // Kept open, the descriptor reads ESRCH; opened again, the path is gone.
        assert!(f.read(&mut buf).is_err());
    }
}
