//! `where()`: keeps the points its lambda is true for.

use super::{constructor, map_points, unknown, Node};
use crate::lambda::Lambda;
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::Message;
use std::sync::Arc;

/// `where(lambda)`.
pub struct Where {
    condition: Arc<Lambda>,
    quiet: bool,
}

impl Where {
    /// Reads the lambda.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let condition = args::lambda(&constructor(decl))?;
        let mut quiet = false;
        for p in &decl.props {
            match p.name.as_str() {
                "quiet" => quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(Where { condition, quiet })
    }
}

impl Node for Where {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let (condition, quiet) = (&self.condition, self.quiet);
        map_points(msg, |p| match condition.test(&p) {
            Ok(true) => Some(p),
            Ok(false) => None,
            Err(e) => {
                if !quiet {
                    tracing::debug!("where: {e}");
                }
                None
            }
        })
        .into_iter()
        .collect()
    }
}
