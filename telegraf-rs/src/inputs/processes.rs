//! `inputs.processes`: processes by state and the total thread count, from `/proc/[pid]/stat`.

use super::proc_file::ProcFile;
use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[inputs.processes]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ProcessesConfig {
    /// BSD only in Telegraf; accepted and unused on Linux.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub use_sudo: bool,
}

/// Builds the input.
pub fn build(_: &ProcessesConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Processes {
        host: ctx.host.clone(),
        stat_files: BTreeMap::new(),
        max_open: stat_files_kept_open(),
        buf: Vec::new(),
    }))
}

struct Processes {
    host: HostPaths,
    /// The `stat` files of the processes seen at the last gather, kept open (at most
    /// `max_open` of them): reading one again costs a `pread`, not a path walk.
    stat_files: BTreeMap<u32, ProcFile>,
    max_open: usize,
    buf: Vec<u8>,
}

/// How many `/proc/[pid]/stat` files the input keeps open between gathers: a quarter of the
/// soft limit on open files (the agent's other inputs, outputs and listeners need theirs),
/// at most 4,096; past it, the other processes' files are opened and closed at each gather.
fn stat_files_kept_open() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 0;
    }
    usize::try_from(limit.rlim_cur / 4)
        .unwrap_or(usize::MAX)
        .min(4096)
}

#[derive(Default)]
struct Counts {
    blocked: i64,
    zombies: i64,
    stopped: i64,
    running: i64,
    sleeping: i64,
    total: i64,
    unknown: i64,
    dead: i64,
    paging: i64,
    total_threads: i64,
    idle: i64,
    parked: i64,
}

impl SyncInput for Processes {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let entries = std::fs::read_dir(&self.host.proc).map_err(|source| InputError::Read {
            path: self.host.proc.clone(),
            source,
        })?;
        let mut c = Counts::default();
        let mut kept = std::mem::take(&mut self.stat_files);
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let mut file = kept
                .remove(&pid)
                .unwrap_or_else(|| ProcFile::new(self.host.proc.join(&name).join("stat")));
            // A process may exit between listing and reading: skip it.
            let Ok(stat) = file.read_text(&mut self.buf) else {
                continue;
            };
            count_stat(stat, &mut c);
            if self.stat_files.len() < self.max_open {
                self.stat_files.insert(pid, file);
            }
        }
        let mut m = acc
            .metric("processes")
            .with_field("blocked", c.blocked)
            .with_field("zombies", c.zombies)
            .with_field("stopped", c.stopped)
            .with_field("running", c.running)
            .with_field("sleeping", c.sleeping)
            .with_field("total", c.total)
            .with_field("unknown", c.unknown)
            .with_field("dead", c.dead)
            .with_field("paging", c.paging)
            .with_field("total_threads", c.total_threads)
            .with_field("idle", c.idle);
        if c.parked > 0 {
            m.add_field("parked", c.parked);
        }
        acc.push(m);
        Ok(())
    }
}

/// Counts one process from its `stat` line: its state, and its threads.
fn count_stat(stat: &str, c: &mut Counts) {
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        return;
    };
    let mut fields = after_name.split_ascii_whitespace();
    let Some(state) = fields.next() else {
        return;
    };
    match state {
        "R" => c.running += 1,
        "S" => c.sleeping += 1,
        "D" => c.blocked += 1,
        "Z" => c.zombies += 1,
        "T" | "t" => c.stopped += 1,
        "X" => c.dead += 1,
        "W" => c.paging += 1,
        "I" => c.idle += 1,
        "P" => c.parked += 1,
        _ => c.unknown += 1,
    }
    c.total += 1;
    // num_threads is field 20 of the line, the 18th after the name (17th after the state).
    c.total_threads += fields
        .nth(16)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    fn stat(pid: u32, name: &str, state: &str, threads: u32) -> String {
        format!("{pid} ({name}) {state} 1 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 {threads} 0 100 1000 200")
    }

    #[test]
    fn counts_states_and_threads() {
        let fx = fixture(&[
            ("proc/1/stat", &stat(1, "init", "S", 1)),
            ("proc/2/stat", &stat(2, "a) b", "R", 4)),
            ("proc/3/stat", &stat(3, "z", "Z", 1)),
            ("proc/4/stat", &stat(4, "kworker", "I", 1)),
            ("proc/self/stat", &stat(9, "self", "R", 1)),
        ]);
        let mut input = build(&ProcessesConfig::default(), &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("total"), Some(&FieldValue::Int(4)));
        assert_eq!(m.field("running"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("sleeping"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("zombies"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("idle"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("total_threads"), Some(&FieldValue::Int(7)));
        assert_eq!(m.field("parked"), None);
    }

    #[test]
    fn files_kept_open_are_read_again_and_ended_processes_leave() {
        let fx = fixture(&[
            ("proc/1/stat", &stat(1, "init", "S", 1)),
            ("proc/2/stat", &stat(2, "worker", "R", 4)),
        ]);
        let mut input = build(&ProcessesConfig::default(), &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("running"), Some(&FieldValue::Int(1)));
        // The same file, now saying something else; process 2 ends, process 3 starts.
        let proc = fx.dir.path().join("proc");
        std::fs::write(proc.join("1/stat"), stat(1, "init", "D", 2)).unwrap();
        std::fs::remove_dir_all(proc.join("2")).unwrap();
        std::fs::create_dir_all(proc.join("3")).unwrap();
        std::fs::write(proc.join("3/stat"), stat(3, "new", "Z", 1)).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("total"), Some(&FieldValue::Int(2)));
        assert_eq!(m.field("blocked"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("running"), Some(&FieldValue::Int(0)));
        assert_eq!(m.field("zombies"), Some(&FieldValue::Int(1)));
        assert_eq!(m.field("total_threads"), Some(&FieldValue::Int(3)));
    }

    #[test]
    fn counts_the_processes_of_this_machine() {
        let fx = fixture(&[]);
        let ctx = BuildContext {
            host: HostPaths::from_env(|_| None),
            ..fx.ctx()
        };
        let mut input = build(&ProcessesConfig::default(), &ctx).unwrap();
        for _ in 0..3 {
            let m = gather_with(&mut input).remove(0);
            let Some(FieldValue::Int(total)) = m.field("total") else {
                panic!("no total: {m:?}");
            };
            // This test's own process, at least, with its main thread and the test's.
            assert!(*total >= 1, "{m:?}");
            assert!(
                matches!(m.field("total_threads"), Some(FieldValue::Int(n)) if *n >= 2),
                "{m:?}"
            );
        }
    }
}
