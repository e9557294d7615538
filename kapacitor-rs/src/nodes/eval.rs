//! `eval()`: new fields (or tags) from lambdas over each point, named by `.as()`, with
//! `.keep()` and `.tags()`.

use super::{map_points, unknown, Node};
use crate::lambda::Lambda;
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{FieldValue, Message, Point};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `eval(lambda, …)`: computes fields (or tags) named by `.as()`.
pub struct Eval {
    lambdas: Vec<Arc<Lambda>>,
    names: Vec<String>,
    keep: Option<Vec<String>>,
    tags: Vec<String>,
    quiet: bool,
}

impl Eval {
    /// Reads lambdas and properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let lambdas = decl
            .args
            .iter()
            .map(|a| match a {
                Arg::Lambda(l) => Ok(l.clone()),
                other => Err(PipelineError::at(
                    decl.pos,
                    format!("eval takes lambdas, got {}", other.describe()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut n = Eval {
            names: Vec::new(),
            lambdas,
            keep: None,
            tags: Vec::new(),
            quiet: false,
        };
        for p in &decl.props {
            match p.name.as_str() {
                "as" => n.names = args::strings(p)?,
                "keep" => {
                    n.keep = Some(if p.args.is_empty() {
                        Vec::new()
                    } else {
                        args::strings(p)?
                    })
                }
                "tags" => n.tags = args::strings(p)?,
                "quiet" => n.quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        if n.names.len() != n.lambdas.len() {
            return Err(PipelineError::at(
                decl.pos,
                format!(
                    "eval has {} expressions but {} names in .as()",
                    n.lambdas.len(),
                    n.names.len()
                ),
            ));
        }
        Ok(n)
    }

    fn apply(&self, mut p: Point) -> Option<Point> {
        let mut computed: BTreeMap<String, FieldValue> = BTreeMap::new();
        for (lambda, name) in self.lambdas.iter().zip(&self.names) {
            match lambda.eval_with(&p, &computed) {
                Ok(v) => {
                    let f = v.to_field()?;
                    computed.insert(name.clone(), f);
                }
                Err(e) => {
                    if !self.quiet {
                        tracing::warn!("eval: {e}");
                    }
                    return None;
                }
            }
        }
        let mut fields = match &self.keep {
            None => BTreeMap::new(),
            Some(k) if k.is_empty() => std::mem::take(&mut p.fields),
            Some(k) => k
                .iter()
                .filter_map(|name| p.fields.get(name).map(|v| (name.clone(), v.clone())))
                .collect(),
        };
        for (name, value) in computed {
            if self.tags.contains(&name) {
                p.tags.insert(name, value.to_string());
            } else {
                fields.insert(name, value);
            }
        }
        p.fields = fields;
        Some(p)
    }
}

impl Node for Eval {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        map_points(msg, |p| self.apply(p)).into_iter().collect()
    }
}
