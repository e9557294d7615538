//! `inputs.linux_sysctl_fs`: the file-system limits and counters of `/proc/sys/fs` (`aio-nr`,
//! `file-nr`, `inode-nr`, `dentry-nr`, …) as one `linux_sysctl_fs` metric; files the kernel
//! does not have are left out.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.linux_sysctl_fs]]` (it has none).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LinuxSysctlFsConfig {}

/// Builds the input.
pub fn build(_: &LinuxSysctlFsConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(SysctlFs {
        host: ctx.host.clone(),
    }))
}

struct SysctlFs {
    host: HostPaths,
}

/// Files holding one number.
const SINGLE: &[&str] = &[
    "aio-nr",
    "aio-max-nr",
    "dquot-nr",
    "dquot-max",
    "super-nr",
    "super-max",
];

/// Files holding several tab-separated numbers, and the field of each (`""`: not reported).
const LISTS: &[(&str, &[&str])] = &[
    (
        "inode-state",
        &["inode-nr", "inode-free-nr", "inode-preshrink-nr"],
    ),
    (
        "dentry-state",
        &[
            "dentry-nr",
            "dentry-unused-nr",
            "dentry-age-limit",
            "dentry-want-pages",
        ],
    ),
    ("file-nr", &["file-nr", "", "file-max"]),
];

impl SysctlFs {
    /// The file's text, `None` when the kernel has no such file.
    fn read(&self, name: &str) -> Result<Option<String>, InputError> {
        let path = self.host.proc.join("sys/fs").join(name);
        match super::read_text(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(InputError::Read { path, source }),
        }
    }
}

fn number(name: &str, text: &str) -> Result<u64, InputError> {
    text.trim().parse().map_err(|e| InputError::Parse {
        what: format!("/proc/sys/fs/{name}"),
        message: format!("{text:?}: {e}"),
    })
}

impl SyncInput for SysctlFs {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let mut m = acc.metric("linux_sysctl_fs");
        for name in SINGLE {
            if let Some(text) = self.read(name)? {
                m.add_field(*name, number(name, &text)?);
            }
        }
        for (file, fields) in LISTS {
            let Some(text) = self.read(file)? else {
                continue;
            };
            for (field, value) in fields.iter().zip(text.trim_end().split('\t')) {
                if !field.is_empty() {
                    m.add_field(*field, number(file, value)?);
                }
            }
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

    #[test]
    fn numbers_and_lists_of_proc_sys_fs() {
        let fx = fixture(&[
            ("proc/sys/fs/aio-nr", "0\n"),
            ("proc/sys/fs/aio-max-nr", "65536\n"),
            ("proc/sys/fs/inode-state", "99340\t0\t0\t0\t0\t0\t0\n"),
            (
                "proc/sys/fs/dentry-state",
                "169484\t168110\t45\t0\t66182\t0\n",
            ),
            ("proc/sys/fs/file-nr", "598\t0\t2466239\n"),
        ]);
        let mut input = build(&LinuxSysctlFsConfig::default(), &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("aio-max-nr"), Some(&FieldValue::UInt(65536)));
        assert_eq!(m.field("dquot-nr"), None);
        assert_eq!(m.field("inode-nr"), Some(&FieldValue::UInt(99340)));
        assert_eq!(m.field("dentry-want-pages"), Some(&FieldValue::UInt(0)));
        assert_eq!(m.field("file-nr"), Some(&FieldValue::UInt(598)));
        assert_eq!(m.field("file-max"), Some(&FieldValue::UInt(2_466_239)));
        assert_eq!(m.fields.len(), 11);
    }
}
