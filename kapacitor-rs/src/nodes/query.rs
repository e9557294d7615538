//! `batch|query('SELECT …')`: runs the query every `every` over the last `period` (shifted by
//! `offset`, aligned with `.align()`), adding the time range, `GROUP BY` and `fill()` Kapacitor
//! adds, and passes each resulting series on as a batch.

use super::{constructor, unknown, Node};
use crate::lambda::Value;
use crate::pipeline::{args, Arg, NodeDecl, PipelineError};
use crate::point::{Batch, Dimensions, FieldValue, GroupKey, Message, Point};
use crate::services::{Services, TaskInput};
use influx_client::QueryResponse;
use std::collections::BTreeMap;

/// The node.
pub struct Query {
    id: usize,
    select: String,
    period: i64,
    every: i64,
    offset: i64,
    align: bool,
    time_group: Option<String>,
    tags: Vec<String>,
    star: bool,
    fill: Option<String>,
    next_run: Option<i64>,
    services: Option<Services>,
}

impl Query {
    /// Reads the query and its schedule.
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut q = Query {
            id: decl.id,
            select: args::string(&constructor(decl))?,
            period: 0,
            every: 0,
            offset: 0,
            align: false,
            time_group: None,
            tags: Vec::new(),
            star: false,
            fill: None,
            next_run: None,
            services: None,
        };
        for p in &decl.props {
            match p.name.as_str() {
                "period" => q.period = args::duration(p)?,
                "every" => q.every = args::duration(p)?,
                "offset" => q.offset = args::duration(p)?,
                "align" => q.align = args::flag(p)?,
                "alignGroup" | "cluster" | "groupByMeasurement" => {}
                "groupBy" => {
                    for a in &p.args {
                        match a {
                            Arg::Value(Value::Str(s)) if s.starts_with("time(") => {
                                q.time_group = Some(s.clone())
                            }
                            Arg::Value(Value::Str(s)) => q.tags.push(s.clone()),
                            Arg::Star => q.star = true,
                            Arg::List(items) => {
                                q.tags.extend(items.iter().filter_map(|i| match i {
                                    Arg::Value(Value::Str(s)) => Some(s.clone()),
                                    _ => None,
                                }))
                            }
                            other => {
                                return Err(PipelineError::at(
                                    p.pos,
                                    format!("invalid groupBy argument {}", other.describe()),
                                ))
                            }
                        }
                    }
                }
                "fill" => {
                    q.fill = Some(match p.args.as_slice() {
                        [Arg::Value(Value::Str(s))] => s.clone(),
                        [Arg::Value(Value::Int(i))] => i.to_string(),
                        [Arg::Value(Value::Float(f))] => f.to_string(),
                        _ => {
                            return Err(PipelineError::at(
                                p.pos,
                                "fill takes null, none, previous, linear or a number",
                            ))
                        }
                    })
                }
                _ => return Err(unknown(decl, p)),
            }
        }
        if q.every <= 0 || q.period <= 0 {
            return Err(PipelineError::at(
                decl.pos,
                "query needs .period() and .every()",
            ));
        }
        Ok(q)
    }

    /// Gives the node the handles it runs queries with.
    pub fn attach(&mut self, services: &Services) {
        self.services = Some(services.clone());
    }

    /// The statement for `[start, stop)`.
    pub fn statement(&self, start: i64, stop: i64) -> String {
        let range = format!("time >= {start} AND time < {stop}");
        let lower = self.select.to_ascii_lowercase();
        let mut q = match lower.find(" where ") {
            Some(at) => format!(
                "{} WHERE ({}) AND {range}",
                &self.select[..at],
                self.select[at + 7..].trim()
            ),
            None => format!("{} WHERE {range}", self.select.trim()),
        };
        let mut dims: Vec<String> = self.time_group.iter().cloned().collect();
        if self.star {
            dims.push("*".into());
        }
        dims.extend(self.tags.iter().map(|t| influxql::quote_ident(t)));
        if !dims.is_empty() {
            q.push_str(" GROUP BY ");
            q.push_str(&dims.join(", "));
        }
        if let Some(f) = &self.fill {
            q.push_str(&format!(" fill({f})"));
        }
        q
    }

    fn dims(&self) -> Dimensions {
        if self.star {
            Dimensions::All
        } else {
            let mut t = self.tags.clone();
            t.sort();
            Dimensions::Tags(t.into())
        }
    }
}

/// Every row of a query answer as an ungrouped point.
pub fn points(answer: &QueryResponse) -> Vec<Point> {
    batches(answer, &Dimensions::default(), 0)
        .into_iter()
        .flat_map(|m| match m {
            Message::Batch(b) => b.points,
            Message::Point(p) => vec![p],
        })
        .collect()
}

/// The series of a query answer as batches stamped `time`.
pub fn batches(answer: &QueryResponse, dims: &Dimensions, time: i64) -> Vec<Message> {
    let mut out = Vec::new();
    for series in answer.results.first().into_iter().flat_map(|r| &r.series) {
        let name = series.name.clone();
        let tags = &series.tags;
        let group = GroupKey::of(tags, dims);
        let points = series
            .values
            .iter()
            .filter_map(|row| {
                let t = row.first()?.as_i64()?;
                let fields: BTreeMap<String, FieldValue> = series
                    .columns
                    .iter()
                    .zip(row)
                    .skip(1)
                    // Tags a wildcard select also lists as columns are tags, not fields.
                    .filter(|(c, _)| !tags.contains_key(c.as_str()))
                    .filter_map(|(c, v)| {
                        let f = match v {
                            serde_json::Value::Number(n) if n.is_i64() => {
                                FieldValue::Int(n.as_i64()?)
                            }
                            serde_json::Value::Number(n) => FieldValue::Float(n.as_f64()?),
                            serde_json::Value::String(s) => FieldValue::Str(s.clone()),
                            serde_json::Value::Bool(b) => FieldValue::Bool(*b),
                            _ => return None,
                        };
                        Some((c.to_string(), f))
                    })
                    .collect();
                Some(Point {
                    name: name.clone(),
                    db: String::new(),
                    rp: String::new(),
                    tags: tags.clone(),
                    fields,
                    time: t,
                    group: group.clone(),
                    dims: dims.clone(),
                })
            })
            .collect();
        out.push(Message::Batch(Batch {
            name,
            group,
            dims: dims.clone(),
            tags: dims.select(tags),
            time,
            points,
        }));
    }
    out
}

impl Node for Query {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        vec![msg]
    }

    fn tick(&mut self, now: i64) -> Vec<Message> {
        let every = self.every;
        let next = *self.next_run.get_or_insert(if self.align {
            now - now.rem_euclid(every) + every
        } else {
            now
        });
        if now < next {
            return Vec::new();
        }
        self.next_run = Some(next + every * ((now - next) / every + 1));
        let mut stop = now - self.offset;
        if self.align {
            stop -= stop.rem_euclid(every);
        }
        let start = stop - self.period;
        let statement = self.statement(start, stop);
        let Some(services) = self.services.clone() else {
            return Vec::new();
        };
        let (id, dims) = (self.id, self.dims());
        services.runtime.clone().spawn(async move {
            match crate::services::query(&services.store, "", &statement).await {
                Ok(answer) => {
                    let messages = batches(&answer, &dims, stop);
                    let _ = services.input.send(TaskInput::Deliver { node: id, messages }).await;
                }
                Err(e) => tracing::error!(task = %services.task, query = %statement, "batch query failed: {e}"),
            }
        });
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_range_group_by_and_fill() {
        let g = crate::pipeline::build(
            "batch|query('''SELECT mean(\"v\") FROM \"db\".\"autogen\".\"cpu\" WHERE \"cpu\" = 'x' ''').period(5m).every(1m).groupBy(time(1m), 'host').fill(0)",
            &Default::default(),
        )
        .unwrap();
        let q = Query::build(&g.nodes[1]).unwrap();
        assert_eq!(
            q.statement(10, 20),
            "SELECT mean(\"v\") FROM \"db\".\"autogen\".\"cpu\" WHERE (\"cpu\" = 'x') AND time >= 10 AND time < 20 GROUP BY time(1m), \"host\" fill(0)"
        );
    }
}
