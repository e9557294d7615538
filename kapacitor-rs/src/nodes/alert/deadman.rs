//! `deadman()`: an alert raised when a group's throughput falls below a threshold over an
//! interval, checked on the clock as well as on data.

use super::AlertNode;
use crate::alert::Level;
use crate::lambda::Lambda;
use crate::nodes::{constructor, Node};
use crate::pipeline::{Arg, NodeDecl, PipelineError};
use crate::point::{FieldValue, GroupKey, Message, Point};
use crate::services::Services;
use crate::template::{go_duration, Template};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `deadman(threshold, interval[, lambda…])`: counts the points of each group per interval
/// (wall clock) and alerts CRITICAL when the count is at or below the threshold.
pub struct Deadman {
    alert: AlertNode,
    threshold: f64,
    interval: i64,
    extra: Vec<Arc<Lambda>>,
    counts: BTreeMap<GroupKey, (Point, u64)>,
    next_tick: Option<i64>,
    seeded: bool,
}

/// Builds a deadman node; `id` and `message` default to Kapacitor's, with `NODE_NAME` and
/// `INTERVAL` filled in.
pub fn deadman(decl: &NodeDecl, services: &Services) -> Result<Deadman, PipelineError> {
    let c = constructor(decl);
    let (threshold, interval, extra) = match c.args.as_slice() {
        [t, Arg::Value(crate::lambda::Value::Duration(i)), rest @ ..] => {
            let threshold = match t {
                Arg::Value(crate::lambda::Value::Float(f)) => *f,
                Arg::Value(crate::lambda::Value::Int(i)) => *i as f64,
                _ => {
                    return Err(PipelineError::at(
                        decl.pos,
                        "deadman threshold must be a number",
                    ))
                }
            };
            let extra = rest
                .iter()
                .map(|a| match a {
                    Arg::Lambda(l) => Ok(l.clone()),
                    _ => Err(PipelineError::at(
                        decl.pos,
                        "deadman takes lambdas after the interval",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            (threshold, *i, extra)
        }
        _ => {
            return Err(PipelineError::at(
                decl.pos,
                "deadman takes a threshold and an interval",
            ))
        }
    };
    let mut alert = AlertNode::build(
        &NodeDecl {
            props: Vec::new(),
            ..decl.clone()
        },
        services,
    )?;
    let watched = decl
        .parents
        .first()
        .map(|p| format!("node{p}"))
        .unwrap_or_default();
    let interval_text = go_duration(interval);
    let fill = |t: &str| {
        t.replace("NODE_NAME", &watched)
            .replace("INTERVAL", &interval_text)
    };
    alert.id = Template::parse(
        &fill("{{ .Group }}:NODE_NAME for task '{{ .TaskName }}'"),
        false,
    )
    .map_err(|e| PipelineError::at(decl.pos, e.to_string()))?;
    alert.message = Template::parse(
        &fill("{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL."),
        false,
    )
    .map_err(|e| PipelineError::at(decl.pos, e.to_string()))?;
    for p in &decl.props {
        alert.property(decl, p)?;
    }
    Ok(Deadman {
        alert,
        threshold,
        interval: interval.max(1),
        extra,
        counts: BTreeMap::new(),
        next_tick: None,
        seeded: false,
    })
}

impl Node for Deadman {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let points = match msg {
            Message::Point(p) => vec![p],
            Message::Batch(b) => b.points,
        };
        for p in points {
            if !p.group.0.is_empty()
                && self
                    .counts
                    .get(&GroupKey::default())
                    .is_some_and(|(_, n)| *n == 0)
            {
                self.counts.remove(&GroupKey::default());
            }
            let entry = self
                .counts
                .entry(p.group.clone())
                .or_insert_with(|| (p.clone(), 0));
            entry.0 = p;
            entry.1 += 1;
        }
        Vec::new()
    }

    fn tick(&mut self, now: i64) -> Vec<Message> {
        if !self.seeded {
            // An ungrouped stream that never delivers anything is dead too.
            self.seeded = true;
            let empty = Point {
                name: String::new(),
                db: String::new(),
                rp: String::new(),
                tags: BTreeMap::new(),
                fields: BTreeMap::new(),
                time: now,
                group: GroupKey::default(),
                dims: Default::default(),
            };
            self.counts.entry(GroupKey::default()).or_insert((empty, 0));
        }
        let next = *self
            .next_tick
            .get_or_insert(now - now.rem_euclid(self.interval) + self.interval);
        if now < next {
            return Vec::new();
        }
        self.next_tick = Some(now - now.rem_euclid(self.interval) + self.interval);
        let mut out = Vec::new();
        let groups: Vec<GroupKey> = self.counts.keys().cloned().collect();
        for g in groups {
            let Some((last, count)) = self.counts.get_mut(&g) else {
                continue;
            };
            let emitted = *count as f64;
            *count = 0;
            let mut p = last.clone();
            p.time = now;
            p.tags = p.dims.select(&p.tags);
            p.fields = BTreeMap::from([("emitted".to_string(), FieldValue::Float(emitted))]);
            let dead =
                emitted <= self.threshold && self.extra.iter().all(|l| l.test(&p).unwrap_or(false));
            let level = if dead { Level::Critical } else { Level::Ok };
            let id = self.alert.id_of(&p.name, &p.group, &p.tags);
            let msg = Message::Point(p.clone());
            if let Some(event) = self.alert.handle(id, &msg, level, &p) {
                let event = Arc::new(event);
                self.alert.emit(&event);
                out.push(Message::Point(self.alert.annotate(p, &event)));
            }
        }
        out
    }

    fn stats(&self) -> Vec<(&'static str, i64)> {
        self.alert.stats()
    }
}
