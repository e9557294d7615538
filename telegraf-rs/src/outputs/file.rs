//! `outputs.file`: appends metrics in any data format (line protocol by default) to files or
//! stdout.

use super::{OutputError, WriteOutcome};
use crate::serializers::{Serializer, SerializerConfig};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;

/// Options of `[[outputs.file]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FileConfig {
    /// Paths; `stdout` is the standard output.
    pub files: Vec<String>,
    /// Send one batch as one document where the format has a batch form.
    pub use_batch_format: bool,
    /// The serializer options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub serializer: SerializerConfig,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            files: vec!["stdout".into()],
            use_batch_format: false,
            serializer: SerializerConfig::default(),
        }
    }
}

/// The running output.
#[derive(Debug)]
pub struct FileOutput {
    targets: Vec<(String, Option<File>)>,
    serializer: Serializer,
    batch_format: bool,
}

impl FileOutput {
    /// Opens nothing yet: files are opened (and created) at the first write.
    pub fn new(config: &FileConfig) -> Result<Self, OutputError> {
        Ok(FileOutput {
            targets: config.files.iter().map(|f| (f.clone(), None)).collect(),
            serializer: Serializer::new(&config.serializer).map_err(OutputError::Settings)?,
            batch_format: config.use_batch_format,
        })
    }

    /// Appends the batch (line protocol from the buffer) to every file in the data format.
    pub fn write(&mut self, lines: &[u8]) -> Result<WriteOutcome, OutputError> {
        let body = &self.serializer.batch(lines, self.batch_format)[..];
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
