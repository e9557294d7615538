//! `outputs.file`: appends line protocol to files or stdout.

use super::{OutputError, WriteOutcome};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;

/// Options of `[[outputs.file]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FileConfig {
    /// Paths; `stdout` is the standard output.
    pub files: Vec<String>,
    /// Only `influx` is implemented.
    pub data_format: String,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            files: vec!["stdout".into()],
            data_format: "influx".into(),
        }
    }
}

/// The running output.
#[derive(Debug)]
pub struct FileOutput {
    targets: Vec<(String, Option<File>)>,
}

impl FileOutput {
    /// Opens nothing yet: files are opened (and created) at the first write.
    pub fn new(config: &FileConfig) -> Result<Self, OutputError> {
        if config.data_format != "influx" {
            return Err(OutputError::Settings(format!(
                "data_format {:?} is not implemented by telegraf-rs",
                config.data_format
            )));
        }
        Ok(FileOutput {
            targets: config.files.iter().map(|f| (f.clone(), None)).collect(),
        })
    }

    /// Appends `body` to every file.
    pub fn write(&mut self, body: &[u8]) -> Result<WriteOutcome, OutputError> {
        for (name, file) in &mut self.targets {
            let fail = |e: std::io::Error| OutputError::Retry(format!("{name}: {e}"));
            if name == "stdout" {
                let mut out = std::io::stdout().lock();
                out.write_all(body)
                    .and_then(|_| out.flush())
                    .map_err(fail)?;
                continue;
            }
            if file.is_none() {
                *file = Some(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&*name)
                        .map_err(fail)?,
                );
            }
            if let Some(f) = file.as_mut() {
                if let Err(e) = f.write_all(body) {
                    *file = None;
                    return Err(fail(e));
                }
            }
        }
        Ok(WriteOutcome::Written)
    }
}
