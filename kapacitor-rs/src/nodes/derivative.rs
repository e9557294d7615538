//! `derivative()`: the rate of change of a field between consecutive points of a group, per
//! `.unit()`, optionally non-negative.

use super::{constructor, map_points, unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{FieldValue, GroupKey, Message, Point};
use std::collections::{BTreeMap, HashMap};

/// `derivative('field')`: rate of change per `unit` between consecutive points of a group.
pub struct Derivative {
    field: String,
    unit: i64,
    non_negative: bool,
    name: String,
    previous: HashMap<GroupKey, (i64, f64)>,
}

impl Derivative {
    /// Reads the field and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let field = args::string(&constructor(decl))?;
        let mut n = Derivative {
            name: field.clone(),
            field,
            unit: 1_000_000_000,
            non_negative: false,
            previous: HashMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "unit" => n.unit = args::duration(p)?,
                "nonNegative" => n.non_negative = args::flag(p)?,
                "as" => n.name = args::string(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn step(&mut self, mut p: Point) -> Option<Point> {
        let value = p.fields.get(&self.field)?.as_f64()?;
        let previous = self.previous.insert(p.group.clone(), (p.time, value));
        let (t0, v0) = previous?;
        if p.time <= t0 {
            return None;
        }
        let rate = (value - v0) / ((p.time - t0) as f64 / self.unit as f64);
        if self.non_negative && rate < 0.0 {
            return None;
        }
        p.fields = BTreeMap::from([(self.name.clone(), FieldValue::Float(rate))]);
        Some(p)
    }
}

impl Node for Derivative {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.step(p)).into_iter().collect()
    }
}
