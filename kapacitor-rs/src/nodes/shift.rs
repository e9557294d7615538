//! `shift()`: moves each point's time by a duration.

use super::{constructor, map_points, unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::Message;

/// `shift(d)`: moves times.
pub struct Shift(i64);

impl Shift {
    /// Reads the duration.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        if let Some(p) = decl.props.first() {
            return Err(unknown(decl, p));
        }
        Ok(Shift(args::duration(&constructor(decl))?))
    }
}

impl Node for Shift {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let d = self.0;
        let msg = match msg {
            Message::Batch(mut b) => {
                b.time += d;
                Message::Batch(b)
            }
            other => other,
        };
        map_points(msg, |mut p| {
            p.time += d;
            Some(p)
        })
        .into_iter()
        .collect()
    }
}
