//! `default()`: fields and tags given a value where a point lacks them.

use super::{map_points, unknown, Node};
use crate::lambda::Value;
use crate::pipeline::{Arg, NodeDecl, PipelineError};
use crate::point::{FieldValue, Message};

/// `default()`: sets fields and tags a point lacks.
pub struct Default {
    fields: Vec<(String, FieldValue)>,
    tags: Vec<(String, String)>,
}

impl Default {
    /// Reads `.field(name, value)` and `.tag(name, value)`.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = Default {
            fields: Vec::new(),
            tags: Vec::new(),
        };
        for p in &decl.props {
            match (p.name.as_str(), p.args.as_slice()) {
                ("field", [Arg::Value(Value::Str(k)), Arg::Value(v)]) => n.fields.push((
                    k.clone(),
                    v.to_field()
                        .ok_or_else(|| PipelineError::at(p.pos, "invalid default value"))?,
                )),
                ("tag", [Arg::Value(Value::Str(k)), Arg::Value(Value::Str(v))]) => {
                    n.tags.push((k.clone(), v.clone()))
                }
                ("field" | "tag", _) => {
                    return Err(PipelineError::at(
                        p.pos,
                        format!("{} takes a name and a value", p.name),
                    ))
                }
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Default {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |mut p| {
            for (k, v) in &self.fields {
                p.fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
            for (k, v) in &self.tags {
                p.tags.entry(k.clone()).or_insert_with(|| v.clone());
            }
            Some(p)
        })
        .into_iter()
        .collect()
    }
}
