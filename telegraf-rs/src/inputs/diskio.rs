//! `inputs.diskio`: per-device I/O counters from `/proc/diskstats`, plus the await, service
//! time and utilisation derived between two gathers.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use globset::GlobSet;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Instant;

/// Options of `[[inputs.diskio]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DiskIoConfig {
    /// Device names or globs (all when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// When false, a `serial` tag is added (`unknown` when the device has none).
    pub skip_serial_number: bool,
}

impl Default for DiskIoConfig {
    fn default() -> Self {
        DiskIoConfig {
            devices: Vec::new(),
            skip_serial_number: true,
        }
    }
}

/// Builds the input.
pub fn build(config: &DiskIoConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let names: Vec<String> = config
        .devices
        .iter()
        .map(|d| d.strip_prefix("/dev/").unwrap_or(d).to_string())
        .collect();
    let devices = super::glob_set("devices", &names)?;
    Ok(Box::new(DiskIo {
        config: config.clone(),
        devices,
        host: ctx.host.clone(),
        previous: HashMap::new(),
    }))
}

struct DiskIo {
    config: DiskIoConfig,
    devices: Option<GlobSet>,
    host: HostPaths,
    previous: HashMap<String, (Instant, Counters)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    reads: u64,
    merged_reads: u64,
    read_sectors: u64,
    read_time: u64,
    writes: u64,
    merged_writes: u64,
    write_sectors: u64,
    write_time: u64,
    in_progress: u64,
    io_time: u64,
    weighted_io_time: u64,
}

fn parse_line(line: &str) -> Option<(String, Counters)> {
    let cols: Vec<&str> = line.split_ascii_whitespace().collect();
    if cols.len() < 14 {
        return None;
    }
    let n = |i: usize| cols[i].parse::<u64>().ok();
    let c = Counters {
        reads: n(3)?,
        merged_reads: n(4)?,
        read_sectors: n(5)?,
        read_time: n(6)?,
        writes: n(7)?,
        merged_writes: n(8)?,
        write_sectors: n(9)?,
        write_time: n(10)?,
        in_progress: n(11)?,
        io_time: n(12)?,
        weighted_io_time: n(13)?,
    };
    Some((cols[2].to_string(), c))
}

const SECTOR_BYTES: u64 = 512;

impl SyncInput for DiskIo {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let text = self.host.read_proc("diskstats")?;
        let now = Instant::now();
        for (name, c) in text.lines().filter_map(parse_line) {
            if self
                .devices
                .as_ref()
                .is_some_and(|set| !set.is_match(&name))
            {
                continue;
            }
            if c.reads == 0
                && c.writes == 0
                && c.io_time == 0
                && c.weighted_io_time == 0
                && c.in_progress == 0
            {
                continue;
            }
            let mut m = acc
                .metric("diskio")
                .with_tag("name", name.as_str())
                .with_field("reads", c.reads)
                .with_field("writes", c.writes)
                .with_field("read_bytes", c.read_sectors * SECTOR_BYTES)
                .with_field("write_bytes", c.write_sectors * SECTOR_BYTES)
                .with_field("read_time", c.read_time)
                .with_field("write_time", c.write_time)
                .with_field("io_time", c.io_time)
                .with_field("weighted_io_time", c.weighted_io_time)
                .with_field("iops_in_progress", c.in_progress)
                .with_field("merged_reads", c.merged_reads)
                .with_field("merged_writes", c.merged_writes);
            if !self.config.skip_serial_number {
                let serial =
                    super::read(&self.host.sys.join(format!("block/{name}/device/serial")))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_else(|_| "unknown".into());
                m.tags.insert("serial".into(), serial);
            }
            if let Ok(wwid) = super::read(&self.host.sys.join(format!("block/{name}/wwid"))) {
                m.tags.insert("wwid".into(), wwid.trim().to_string());
            }
            if let Some((then, last)) = self.previous.insert(name, (now, c)) {
                let ops = (c.reads + c.writes).checked_sub(last.reads + last.writes);
                let busy = c.io_time.checked_sub(last.io_time);
                let waited =
                    (c.read_time + c.write_time).checked_sub(last.read_time + last.write_time);
                let elapsed_ms = now.duration_since(then).as_secs_f64() * 1000.0;
                if let (Some(ops), Some(busy), Some(waited)) = (ops, busy, waited) {
                    if ops > 0 {
                        m.add_field("io_await", waited as f64 / ops as f64);
                        m.add_field("io_svctm", busy as f64 / ops as f64);
                    }
                    if elapsed_ms > 0.0 {
                        m.add_field("io_util", 100.0 * busy as f64 / elapsed_ms);
                    }
                }
            }
            acc.push(m);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    const STATS: &str = "   8       0 sda 100 5 2000 300 50 6 800 400 0 500 700 0 0 0 0\n   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0\n 253 0 dm-0 10 0 80 20 0 0 0 0 0 20 20\n";

    #[test]
    fn counters_in_bytes_and_device_globs() {
        let fx = fixture(&[("proc/diskstats", STATS)]);
        let config = DiskIoConfig {
            devices: vec!["sd*".into()],
            ..DiskIoConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 1);
        let m = &metrics[0];
        assert_eq!(m.tags["name"], "sda");
        assert_eq!(m.field("read_bytes"), Some(&FieldValue::UInt(2000 * 512)));
        assert_eq!(m.field("write_time"), Some(&FieldValue::UInt(400)));
        assert_eq!(m.field("io_await"), None, "derived fields need two gathers");

        fx.write(
            "proc/diskstats",
            "8 0 sda 110 5 2000 330 60 6 800 410 0 520 700 0 0 0 0\n",
        );
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("io_await"), Some(&FieldValue::Float(40.0 / 20.0)));
        assert_eq!(m.field("io_svctm"), Some(&FieldValue::Float(1.0)));
        assert!(matches!(m.field("io_util"), Some(FieldValue::Float(_))));
    }

    #[test]
    fn all_devices_without_filter_skipping_idle_ones() {
        let fx = fixture(&[("proc/diskstats", STATS)]);
        let mut input = build(&DiskIoConfig::default(), &fx.ctx()).unwrap();
        let names: Vec<String> = gather_with(&mut input)
            .iter()
            .map(|m| m.tags["name"].clone())
            .collect();
        assert_eq!(names, ["sda", "dm-0"]);
    }
}
