//! Statements that change the store against the reference server: management (databases,
//! policies, users, `INTO`, continuous queries, subscriptions, shards) and deletions, run step
//! by step on InfluxDB 1.6.7 and on influx-rs, each answer compared.

mod common;

use common::query_dataset::load_query_dataset;
use common::reference::{post, reference_or_skip};
use common::TestServer;

/// Statements that change the catalog, run in this order on both servers: every answer
/// (status and JSON, errors included) must match.
const MANAGEMENT: &[&str] = &[
    "SHOW SUBSCRIPTIONS",
    "CREATE DATABASE m",
    // WITH on a database that exists must describe its default policy.
    "CREATE DATABASE m WITH DURATION 2h",
    "CREATE DATABASE m WITH DURATION 2h NAME autogen",
    "CREATE DATABASE m WITH DURATION INF",
    "CREATE DATABASE m WITH REPLICATION 1",
    "CREATE DATABASE m WITH REPLICATION 2",
    "CREATE DATABASE m WITH NAME autogen",
    "CREATE DATABASE m WITH NAME other",
    "CREATE DATABASE m WITH SHARD DURATION 1d",
    "CREATE DATABASE m WITH DURATION INF REPLICATION 1 SHARD DURATION 7d NAME autogen",
    // Names that cannot be directories, in 1.x's words.
    "CREATE DATABASE \".\"",
    "CREATE DATABASE \"..\"",
    "CREATE DATABASE \"with/slash\"",
    "CREATE RETENTION POLICY \".\" ON m DURATION 1h REPLICATION 1",
    "SHOW SUBSCRIPTIONS",
    "CREATE SUBSCRIPTION s1 ON m.autogen DESTINATIONS ANY 'http://127.0.0.1:9', 'http://127.0.0.1:10'",
    "CREATE SUBSCRIPTION s1 ON m.autogen DESTINATIONS ALL 'http://127.0.0.1:9'",
    "CREATE SUBSCRIPTION s2 ON m.nope DESTINATIONS ALL 'http://127.0.0.1:9'",
    "CREATE SUBSCRIPTION s2 ON x.autogen DESTINATIONS ALL 'http://127.0.0.1:9'",
    "CREATE SUBSCRIPTION s3 ON m.autogen DESTINATIONS ALL 'ftp://x'",
    "CREATE SUBSCRIPTION \"kapacitor-1\" ON \"m\".\"autogen\" DESTINATIONS ALL 'udp://127.0.0.1:9100'",
    "SHOW SUBSCRIPTIONS",
    "DROP SUBSCRIPTION nope ON m.autogen",
    "DROP SUBSCRIPTION s1 ON m.autogen",
    "SHOW SUBSCRIPTIONS",
    "SHOW SHARDS",
    "SHOW MEASUREMENT EXACT CARDINALITY ON m",
    "WRITE cpu,host=a v=1 10\ncpu,host=b v=2 20\nmem v=1 30\ncpu,host=a v=3 700000000000000",
    "SHOW SHARDS",
    "SHOW SHARD GROUPS",
    "SHOW MEASUREMENT CARDINALITY ON m",
    "SHOW MEASUREMENT EXACT CARDINALITY ON m",
    "SHOW SERIES CARDINALITY ON m",
    "SHOW SERIES EXACT CARDINALITY ON m",
    "SHOW SERIES EXACT CARDINALITY ON m FROM cpu",
    "SHOW SERIES CARDINALITY ON m WHERE host = 'a'",
    "SHOW MEASUREMENT EXACT CARDINALITY ON m WHERE host = 'b'",
    "SHOW MEASUREMENT CARDINALITY ON m FROM /c|m/",
    "SHOW TAG KEY CARDINALITY ON m",
    "SHOW TAG KEY EXACT CARDINALITY ON m FROM cpu",
    "SHOW TAG VALUES CARDINALITY ON m WITH KEY = host",
    "SHOW TAG VALUES EXACT CARDINALITY ON m FROM cpu WITH KEY IN (host, region)",
    "SHOW FIELD KEY CARDINALITY ON m",
    "SHOW FIELD KEY EXACT CARDINALITY ON m FROM mem",
    "SHOW USERS",
    "SHOW CONTINUOUS QUERIES",
    "SHOW MEASUREMENTS ON m WITH MEASUREMENT =~ /^c/",
    "SHOW MEASUREMENTS ON m WITH MEASUREMENT = mem",
    "SHOW MEASUREMENTS ON m WITH MEASUREMENT =~ /nothing/",
    // The data is in the caches: what EXPLAIN counts is the same on both.
    "EXPLAIN SELECT v FROM m..cpu WHERE host = 'a'",
    // (1.6.7 lists the iterators of several calls in Go's random map order: one call here.)
    "EXPLAIN SELECT mean(v) * 2 FROM m..cpu, m..mem",
    "EXPLAIN SELECT count(v) FROM m..cpu WHERE time >= 0 AND time < 100 GROUP BY time(10ns)",
    "DROP SHARD 424242",
    "DROP SHARD 2",
    "SHOW SHARDS",
    "SELECT * FROM m..cpu",
    // SELECT INTO and continuous queries.
    "WRITE m2,host=a v=1 1000000000\nm2,host=a v=3 2000000000\nm2,host=b v=10 1000000000\nm2,host=b v=20 3000000000\nm2,host=b w=\"s\" 3000000000",
    "SELECT mean(v) INTO m.autogen.m_mean FROM m..m2 WHERE time < 10000000000 GROUP BY time(2s), host",
    "SELECT * FROM m..m_mean",
    "SELECT v, w INTO m..copy FROM m..m2",
    "SELECT * FROM m..copy",
    "SELECT max(v) AS top INTO m..m3 FROM m..m2",
    "SELECT * FROM m..m3",
    "SHOW FIELD KEYS FROM m..m3",
    // A whole mean is still a float: written as one (a continuous query's later windows
    // would otherwise conflict with it).
    "WRITE cqt v=1.5 0\ncqt v=2.5 1000000000\ncqt v=2.5 2000000000",
    "SELECT mean(v) INTO m..cqt_out FROM m..cqt WHERE time >= 0 AND time < 4s GROUP BY time(2s)",
    "SHOW FIELD KEYS FROM m..cqt_out",
    "SELECT * FROM m..cqt_out",
    "SELECT sum(mean) FROM (SELECT mean(v) FROM m..cqt WHERE time >= 0 AND time < 4s GROUP BY time(2s))",
    "SELECT count(v) INTO m..m4 FROM m..m2 WHERE time >= 0 AND time < 4000000000 GROUP BY time(1s)",
    "SELECT * FROM m..m4",
    // top/bottom write the tags named in their arguments back as tags; a tag beside them is
    // a field.
    "SELECT top(v, host, 2) INTO m..topped FROM m..m2",
    "SELECT * FROM m..topped",
    "SHOW TAG KEYS FROM m..topped",
    "SHOW FIELD KEYS FROM m..topped",
    "SELECT bottom(v, host, 2), w INTO m..bottomed FROM m..m2",
    "SELECT * FROM m..bottomed GROUP BY *",
    "SHOW TAG KEYS FROM m..bottomed",
    "SHOW FIELD KEYS FROM m..bottomed",
    // A name taken twice is numbered.
    "SELECT bottom(v, host, 1), host FROM m..m2 GROUP BY host",
    // ... and written under the name it was given: a field beside the tag of one key.
    "SELECT top(v, host, 1), host INTO m..topped2 FROM m..m2 GROUP BY host",
    "SHOW FIELD KEYS FROM m..topped2",
    "SHOW TAG KEYS FROM m..topped2",
    "SELECT * FROM m..topped2",
    "CREATE DATABASE m_copy",
    "SELECT * INTO m_copy.autogen.:MEASUREMENT FROM m../^m[0-9]$|^cpu$/ GROUP BY *",
    "SELECT max(v) INTO m_copy..:MEASUREMENT FROM m..cpu, m..m2 WHERE time >= 0 AND time < 4000000000 GROUP BY time(4s)",
    "SHOW MEASUREMENTS ON m_copy",
    "SELECT * FROM m_copy..m2",
    "SELECT * FROM m_copy..cpu",
    "SELECT * FROM m_copy..m3",
    // One measurement from two databases is one measurement, read from both.
    "SELECT * FROM m..m2, m_copy..m2",
    "SELECT mean(v), count(v) FROM m..m2, m_copy..m2 GROUP BY host",
    "SELECT count(v) FROM m..m2, m_copy..m2, m..m2",
    "DROP DATABASE m_copy",
    "SELECT v INTO nodb..x FROM m..m2",
    "SELECT nothing INTO m..y FROM m..m2",
    "CREATE CONTINUOUS QUERY cq1 ON m BEGIN SELECT mean(v) INTO m_1h FROM m2 GROUP BY time(1h) END",
    "CREATE CONTINUOUS QUERY \"cq 2\" ON m RESAMPLE EVERY 30m FOR 2h BEGIN SELECT max(v) AS mx, min(v) INTO m.autogen.m_30m FROM m..m2 WHERE host = 'a' GROUP BY time(30m), * fill(none) END",
    "CREATE CONTINUOUS QUERY cq1 ON m BEGIN SELECT mean(v) INTO m_1h FROM m2 GROUP BY time(1h) END",
    "CREATE CONTINUOUS QUERY cq1 ON m BEGIN SELECT max(v) INTO m_1h FROM m2 GROUP BY time(1h) END",
    "CREATE CONTINUOUS QUERY bad ON nodb BEGIN SELECT mean(v) INTO x FROM m GROUP BY time(1h) END",
    "SHOW CONTINUOUS QUERIES",
    "DROP CONTINUOUS QUERY nope ON m",
    "DROP CONTINUOUS QUERY cq1 ON m",
    "SHOW CONTINUOUS QUERIES",
    "DROP DATABASE m",
    "SHOW SUBSCRIPTIONS",
];

#[test]
fn management_statements_match_influxdb_1_6_7() {
    let Some(reference) = reference_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = TestServer::start(&dir.path().join("data"));
    let mismatches = run_steps([reference.port, ours.port], "m", None, MANAGEMENT);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Runs `steps` in order on both servers (`ports`: reference, ours): `WRITE <lines>` writes to
/// `write_db`, anything else is a query (with `db=query_db` when given). Returns the steps whose
/// answers (status and JSON) differ, with both answers.
fn run_steps(
    ports: [u16; 2],
    write_db: &str,
    query_db: Option<&str>,
    steps: &[&str],
) -> Vec<String> {
    let mut mismatches = Vec::new();
    for step in steps {
        let [want, got] = ports.map(|port| match step.strip_prefix("WRITE ") {
            Some(body) => post(port, "/write", &[("db", write_db)], body),
            None => {
                let mut params = vec![("q", *step)];
                params.extend(query_db.map(|db| ("db", db)));
                post(port, "/query", &params, "")
            }
        });
        let same = want.status == got.status
            && serde_json::from_str::<serde_json::Value>(&want.body).ok()
                == serde_json::from_str::<serde_json::Value>(&got.body).ok();
        if !same {
            mismatches.push(format!(
                "{step}\n  influxdb: {} {}\n  ours:     {} {}",
                want.status,
                want.body.trim(),
                got.status,
                got.body.trim()
            ));
        }
    }
    mismatches
}

/// Deletes, in this order on both servers over the query dataset in database `del`: every
/// answer must match. `WRITE <lines>` is a write.
const DELETES: &[&str] = &[
    "DELETE FROM cpu WHERE host = 'a' AND time < '2020-01-01T00:10:00Z'",
    "SELECT count(usage), first(usage) FROM cpu GROUP BY host",
    "DROP SERIES FROM cpu WHERE host = 'b'",
    "SHOW SERIES",
    "SELECT count(usage) FROM cpu GROUP BY host",
    "DROP MEASUREMENT mem",
    "SHOW MEASUREMENTS",
    "SHOW FIELD KEYS",
    "SHOW TAG VALUES WITH KEY = host",
    "DELETE WHERE region = 'us' AND time >= '2020-01-01T00:20:00Z'",
    "SELECT count(*) FROM cpu GROUP BY host",
    "SELECT last(usage) FROM cpu WHERE host = 'c'",
    "DROP SERIES WHERE time > 0",
    "DROP SERIES FROM nothing",
    "DROP MEASUREMENT nothing",
    "DELETE FROM /^c.u$/ WHERE host = 'zzz'",
    // A measurement dropped takes its field types with it.
    "WRITE mem,host=a used=\"text\" 1577836800000000000",
    "SELECT * FROM mem",
    "DELETE FROM cpu WHERE time < '2020-01-01T00:25:00Z'",
    "SELECT count(usage) FROM cpu GROUP BY host",
    "SHOW SERIES FROM cpu",
    "DELETE FROM cpu",
    "SHOW SERIES",
    "SELECT * FROM cpu",
];

#[test]
fn deletes_match_influxdb_1_6_7_and_survive_a_restart() {
    let Some(reference) = reference_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ours = TestServer::start(&dir.path().join("data"));
    load_query_dataset([reference.port, ours.port], "del");
    let mismatches = run_steps([reference.port, ours.port], "del", Some("del"), DELETES);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // Tombstones and the shrunk index are on disk: the answers hold after a restart.
    let checks = [
        "SELECT * FROM cpu",
        "SELECT * FROM mem",
        "SHOW MEASUREMENTS",
        "SHOW SERIES",
    ];
    let ask = |port: u16, q: &str| post(port, "/query", &[("db", "del"), ("q", q)], "").body;
    let before: Vec<String> = checks.iter().map(|q| ask(ours.port, q)).collect();
    ours.stop();
    let ours = TestServer::start(&dir.path().join("data"));
    for (q, want) in checks.iter().zip(before) {
        assert_eq!(ask(ours.port, q), want, "{q} after a restart");
    }
}
