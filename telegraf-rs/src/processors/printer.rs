//! `processors.printer`: prints every metric it sees to standard output as line protocol and
//! passes it on unchanged.

use super::{Processor, ProcessorContext, ProcessorError};
use crate::metric::Metric;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Options of `[processors.printer]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PrinterConfig {
    /// Only `influx` is implemented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format: Option<String>,
}

/// Builds the processor.
pub fn build(
    c: &PrinterConfig,
    _: &ProcessorContext,
) -> Result<Box<dyn Processor>, ProcessorError> {
    match c.data_format.as_deref() {
        None | Some("influx") => Ok(Box::new(Printer)),
        Some(other) => Err(ProcessorError(format!(
            "data_format {other:?} is not implemented by telegraf-rs's printer"
        ))),
    }
}

struct Printer;

impl Processor for Printer {
    fn apply(&mut self, m: Metric, out: &mut Vec<Metric>) {
        if let Ok(line) = m.to_line(false) {
            let _ = std::io::stdout().lock().write_all(&line);
        }
        out.push(m);
    }
}
