//! `outputs.discard`: accepts every batch and keeps nothing — for measuring the agent, or
//! for processors that write elsewhere (`printer`).

use super::{OutputError, WriteOutcome};
use serde::{Deserialize, Serialize};

/// Options of `[[outputs.discard]]` (it has none).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct DiscardConfig {}

/// The running output.
#[derive(Debug, Default)]
pub struct Discard;

impl Discard {
    /// Every batch is written at once.
    pub fn write(&mut self) -> Result<WriteOutcome, OutputError> {
        Ok(WriteOutcome::Written)
    }
}
