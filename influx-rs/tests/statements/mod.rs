//! SELECT statements built from bytes, over subqueries and several measurements: what the
//! query-engine property test and the `select` fuzz target run. Every byte picks one piece
//! of a statement from lists of the shapes InfluxQL allows (and some it refuses), so short
//! inputs reach deep combinations: subqueries in subqueries, subqueries side by side, one
//! measurement from two databases, `f(*)` and `f(/re/)`, `sample` beside other calls, tags
//! passed down by the outer `GROUP BY`.

use influx_rs::config::DataConfig;
use influx_rs::storage::Engine;
use std::sync::OnceLock;

/// The store the statements run against, made once: [`dataset`] in a temporary directory.
pub(crate) fn store() -> &'static Engine {
    static STORE: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let engine = Engine::open(DataConfig {
                dir: dir.path().to_path_buf(),
                ..DataConfig::default()
            })
            .expect("engine opens");
            let (d, d2) = dataset();
            for (db, body) in [("d", d), ("d2", d2)] {
                engine
                    .create_database(db, None, Default::default())
                    .expect("database");
                let parsed = influx_rs::write::parse_body(
                    body.as_bytes(),
                    lineproto::Precision::Nanoseconds,
                    0,
                );
                assert!(parsed.parse_errors.is_empty(), "{:?}", parsed.parse_errors);
                engine.write(db, "", &parsed.points).expect("write");
            }
            (dir, engine)
        })
        .1
}

/// Line protocol loaded before the statements run: `d` has `cpu` (tags `host`, `region`;
/// fields of every type) and `mem`; `d2` has another `cpu`. Points are 10 s apart over
/// five minutes from time 0.
pub(crate) fn dataset() -> (String, String) {
    let mut d = String::new();
    let mut d2 = String::new();
    for i in 0..30i64 {
        let t = i * 10_000_000_000;
        for (h, region) in [("a", "eu"), ("b", "eu"), ("c", "us")] {
            let k = i * 7 + i64::from(h.as_bytes()[0]);
            d.push_str(&format!(
                "cpu,host={h},region={region} usage={}.5,count={}i,ok={},msg=\"m{}\" {t}\n",
                k % 50,
                k % 7,
                k % 2 == 0,
                k % 3
            ));
        }
        if i % 3 == 0 {
            d.push_str(&format!(
                "mem,host=a used={}i,free={}.25 {t}\n",
                100 + i,
                i % 9
            ));
            d2.push_str(&format!("cpu,host=z usage={}.75 {t}\n", i % 11));
        }
    }
    (d, d2)
}

/// Reads bytes one at a time; past the end, zeros.
struct Picks<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Picks<'_> {
    fn pick<'s>(&mut self, choices: &[&'s str]) -> &'s str {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        choices[usize::from(b) % choices.len()]
    }
}

const LISTS: &[&str] = &[
    "*",
    "usage",
    "usage, host",
    "usage * 2 + count",
    "mean(usage)",
    "mean(usage) AS m",
    "max(usage) AS m, host",
    "max(usage), min(count)",
    "count(*)",
    "mean(*)",
    "max(/u/)",
    "sample(usage, 3), count(count)",
    "sample(*, 2)",
    "top(usage, host, 2)",
    "bottom(usage, 2), region",
    "derivative(mean(usage), 1s)",
    "cumulative_sum(usage)",
    "elapsed(usage)",
    "mean(usage) + max(count)",
    "first(m), last(m)",
    "mean(m)",
    "m",
    "sum(msg)",
    "mode(msg)",
    "spread(ok)",
    "distinct(count)",
    "percentile(usage, 90), host",
    "moving_average(max(usage), 2)",
    "count(m), max(m) * 2",
];

const SOURCES: &[&str] = &[
    "cpu",
    "mem",
    "cpu, mem",
    "/c.u|mem/",
    "d..cpu, d2..cpu",
    "cpu, cpu",
    "(INNER)",
    "(INNER), (INNER)",
    "(INNER), mem",
];

const CONDITIONS: &[&str] = &[
    "",
    " WHERE host = 'a'",
    " WHERE usage > 10",
    " WHERE time >= 0 AND time < 2m",
    " WHERE host =~ /a|b/ AND time < 4m",
    " WHERE m > 10",
    " WHERE region != 'us' OR count > 3",
];

const GROUPINGS: &[&str] = &[
    "",
    " GROUP BY host",
    " GROUP BY *",
    " GROUP BY time(1m)",
    " GROUP BY time(1m), host",
    " GROUP BY /h/",
    " GROUP BY region",
];

const FILLS: &[&str] = &[
    "",
    " fill(0)",
    " fill(previous)",
    " fill(none)",
    " fill(linear)",
];

const ENDINGS: &[&str] = &[
    "",
    " ORDER BY time DESC",
    " LIMIT 2",
    " LIMIT 1 OFFSET 1",
    " SLIMIT 1",
    " ORDER BY time DESC LIMIT 3",
];

/// A `SELECT` statement picked by `bytes`, with subqueries nested at most `depth` deep.
pub(crate) fn select(bytes: &[u8], depth: usize) -> String {
    build(&mut Picks { bytes, at: 0 }, depth)
}

fn build(p: &mut Picks<'_>, depth: usize) -> String {
    let list = p.pick(LISTS);
    let mut from = p.pick(SOURCES).to_string();
    while from.contains("INNER") {
        let inner = if depth == 0 {
            "SELECT usage, count FROM cpu".to_string()
        } else {
            build(p, depth - 1)
        };
        from = from.replacen("INNER", &inner, 1);
    }
    let condition = p.pick(CONDITIONS);
    let grouping = p.pick(GROUPINGS);
    let fill = if grouping.contains("time(") {
        p.pick(FILLS)
    } else {
        ""
    };
    let ending = p.pick(ENDINGS);
    format!("SELECT {list} FROM {from}{condition}{grouping}{fill}{ending}")
}
