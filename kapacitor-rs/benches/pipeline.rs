//! Points per second through task pipelines on one core: a `where → alert` task (the target:
//! ≥ 1,000,000 points/s) and `window → mean → alert`.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kapacitor_rs::pipeline::build;
use kapacitor_rs::point::{Dimensions, FieldValue, GroupKey, Point};
use kapacitor_rs::runner::TaskRunner;
use kapacitor_rs::services::Services;
use std::collections::BTreeMap;

const POINTS: usize = 100_000;

fn points() -> Vec<Point> {
    (0..POINTS)
        .map(|i| Point {
            name: "cpu".into(),
            db: "telegraf".into(),
            rp: "autogen".into(),
            tags: BTreeMap::from([
                ("host".to_string(), format!("host{}", i % 100)),
                ("cpu".to_string(), "cpu-total".to_string()),
            ]),
            fields: BTreeMap::from([(
                "usage_idle".to_string(),
                FieldValue::Float(50.0 + (i % 40) as f64),
            )]),
            time: i as i64 * 10_000_000,
            group: GroupKey::default(),
            dims: Dimensions::default(),
        })
        .collect()
}

fn runner(script: &str, rt: &tokio::runtime::Runtime) -> TaskRunner {
    let (handlers, rx) = tokio::sync::mpsc::channel(1_000_000);
    std::mem::forget(rx);
    let (input, _) = tokio::sync::mpsc::channel(1);
    let dir = std::env::temp_dir();
    let services = Services {
        task: "bench".into(),
        hostname: "bench".into(),
        store: influx_client::ClientBuilder::new(["http://127.0.0.1:1"])
            .build()
            .expect("a client of a loopback URL"),
        handlers,
        http_out: Default::default(),
        input,
        state_dir: dir,
        runtime: rt.handle().clone(),
        history: None,
        events: Default::default(),
        global_handlers: Vec::new(),
        sandbox: Default::default(),
    };
    let graph = build(script, &Default::default()).expect("script");
    TaskRunner::new(&graph, &services).expect("nodes")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let data = points();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.sample_size(10);
    for (name, script) in [
        ("where_alert", "stream|from().measurement('cpu').groupBy('host')|where(lambda: \"cpu\" == 'cpu-total')|alert().crit(lambda: \"usage_idle\" < 10.0).stateChangesOnly()"),
        ("window_mean_alert", "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('usage_idle')|alert().crit(lambda: \"mean\" < 10.0)"),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(|| runner(script, &rt), |mut r| r.push_points(&data), BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
