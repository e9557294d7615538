//! `groupBy()`: regroups points by tags (or `*`), optionally by measurement too.

use super::{constructor, dimensions, regroup, unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{Dimensions, GroupKey, Message};
use std::collections::BTreeMap;

/// `groupBy(…)`.
pub struct GroupBy {
    dims: Dimensions,
    by_measurement: bool,
}

impl GroupBy {
    /// Reads the dimensions.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let dims = dimensions(&constructor(decl))?;
        let mut by_measurement = false;
        for p in &decl.props {
            match p.name.as_str() {
                "byMeasurement" => by_measurement = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(GroupBy {
            dims,
            by_measurement,
        })
    }
}

impl Node for GroupBy {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let (dims, by) = (&self.dims, self.by_measurement);
        match msg {
            Message::Point(p) => vec![Message::Point(regroup(p, dims, by))],
            Message::Batch(b) => {
                // A batch splits into one batch per new group.
                let mut groups: BTreeMap<GroupKey, crate::point::Batch> = BTreeMap::new();
                for p in b.points {
                    let p = regroup(p, dims, by);
                    let entry =
                        groups
                            .entry(p.group.clone())
                            .or_insert_with(|| crate::point::Batch {
                                name: b.name.clone(),
                                group: p.group.clone(),
                                dims: dims.clone(),
                                tags: dims.select(&p.tags),
                                time: b.time,
                                points: Vec::new(),
                            });
                    entry.points.push(p);
                }
                groups.into_values().map(Message::Batch).collect()
            }
        }
    }
}
