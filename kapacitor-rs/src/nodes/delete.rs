//! `delete()`: removes fields and tags from each point.

use super::{map_points, unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::Message;

/// `delete()`: removes fields and tags.
pub struct Delete {
    fields: Vec<String>,
    tags: Vec<String>,
}

impl Delete {
    /// Reads `.field(name)` and `.tag(name)`.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = Delete {
            fields: Vec::new(),
            tags: Vec::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "field" => n.fields.push(args::string(p)?),
                "tag" => n.tags.push(args::string(p)?),
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }
}

impl Node for Delete {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |mut p| {
            self.fields.iter().for_each(|f| {
                p.fields.remove(f);
            });
            self.tags.iter().for_each(|t| {
                p.tags.remove(t);
            });
            Some(p)
        })
        .into_iter()
        .collect()
    }
}
