//! `join(other…)`: points of the same group and time (within `tolerance`) from every parent
//! become one point, each parent's fields prefixed with its `.as()` name (`past.value`) — how
//! Chronograf's relative rules compare a window with the one before.

use super::{unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{GroupKey, Message, Point};
use std::collections::BTreeMap;

/// The node.
pub struct Join {
    names: Vec<String>,
    tolerance: i64,
    delimiter: String,
    stream_name: Option<String>,
    parents: usize,
    pending: BTreeMap<(i64, GroupKey), Vec<Option<Point>>>,
}

impl Join {
    /// Reads `.as()`, `.tolerance()`, `.delimiter()`, `.streamName()`.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut j = Join {
            names: Vec::new(),
            tolerance: 0,
            delimiter: ".".into(),
            stream_name: None,
            parents: decl.parents.len(),
            pending: BTreeMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "as" => j.names = args::strings(p)?,
                "tolerance" => j.tolerance = args::duration(p)?,
                "delimiter" => j.delimiter = args::string(p)?,
                "streamName" => j.stream_name = Some(args::string(p)?),
                "fill" | "on" => {}
                _ => return Err(unknown(decl, p)),
            }
        }
        if j.names.len() != j.parents {
            return Err(PipelineError::at(
                decl.pos,
                format!(
                    "join has {} parents but {} names in .as()",
                    j.parents,
                    j.names.len()
                ),
            ));
        }
        Ok(j)
    }
}

/// Unmatched points older than this many seconds behind the newest are given up.
const HORIZON: i64 = 3600 * 1_000_000_000;

impl Node for Join {
    fn process(&mut self, input: usize, msg: Message) -> Vec<Message> {
        let Message::Point(p) = msg else {
            return Vec::new();
        };
        let time = if self.tolerance > 0 {
            (p.time + self.tolerance / 2).div_euclid(self.tolerance) * self.tolerance
        } else {
            p.time
        };
        let key = (time, p.group.clone());
        let slots = self
            .pending
            .entry(key.clone())
            .or_insert_with(|| vec![None; self.parents]);
        if let Some(slot) = slots.get_mut(input) {
            *slot = Some(p);
        }
        let ready = slots.iter().all(Option::is_some);
        let mut out = Vec::new();
        if ready {
            if let Some(points) = self.pending.remove(&key) {
                let points: Vec<Point> = points.into_iter().flatten().collect();
                let mut joined = points[0].clone();
                joined.time = time;
                joined.fields.clear();
                if let Some(name) = &self.stream_name {
                    joined.name = name.clone();
                }
                for (point, prefix) in points.iter().zip(&self.names) {
                    for (k, v) in &point.fields {
                        joined
                            .fields
                            .insert(format!("{prefix}{}{k}", self.delimiter), v.clone());
                    }
                    for (k, v) in &point.tags {
                        joined.tags.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                out.push(Message::Point(joined));
            }
        }
        self.pending.retain(|(t, _), _| *t >= time - HORIZON);
        out
    }
}
