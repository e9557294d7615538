//! A running task: its nodes, the edges between them, counters per node, and the loop that
//! feeds it written points, query results and clock ticks.

use crate::nodes::{self, Node};
use crate::pipeline::{Graph, PipelineError};
use crate::point::{Message, Point};
use crate::services::{Services, TaskInput};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    collected: i64,
    emitted: i64,
}

/// The nodes of one task, ready to process.
pub struct TaskRunner {
    names: Vec<String>,
    nodes: Vec<Box<dyn Node>>,
    /// For each node: its children and which input of the child it feeds.
    children: Vec<Vec<(usize, usize)>>,
    counters: Vec<Counters>,
}

impl TaskRunner {
    /// Builds every node of `graph`; the first error is the task's error.
    pub fn new(graph: &Graph, services: &Services) -> Result<Self, PipelineError> {
        let mut nodes = Vec::with_capacity(graph.nodes.len());
        let mut children = vec![Vec::new(); graph.nodes.len()];
        for decl in &graph.nodes {
            nodes.push(nodes::build(decl, services)?);
            for (input, parent) in decl.parents.iter().enumerate() {
                children[*parent].push((decl.id, input));
            }
        }
        Ok(TaskRunner {
            names: graph.nodes.iter().map(|n| n.name.clone()).collect(),
            counters: vec![Counters::default(); nodes.len()],
            nodes,
            children,
        })
    }

    /// Feeds points to the root.
    pub fn push_points(&mut self, points: &[Point]) {
        for p in points {
            self.run(0, 0, Message::Point(p.clone()));
        }
    }

    /// Passes what node `from` produced to its children.
    pub fn deliver(&mut self, from: usize, messages: Vec<Message>) {
        self.counters[from].emitted += messages.len() as i64;
        for m in messages {
            for (child, input) in self.children[from].clone() {
                self.run(child, input, m.clone());
            }
        }
    }

    /// Lets time-driven nodes act.
    pub fn tick(&mut self, now: i64) {
        for id in 0..self.nodes.len() {
            let out = self.nodes[id].tick(now);
            if !out.is_empty() {
                self.deliver(id, out);
            }
        }
    }

    fn run(&mut self, node: usize, input: usize, msg: Message) {
        let mut stack = vec![(node, input, msg)];
        while let Some((id, input, msg)) = stack.pop() {
            self.counters[id].collected += 1;
            let out = self.nodes[id].process(input, msg);
            self.counters[id].emitted += out.len() as i64;
            let children = &self.children[id];
            for m in out.into_iter().rev() {
                // Children run in order: the first is pushed last and gets the message itself.
                if let Some((&(first, first_input), rest)) = children.split_first() {
                    for &(child, child_input) in rest.iter().rev() {
                        stack.push((child, child_input, m.clone()));
                    }
                    stack.push((first, first_input, m));
                }
            }
        }
    }

    /// `node-stats` as Kapacitor shows them.
    pub fn stats(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (i, name) in self.names.iter().enumerate() {
            let mut s = serde_json::json!({
                "collected": self.counters[i].collected,
                "emitted": self.counters[i].emitted,
                "errors": 0,
            });
            for (k, v) in self.nodes[i].stats() {
                s[k] = v.into();
            }
            map.insert(name.clone(), s);
        }
        serde_json::Value::Object(map)
    }
}

/// Shared view of a running task's counters.
pub type SharedStats = Arc<Mutex<serde_json::Value>>;

/// Runs `runner` until `input` closes: points and deliveries as they come, ticks every second.
pub async fn run(mut runner: TaskRunner, mut input: mpsc::Receiver<TaskInput>, stats: SharedStats) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            msg = input.recv() => match msg {
                Some(TaskInput::Points(points)) => runner.push_points(&points),
                Some(TaskInput::Deliver { node, messages }) => runner.deliver(node, messages),
                None => break,
            },
            _ = ticker.tick() => {
                runner.tick(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0));
                *stats.lock().unwrap_or_else(PoisonError::into_inner) = runner.stats();
            }
        }
    }
    *stats.lock().unwrap_or_else(PoisonError::into_inner) = runner.stats();
}
