//! `stateDuration()` and `stateCount()`: how long, or for how many points, a lambda has been
//! true in a row, per group.

use super::{constructor, map_points, unknown, Node};
use crate::lambda::Lambda;
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{FieldValue, GroupKey, Message, Point};
use std::collections::HashMap;
use std::sync::Arc;

/// `stateDuration(lambda)` / `stateCount(lambda)`: how long (in `unit`s) or how many points in a
/// row the condition has held per group; -1 when it does not.
pub struct State {
    condition: Arc<Lambda>,
    duration: bool,
    unit: i64,
    name: String,
    state: HashMap<GroupKey, (i64, i64)>,
}

impl State {
    /// Reads the lambda and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let duration = decl.kind == "stateDuration";
        let mut n = State {
            condition: args::lambda(&constructor(decl))?,
            duration,
            unit: 1_000_000_000,
            name: if duration {
                "state_duration"
            } else {
                "state_count"
            }
            .into(),
            state: HashMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "unit" if duration => n.unit = args::duration(p)?,
                "as" => n.name = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn step(&mut self, mut p: Point) -> Option<Point> {
        let holds = self.condition.test(&p).ok()?;
        let value = if holds {
            let (start, count) = self.state.entry(p.group.clone()).or_insert((p.time, 0));
            *count += 1;
            if self.duration {
                FieldValue::Float((p.time - *start) as f64 / self.unit as f64)
            } else {
                FieldValue::Int(*count)
            }
        } else {
            self.state.remove(&p.group);
            if self.duration {
                FieldValue::Float(-1.0)
            } else {
                FieldValue::Int(-1)
            }
        };
        p.fields.insert(self.name.clone(), value);
        Some(p)
    }
}

impl Node for State {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.step(p)).into_iter().collect()
    }
}
