//! `inputs.processes`: processes by state and the total thread count, from `/proc/[pid]/stat`.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::os::unix::ffi::OsStrExt;

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
    }))
}

struct Processes {
    host: HostPaths,
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
        // One path, its last two components replaced per process (a hundred a second).
        let mut path = self.host.proc.clone();
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if !name.as_bytes().iter().all(u8::is_ascii_digit) {
                continue;
            }
            path.push(&name);
            path.push("stat");
            // A process may exit between listing and reading: skip it.
            let stat = super::read_text(&path);
            path.pop();
            path.pop();
            let Ok(stat) = stat else {
                continue;
            };
            let Some((_, after_name)) = stat.rsplit_once(')') else {
                continue;
            };
            let mut fields = after_name.split_ascii_whitespace();
            let Some(state) = fields.next() else {
                continue;
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
}
