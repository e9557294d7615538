//! `window()`: turns each group's stream of points into batches, by time (`period`, `every`,
//! `align`, `fillPeriod`) or by count (`periodCount`, `everyCount`). Emission is driven by the
//! points' times, as in Kapacitor: a group that stops receiving data stops emitting.

use super::{unknown, Node};
use crate::pipeline::{args, NodeDecl, PipelineError};
use crate::point::{Batch, GroupKey, Message, Point};
use std::collections::{HashMap, VecDeque};

/// The node.
pub struct Window {
    period: i64,
    every: i64,
    align: bool,
    fill_period: bool,
    period_count: usize,
    every_count: usize,
    groups: HashMap<GroupKey, Buffer>,
}

#[derive(Default)]
struct Buffer {
    points: VecDeque<Point>,
    next_emit: Option<i64>,
    since_emit: usize,
}

impl Window {
    /// Reads the properties; a window needs a period (or a period count).
    pub fn build(decl: &NodeDecl) -> Result<Self, PipelineError> {
        let mut w = Window {
            period: 0,
            every: 0,
            align: false,
            fill_period: false,
            period_count: 0,
            every_count: 0,
            groups: HashMap::new(),
        };
        for p in &decl.props {
            match p.name.as_str() {
                "period" => w.period = args::duration(p)?,
                "every" => w.every = args::duration(p)?,
                "align" => w.align = args::flag(p)?,
                "fillPeriod" => w.fill_period = args::flag(p)?,
                "periodCount" => w.period_count = usize::try_from(args::int(p)?).unwrap_or(0),
                "everyCount" => w.every_count = usize::try_from(args::int(p)?).unwrap_or(0),
                _ => return Err(unknown(decl, p)),
            }
        }
        if w.period <= 0 && w.period_count == 0 {
            return Err(PipelineError::at(
                decl.pos,
                "window must have either a period or a periodCount",
            ));
        }
        if w.period_count > 0 && w.every_count == 0 {
            w.every_count = w.period_count;
        }
        Ok(w)
    }

    fn next_after(&self, t: i64) -> i64 {
        if self.align && self.every > 0 {
            t - t.rem_euclid(self.every) + self.every
        } else {
            t + self.every
        }
    }

    fn batch(p: &Point, time: i64, points: Vec<Point>) -> Batch {
        Batch {
            name: p.name.clone(),
            group: p.group.clone(),
            dims: p.dims.clone(),
            tags: p.dims.select(&p.tags),
            time,
            points,
        }
    }

    fn by_count(&mut self, p: Point) -> Vec<Message> {
        let (period, every) = (self.period_count, self.every_count);
        let buf = self.groups.entry(p.group.clone()).or_default();
        buf.points.push_back(p.clone());
        while buf.points.len() > period {
            buf.points.pop_front();
        }
        buf.since_emit += 1;
        if buf.since_emit < every || (self.fill_period && buf.points.len() < period) {
            return Vec::new();
        }
        buf.since_emit = 0;
        let points: Vec<Point> = buf.points.iter().cloned().collect();
        vec![Message::Batch(Self::batch(&p, p.time, points))]
    }
}

impl Node for Window {
    fn process(&mut self, _: usize, msg: Message) -> Vec<Message> {
        let Message::Point(p) = msg else {
            return Vec::new();
        };
        if self.period_count > 0 {
            return self.by_count(p);
        }
        let (period, every) = (self.period, self.every);
        let first_emit = if self.fill_period {
            let start = if self.align && every > 0 {
                p.time - p.time.rem_euclid(every)
            } else {
                p.time
            };
            start + period
        } else {
            self.next_after(p.time)
        };
        let next_after = self.next_after(p.time);
        let buf = self.groups.entry(p.group.clone()).or_default();
        let mut out = Vec::new();
        if every == 0 {
            buf.points.push_back(p.clone());
            while buf
                .points
                .front()
                .is_some_and(|q| q.time <= p.time - period)
            {
                buf.points.pop_front();
            }
            out.push(Message::Batch(Self::batch(
                &p,
                p.time,
                buf.points.iter().cloned().collect(),
            )));
            return out;
        }
        let next = *buf.next_emit.get_or_insert(first_emit);
        if p.time >= next {
            let start = next - period;
            let points: Vec<Point> = buf
                .points
                .iter()
                .filter(|q| q.time >= start && q.time < next)
                .cloned()
                .collect();
            out.push(Message::Batch(Self::batch(&p, next, points)));
            buf.next_emit = Some(next_after);
        }
        buf.points.push_back(p);
        let keep_from = buf.next_emit.unwrap_or(next) - period;
        while buf.points.front().is_some_and(|q| q.time < keep_from) {
            buf.points.pop_front();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::build;
    use crate::point::FieldValue;
    use std::collections::BTreeMap;

    fn point(t: i64) -> Message {
        Message::Point(Point {
            name: "m".into(),
            db: String::new(),
            rp: String::new(),
            tags: BTreeMap::new(),
            fields: BTreeMap::from([("v".to_string(), FieldValue::Int(t))]),
            time: t * 1_000_000_000,
            group: GroupKey::default(),
            dims: Default::default(),
        })
    }

    fn window(props: &str) -> Window {
        let g = build(&format!("stream|window(){props}"), &Default::default()).unwrap();
        Window::build(&g.nodes[1]).unwrap()
    }

    fn times(out: Vec<Message>) -> Vec<(i64, Vec<i64>)> {
        out.into_iter()
            .map(|m| match m {
                Message::Batch(b) => (
                    b.time / 1_000_000_000,
                    b.points.iter().map(|p| p.time / 1_000_000_000).collect(),
                ),
                _ => panic!(),
            })
            .collect()
    }

    #[test]
    fn aligned_windows_emit_on_the_first_point_past_the_edge() {
        let mut w = window(".period(10s).every(10s).align()");
        let mut emitted = Vec::new();
        for t in [3, 7, 12, 15, 31] {
            emitted.extend(times(w.process(0, point(t))));
        }
        assert_eq!(emitted, vec![(10, vec![3, 7]), (20, vec![12, 15])]);
    }

    #[test]
    fn overlapping_windows() {
        let mut w = window(".period(10s).every(5s)");
        let mut emitted = Vec::new();
        for t in [0, 2, 6, 9, 12] {
            emitted.extend(times(w.process(0, point(t))));
        }
        // First emit at 0+5 when 6 arrives: [−5, 5); then at 6+5 = 11 when 12 arrives: [1, 11).
        assert_eq!(emitted, vec![(5, vec![0, 2]), (11, vec![2, 6, 9])]);
    }

    #[test]
    fn count_windows() {
        let mut w = window(".periodCount(3).everyCount(2)");
        let mut emitted = Vec::new();
        for t in 1..=6 {
            emitted.extend(times(w.process(0, point(t))));
        }
        assert_eq!(
            emitted,
            vec![(2, vec![1, 2]), (4, vec![2, 3, 4]), (6, vec![4, 5, 6])]
        );
    }
}
