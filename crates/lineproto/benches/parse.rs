//! Parse throughput of `lineproto` side by side with `influxdb-line-protocol` (InfluxData's own
//! Rust parser) on the same TSBS-style cpu lines and on a mixed-type, escaped input.
//!
//! Run: `cargo bench -p lineproto --bench parse`; criterion prints MiB/s for both parsers.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// TSBS "cpu-only"-shaped lines: 10 tags, 10 integer fields, ns timestamps.
fn tsbs_lines(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let h = i % 100;
        s.push_str(&format!(
            "cpu,hostname=host_{h},region=us-east-1,datacenter=us-east-1a,rack={r},os=Ubuntu16.10,\
arch=x64,team=SF,service={sv},service_version=1,service_environment=production \
usage_user={a}i,usage_system={b}i,usage_idle={c}i,usage_nice={d}i,usage_iowait={e}i,usage_irq={f}i,\
usage_softirq={g}i,usage_steal={a}i,usage_guest={b}i,usage_guest_nice={c}i {t}\n",
            r = h % 37,
            sv = h % 20,
            a = i % 100,
            b = (i * 7) % 100,
            c = (i * 13) % 100,
            d = (i * 3) % 100,
            e = (i * 11) % 100,
            f = (i * 5) % 100,
            g = (i * 17) % 100,
            t = 1_451_606_400_000_000_000i64 + (i as i64 / 100) * 10_000_000_000,
        ));
    }
    s
}

/// Telegraf-like lines with floats, strings, booleans and escapes.
fn mixed_lines(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "disk,host=web\\ {i},path=/var/lib,fstype=ext4 free={}.25,used_percent={}.5,inodes={}i,\
ok=true,label=\"root \\\"fs\\\"\" {}\n",
            i * 3,
            i % 100,
            i * 11,
            1_600_000_000_000_000_000i64 + i as i64
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    for (name, input) in [
        ("tsbs-cpu", tsbs_lines(10_000)),
        ("mixed", mixed_lines(10_000)),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.bench_function("lineproto", |b| {
            b.iter(|| {
                let mut fields = 0usize;
                for line in lineproto::parse_lines(black_box(input.as_bytes())) {
                    fields += line.map(|l| l.fields.len()).unwrap_or(0);
                }
                assert!(fields > 0);
                fields
            })
        });
        group.bench_function("influxdb-line-protocol", |b| {
            b.iter(|| {
                let mut fields = 0usize;
                for line in influxdb_line_protocol::parse_lines(black_box(&input)) {
                    fields += line.map(|l| l.field_set.len()).unwrap_or(0);
                }
                assert!(fields > 0);
                fields
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
