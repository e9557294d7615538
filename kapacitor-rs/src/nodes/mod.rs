//! The node executors of a running task: one per script node, fed messages by the task runner
//! (`runner`), each turning what it receives into what its children receive.

use crate::pipeline::{args, NodeDecl, PipelineError, Property};
use crate::point::Message;
use crate::services::Services;

pub mod aggregate;
pub mod basic;
pub mod join;
pub mod output;
pub mod query;
pub mod window;

/// A running node.
pub trait Node: Send {
    /// Handles one message from parent number `input` (0 unless the node joins several).
    fn process(&mut self, input: usize, msg: Message) -> Vec<Message>;

    /// Called about once a second with the wall clock (ns), for nodes driven by time rather
    /// than data (`deadman`).
    fn tick(&mut self, now: i64) -> Vec<Message> {
        let _ = now;
        Vec::new()
    }

    /// Counters beyond collected/emitted, for the task's `node-stats`.
    fn stats(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }
}

/// `no method or property X on Y`, Kapacitor's words for a property a node does not have.
pub fn unknown(decl: &NodeDecl, p: &Property) -> PipelineError {
    PipelineError::at(
        p.pos,
        format!("no method or property \"{}\" on {}", p.name, decl.kind),
    )
}

/// The constructor arguments as a pseudo-property named after the node.
pub fn constructor(decl: &NodeDecl) -> Property {
    args::constructor(&decl.kind, &decl.args, decl.pos)
}

/// Builds the executor of `decl`.
pub fn build(decl: &NodeDecl, services: &Services) -> Result<Box<dyn Node>, PipelineError> {
    Ok(match decl.kind.as_str() {
        "stream" | "batch" => Box::new(basic::PassThrough),
        "from" => Box::new(basic::From::build(decl)?),
        "where" => Box::new(basic::Where::build(decl)?),
        "groupBy" => Box::new(basic::GroupBy::build(decl)?),
        "eval" => Box::new(basic::Eval::build(decl)?),
        "default" => Box::new(basic::Default::build(decl)?),
        "delete" => Box::new(basic::Delete::build(decl)?),
        "shift" => Box::new(basic::Shift::build(decl)?),
        "log" => Box::new(basic::Log::build(decl, &services.task)?),
        "derivative" => Box::new(basic::Derivative::build(decl)?),
        "stateDuration" | "stateCount" => Box::new(basic::State::build(decl)?),
        "window" => Box::new(window::Window::build(decl)?),
        "join" => Box::new(join::Join::build(decl)?),
        "query" => {
            let mut q = query::Query::build(decl)?;
            q.attach(services);
            Box::new(q)
        }
        "influxDBOut" => Box::new(output::InfluxDbOut::build(decl, services)?),
        "httpOut" => Box::new(output::HttpOut::build(decl, services)?),
        "alert" => Box::new(crate::alert::AlertNode::build(decl, services)?),
        "deadman" => Box::new(crate::alert::deadman(decl, services)?),
        kind if aggregate::is_function(kind) => Box::new(aggregate::Aggregate::build(decl)?),
        other => {
            return Err(PipelineError::at(
                decl.pos,
                format!("no method or property \"{other}\" is not implemented by kapacitor-rs"),
            ))
        }
    })
}
