//! `inputs.disk`: size and inode use of each mounted filesystem (mount table from
//! `/proc/1/mountinfo`, figures from `statfs(2)`).

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::ffi::CString;

/// Options of `[[inputs.disk]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DiskConfig {
    /// Only these mount points (all when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<String>,
    /// Filesystem types to skip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_fs: Vec<String>,
    /// Skip mounts having any of these options (e.g. `bind`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_mount_opts: Vec<String>,
}

/// Builds the input.
pub fn build(config: &DiskConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Disk {
        config: config.clone(),
        host: ctx.host.clone(),
    }))
}

struct Disk {
    config: DiskConfig,
    host: HostPaths,
}

/// One line of a mountinfo file.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    point: String,
    options: Vec<String>,
    fstype: String,
    device: String,
}

/// Undoes the kernel's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() + 1 && b.len() >= i + 4 {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let before: Vec<&str> = before.split_ascii_whitespace().collect();
            let mut after = after.split_ascii_whitespace();
            let fstype = after.next()?.to_string();
            let device = after.next().unwrap_or("").to_string();
            let super_options = after.next().unwrap_or("");
            let mut options: Vec<String> = before.get(5)?.split(',').map(str::to_string).collect();
            options.extend(
                super_options
                    .split(',')
                    .filter(|o| *o == "ro" || *o == "rw")
                    .map(str::to_string),
            );
            Some(Mount {
                point: unescape(before.get(4)?),
                options,
                fstype,
                device: unescape(&device),
            })
        })
        .collect()
}

/// `statfs(2)` figures of one path.
struct Usage {
    total: u64,
    free: u64,
    used: u64,
    inodes_total: u64,
    inodes_free: u64,
}

fn statfs(path: &str) -> Option<Usage> {
    let c_path = CString::new(path).ok()?;
    // SAFETY: statfs writes into the zeroed struct we own; the path is a valid C string.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let bsize = st.f_bsize as u64;
    Some(Usage {
        total: st.f_blocks as u64 * bsize,
        free: st.f_bavail as u64 * bsize,
        used: (st.f_blocks as u64).saturating_sub(st.f_bfree as u64) * bsize,
        inodes_total: st.f_files as u64,
        inodes_free: st.f_ffree as u64,
    })
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

impl SyncInput for Disk {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let text = self
            .host
            .read_proc("1/mountinfo")
            .or_else(|_| self.host.read_proc("self/mountinfo"))?;
        for mount in parse_mountinfo(&text) {
            let c = &self.config;
            if mount.fstype == "autofs"
                || c.ignore_fs.contains(&mount.fstype)
                || (!c.mount_points.is_empty() && !c.mount_points.contains(&mount.point))
                || mount
                    .options
                    .iter()
                    .any(|o| c.ignore_mount_opts.contains(o))
            {
                continue;
            }
            let Some(usage) = statfs(&format!("{}{}", self.host.mount_prefix, mount.point)) else {
                continue;
            };
            if usage.total == 0 {
                continue;
            }
            let mode = if mount.options.iter().any(|o| o == "rw") {
                "rw"
            } else if mount.options.iter().any(|o| o == "ro") {
                "ro"
            } else {
                "unknown"
            };
            let device = match mount.device.replace("/dev/", "") {
                d if d.is_empty() || d == "none" => mount.fstype.clone(),
                d => d,
            };
            let inodes_used = usage.inodes_total.saturating_sub(usage.inodes_free);
            acc.push(
                acc.metric("disk")
                    .with_tag("path", mount.point.clone())
                    .with_tag("device", device)
                    .with_tag("fstype", mount.fstype.clone())
                    .with_tag("mode", mode)
                    .with_field("total", usage.total)
                    .with_field("free", usage.free)
                    .with_field("used", usage.used)
                    .with_field("used_percent", percent(usage.used, usage.used + usage.free))
                    .with_field("inodes_total", usage.inodes_total)
                    .with_field("inodes_free", usage.inodes_free)
                    .with_field("inodes_used", inodes_used)
                    .with_field(
                        "inodes_used_percent",
                        percent(inodes_used, inodes_used + usage.inodes_free),
                    ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn parses_mountinfo_with_escapes() {
        let text = "36 35 98:0 / /mnt/my\\040disk rw,noatime master:1 - ext4 /dev/sda1 rw,errors=continue\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts[0].point, "/mnt/my disk");
        assert_eq!(mounts[0].device, "/dev/sda1");
        assert_eq!(mounts[0].fstype, "ext4");
    }

    #[test]
    fn reports_real_filesystems_and_skips_ignored_ones() {
        let dir = tempfile::tempdir().unwrap();
        let point = dir.path().to_str().unwrap().to_string();
        let mountinfo = format!(
            "1 0 8:1 / {point} rw,relatime - ext4 /dev/sda1 rw\n2 0 0:5 / /proc rw - proc proc rw\n3 0 0:6 / {point} ro - tmpfs tmpfs ro\n"
        );
        let fx = fixture(&[("proc/1/mountinfo", &mountinfo)]);
        let config = DiskConfig {
            ignore_fs: vec!["tmpfs".into()],
            ..DiskConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 1, "{metrics:?}");
        let m = &metrics[0];
        assert_eq!(m.tags["device"], "sda1");
        assert_eq!(m.tags["mode"], "rw");
        assert_eq!(m.tags["path"], point);
        let (Some(FieldValue::UInt(total)), Some(FieldValue::UInt(used))) =
            (m.field("total"), m.field("used"))
        else {
            panic!("{m:?}");
        };
        assert!(total >= used && *total > 0);
    }
}
