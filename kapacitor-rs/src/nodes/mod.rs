//! The node executors of a running task: one per script node, fed messages by the task runner
//! (`runner`), each turning what it receives into what its children receive.

use crate::pipeline::{args, Arg, NodeDecl, PipelineError, Property};
use crate::point::{Dimensions, GroupKey, Message, Point};
use crate::services::Services;

pub mod aggregate;
pub mod alert;
pub mod default;
pub mod delete;
pub mod derivative;
pub mod eval;
pub mod from;
pub mod group_by;
pub mod join;
pub mod log;
pub mod output;
pub mod query;
pub mod shift;
pub mod state;
pub mod stream;
pub mod r#where;
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

/// Applies `f` to the point, or to each point of the batch (dropping those it rejects).
pub fn map_points(msg: Message, mut f: impl FnMut(Point) -> Option<Point>) -> Option<Message> {
    match msg {
        Message::Point(p) => f(p).map(Message::Point),
        Message::Batch(mut b) => {
            b.points = b.points.into_iter().filter_map(f).collect();
            Some(Message::Batch(b))
        }
    }
}

/// Regroups a point: new dimensions, new key (the measurement first when `by_measurement`).
pub fn regroup(mut p: Point, dims: &Dimensions, by_measurement: bool) -> Point {
    p.group = GroupKey::of(&p.tags, dims);
    if by_measurement {
        p.group = GroupKey(format!("{}\n{}", p.name, p.group.0));
    }
    p.dims = dims.clone();
    p
}

/// Dimensions from `groupBy` arguments: tag names, lists of them, or `*`.
pub fn dimensions(p: &crate::pipeline::Property) -> Result<Dimensions, PipelineError> {
    if p.args.iter().any(|a| matches!(a, Arg::Star))
        || matches!(p.args.as_slice(), [Arg::List(l)] if l.iter().any(|a| matches!(a, Arg::Star)))
    {
        return Ok(Dimensions::All);
    }
    let mut tags = args::strings(p)?;
    tags.sort();
    tags.dedup();
    Ok(Dimensions::Tags(tags.into()))
}

/// Builds the executor of `decl`.
pub fn build(decl: &NodeDecl, services: &Services) -> Result<Box<dyn Node>, PipelineError> {
    Ok(match decl.kind.as_str() {
        "stream" | "batch" => Box::new(stream::PassThrough),
        "from" => Box::new(from::From::build(decl)?),
        "where" => Box::new(r#where::Where::build(decl)?),
        "groupBy" => Box::new(group_by::GroupBy::build(decl)?),
        "eval" => Box::new(eval::Eval::build(decl)?),
        "default" => Box::new(default::Default::build(decl)?),
        "delete" => Box::new(delete::Delete::build(decl)?),
        "shift" => Box::new(shift::Shift::build(decl)?),
        "log" => Box::new(log::Log::build(decl, &services.task)?),
        "derivative" => Box::new(derivative::Derivative::build(decl)?),
        "stateDuration" | "stateCount" => Box::new(state::State::build(decl)?),
        "window" => Box::new(window::Window::build(decl)?),
        "join" => Box::new(join::Join::build(decl)?),
        "query" => {
            let mut q = query::Query::build(decl)?;
            q.attach(services);
            Box::new(q)
        }
        "influxDBOut" => Box::new(output::InfluxDbOut::build(decl, services)?),
        "httpOut" => Box::new(output::HttpOut::build(decl, services)?),
        "alert" => Box::new(alert::AlertNode::build(decl, services)?),
        "deadman" => Box::new(alert::deadman::deadman(decl, services)?),
        kind if aggregate::is_function(kind) => Box::new(aggregate::Aggregate::build(decl)?),
        other => {
            return Err(PipelineError::at(
                decl.pos,
                format!("no method or property \"{other}\" is not implemented by kapacitor-rs"),
            ))
        }
    })
}
