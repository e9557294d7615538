//! `log()`: writes each message to the daemon's log at a level, with a prefix, and passes it on.

use super::{unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::Message;

/// `log()`: logs everything that passes.
pub struct Log {
    level: tracing::Level,
    prefix: String,
    task: String,
}

impl Log {
    /// Reads `.level()` and `.prefix()`.
    pub fn build(decl: &NodeDecl, task: &str) -> Result<Self, PipelineError> {
        let mut n = Log {
            level: tracing::Level::INFO,
            prefix: String::new(),
            task: task.to_string(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "level" => {
                    n.level = match args::string(p)?.to_uppercase().as_str() {
                        "DEBUG" => tracing::Level::DEBUG,
                        "INFO" => tracing::Level::INFO,
                        "WARN" => tracing::Level::WARN,
                        "ERROR" => tracing::Level::ERROR,
                        other => {
                            return Err(PipelineError::at(
                                p.pos,
                                format!("invalid log level {other:?}"),
                            ))
                        }
                    }
                }
                "prefix" => n.prefix = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Log {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let data = msg.to_result_json();
        match self.level {
            tracing::Level::ERROR => {
                tracing::error!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            tracing::Level::WARN => {
                tracing::warn!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            tracing::Level::DEBUG => {
                tracing::debug!(task = %self.task, prefix = %self.prefix, "{data}")
            }
            _ => tracing::info!(task = %self.task, prefix = %self.prefix, "{data}"),
        }
        vec![msg]
    }
}
