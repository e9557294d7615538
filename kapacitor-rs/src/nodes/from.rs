//! `from()`: selects the points of one database, retention policy and measurement, filtered
//! by `.where()` and grouped by `.groupBy()`, as Kapacitor's stream `from` does.

use super::{dimensions, regroup, unknown, Node};
use crate::lambda::Lambda;
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{Dimensions, Message, Point};
use std::sync::Arc;

/// `from()`: selects points by database, policy, measurement and `where`, and groups them.
pub struct From {
    database: Option<String>,
    retention_policy: Option<String>,
    measurement: Option<String>,
    condition: Option<Arc<Lambda>>,
    dims: Dimensions,
    by_measurement: bool,
    truncate: i64,
    round: i64,
    quiet: bool,
}

impl From {
    /// Reads the properties.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut n = From {
            database: None,
            retention_policy: None,
            measurement: None,
            condition: None,
            dims: Dimensions::default(),
            by_measurement: false,
            truncate: 0,
            round: 0,
            quiet: false,
        };
        for p in &decl.props {
            match p.name.as_str() {
                "database" => n.database = Some(args::string(p)?),
                "retentionPolicy" => n.retention_policy = Some(args::string(p)?),
                "measurement" => n.measurement = Some(args::string(p)?),
                "where" => n.condition = Some(args::lambda(p)?),
                "groupBy" => n.dims = dimensions(p)?,
                "groupByMeasurement" => n.by_measurement = args::flag(p)?,
                "truncate" => n.truncate = args::duration(p)?,
                "round" => n.round = args::duration(p)?,
                "quiet" => n.quiet = args::flag(p)?,
                _ => return Err(unknown(decl, p)),
            }
        }
        Ok(n)
    }

    fn wants(&self, p: &Point) -> bool {
        let matches = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.is_empty() || w == have)
        };
        if !(matches(&self.database, &p.db)
            && matches(&self.retention_policy, &p.rp)
            && matches(&self.measurement, &p.name))
        {
            return false;
        }
        match &self.condition {
            None => true,
            Some(l) => match l.test(p) {
                Ok(b) => b,
                Err(e) => {
                    if !self.quiet {
                        tracing::debug!("from where: {e}");
                    }
                    false
                }
            },
        }
    }
}

impl Node for From {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let Message::Point(mut p) = msg else {
            return Vec::new();
        };
        if !self.wants(&p) {
            return Vec::new();
        }
        if self.truncate > 0 {
            p.time -= p.time.rem_euclid(self.truncate);
        } else if self.round > 0 {
            p.time = (p.time + self.round / 2).div_euclid(self.round) * self.round;
        }
        vec![Message::Point(regroup(p, &self.dims, self.by_measurement))]
    }
}
