//! The HTTP API of influx-rs as a client sees it: endpoints, headers, bodies and status codes
//! that the compatibility test cannot compare with InfluxDB 1.6.7 (v2 write, gzip, limits,
//! health, metrics, clean shutdown).

mod common;

use common::{rows, TestServer};
use std::io::Write;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

#[test]
fn ping_health_options_and_version_headers() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    let r = client().head(s.url("/ping")).send().unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["X-Influxdb-Version"], "1.8.10");
    assert_eq!(r.headers()["X-Influxdb-Build"], "OSS");
    let id = r.headers()["X-Request-Id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(r.headers()["Request-Id"].to_str().unwrap(), id);
    let r = client()
        .get(s.url("/ping"))
        .header("Request-Id", "mine")
        .send()
        .unwrap();
    assert_eq!(r.headers()["X-Request-Id"], "mine");
    let r = client().get(s.url("/ping?verbose=true")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().unwrap(), "{\"version\":\"1.8.10\"}\n");
    let health: serde_json::Value = client()
        .get(s.url("/health"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["status"], "pass");
    assert_eq!(health["name"], "influxdb");
    for path in ["/write", "/query", "/api/v2/write"] {
        let r = client()
            .request(reqwest::Method::OPTIONS, s.url(path))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 204, "{path}");
    }
    let r = client().get(s.url("/write?db=x")).send().unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[test]
fn gzip_bodies_and_body_limits() {
    let dir = tempfile::tempdir().unwrap();
    let s =
        TestServer::start_with_config(&dir.path().join("data"), "[http]\nmax-body-size = 200\n");
    s.query("", "CREATE DATABASE d");
    let body = b"m,host=a v=1 1\nm,host=b v=2 2\n";
    let r = client()
        .post(s.url("/write?db=d"))
        .header("Content-Encoding", "gzip")
        .body(gzip(body))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(rows(&s.query("d", "SELECT v FROM m")).len(), 2);

    // Over the limit, plain or once gunzipped: 413, InfluxDB's body, nothing written.
    let big = "m v=3 3\n".repeat(40);
    for (encoding, payload) in [
        (None, big.clone().into_bytes()),
        (Some("gzip"), gzip(big.as_bytes())),
    ] {
        let mut req = client().post(s.url("/write?db=d")).body(payload);
        if let Some(e) = encoding {
            req = req.header("Content-Encoding", e);
        }
        let r = req.send().unwrap();
        assert_eq!(r.status().as_u16(), 413, "{encoding:?}");
        assert_eq!(
            r.text().unwrap(),
            "{\"error\":\"Request Entity Too Large\"}\n"
        );
    }
    assert_eq!(rows(&s.query("d", "SELECT v FROM m")).len(), 2);

    // A body that is not gzip although it says so.
    let r = client()
        .post(s.url("/write?db=d"))
        .header("Content-Encoding", "gzip")
        .body("m v=1")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[test]
fn v2_write_with_buckets_and_precision() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    s.query("", "CREATE DATABASE d");
    s.query(
        "",
        "CREATE RETENTION POLICY week ON d DURATION 7d REPLICATION 1",
    );
    let write = |query: &str, body: &str| {
        let r = client()
            .post(s.url(&format!("/api/v2/write?org=ignored&{query}")))
            .header("Authorization", "Token user:password")
            .body(body.to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    assert_eq!(write("bucket=d", "m v=1 1").0, 204);
    assert_eq!(write("bucket=d/autogen&precision=s", "m v=2 2").0, 204);
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        write("bucket=d/week&precision=s", &format!("w v=3 {now_s}")).0,
        204
    );
    let got = rows(&s.query("d", "SELECT v FROM m"));
    assert_eq!(got.len(), 2);
    assert_eq!(got[1][0], 2_000_000_000i64);
    assert_eq!(rows(&s.query("d", "SELECT v FROM \"week\".w")).len(), 1);
    let (status, body) = write("bucket=d&precision=h", "m v=1 1");
    assert_eq!(status, 400);
    assert!(
        body.contains("invalid precision \\\"h\\\" (use ns, us, ms or s)"),
        "{body}"
    );
    assert_eq!(write("bucket=", "m v=1 1").0, 404);
    assert_eq!(write("bucket=nope", "m v=1 1").0, 404);
}

#[test]
fn databases_policies_metrics_and_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = TestServer::start(&data);
    s.query("", "CREATE DATABASE a WITH DURATION 2d NAME two");
    s.query("", "CREATE DATABASE b");
    assert_eq!(s.write("a", "m v=1").0, 204);
    let rp = s.query("", "SHOW RETENTION POLICIES ON a");
    assert_eq!(
        rp["results"][0]["series"][0]["values"][0],
        serde_json::json!(["two", "48h0m0s", "24h0m0s", 1, true])
    );
    s.query("", "DROP DATABASE b");
    let dbs = s.query("", "SHOW DATABASES");
    assert_eq!(
        dbs["results"][0]["series"][0]["values"],
        serde_json::json!([["a"]])
    );
    let metrics = client()
        .get(s.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("influxrs_write_requests_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("influxrs_points_written_total 1"),
        "{metrics}"
    );
    // SIGTERM: exit 0, and the data is there after a restart.
    s.stop();
    let s = TestServer::start(&data);
    assert_eq!(rows(&s.query("a", "SELECT v FROM m")).len(), 1);
    assert!(!data.join("b").exists());
}

#[test]
fn query_errors_in_influxdb_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    let r = client().get(s.url("/query")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().unwrap(),
        "{\"error\":\"missing required parameter \\\"q\\\"\"}\n"
    );
    let r = client().get(s.url("/query?q=SELECT")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r
        .text()
        .unwrap()
        .starts_with("{\"error\":\"error parsing query: found EOF, expected"));
    // A failing statement: its error in its result, the rest "not executed", status 200.
    let v = s.query("", "SHOW MEASUREMENTS ON nope; SHOW DATABASES");
    assert_eq!(v["results"][0]["error"], "database not found: nope");
    assert_eq!(v["results"][1]["error"], "not executed");
    let v = s.query("", "SHOW MEASUREMENTS");
    assert_eq!(v["results"][0]["error"], "database name required");
}

/// 200 series of 1,000 points: enough that reading them all takes a while, so a query can be
/// watched, killed or timed out in flight.
fn write_many_series(s: &TestServer) {
    s.query("", "CREATE DATABASE big");
    for batch in 0..4 {
        let mut body = String::new();
        for series in batch * 50..(batch + 1) * 50 {
            for t in 0..1000 {
                body.push_str(&format!(
                    "m,s=s{series} v={t}i,w={series}.5 {}\n",
                    t as i64 * 1_000_000_000
                ));
            }
        }
        let (status, text) = s.write_with("big", "ns", &body);
        assert_eq!(status, 204, "{text}");
    }
}

/// Reads every point of [`write_many_series`] on a thread of its own; its status and body.
fn start_heavy_query(s: &TestServer) -> std::thread::JoinHandle<(u16, String)> {
    let url = s.url("/query");
    std::thread::spawn(move || {
        client()
            .get(url)
            .query(&[
                ("db", "big"),
                ("q", "SELECT * FROM m WHERE v >= 0 AND w > 0"),
            ])
            .send()
            .map(|r| (r.status().as_u16(), r.text().unwrap_or_default()))
            .unwrap_or_default()
    })
}

#[test]
fn show_queries_and_kill_query() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    write_many_series(&s);
    let shown = s.query("", "SHOW QUERIES");
    let listed = rows(&shown);
    assert_eq!(listed.len(), 1, "{shown}");
    assert_eq!(listed[0][1], "SHOW QUERIES");
    assert_eq!(listed[0][4], "running");
    let unknown = s.query("", "KILL QUERY 999999");
    assert_eq!(
        unknown["results"][0]["error"], "no such query id: 999999",
        "{unknown}"
    );

    // A heavy query is listed while it runs, and KILL QUERY stops it. It may finish before it
    // is seen: a few attempts, each bounded.
    let mut interrupted = false;
    for _attempt in 0..5 {
        let heavy = start_heavy_query(&s);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut killed = false;
        while std::time::Instant::now() < deadline && !heavy.is_finished() {
            let listed = s.query("", "SHOW QUERIES");
            if let Some(row) = rows(&listed)
                .into_iter()
                .find(|r| r[1].as_str().is_some_and(|q| q.starts_with("SELECT")))
            {
                assert_eq!(row[2], "big");
                let qid = row[0].as_u64().unwrap();
                let answer = s.query("", &format!("KILL QUERY {qid}"));
                killed = answer["results"][0]["error"].is_null();
                break;
            }
        }
        let (_, body) = heavy.join().unwrap();
        if killed && body.contains("query interrupted") {
            interrupted = true;
            break;
        }
    }
    assert!(interrupted, "no attempt saw the query interrupted");
}

/// `chunked=true` answers stream: the first lines arrive while the query still runs (held
/// back by a client that does not read), and a client that goes away stops the query.
#[test]
fn chunked_answers_stream_and_stop_when_the_client_leaves() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    write_many_series(&s);
    // Five statements of 200 series x 1000 rows: tens of MB, far more than socket buffers.
    let q = ["SELECT * FROM m GROUP BY *"; 5].join("; ");
    let path = format!(
        "/query?db=big&chunked=true&chunk_size=100&q={}",
        q.replace(' ', "%20")
            .replace('*', "%2A")
            .replace(';', "%3B")
    );
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while !line.starts_with("{\"results\"") {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "no first line");
    }
    assert!(line.contains("\"partial\":true"), "{line}");
    let selects_listed = || {
        rows(&s.query("", "SHOW QUERIES"))
            .iter()
            .filter(|r| r[1].as_str().is_some_and(|q| q.starts_with("SELECT")))
            .count()
    };
    assert_eq!(
        selects_listed(),
        1,
        "the query runs on after its first line"
    );
    drop(reader);
    drop(stream);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while selects_listed() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the query went on after its client left"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// EXPLAIN counts the blocks a query would decode from column files; EXPLAIN ANALYZE runs
/// it; SHOW STATS and SHOW DIAGNOSTICS list the server's modules; DROP SHARD removes data.
#[test]
fn explain_stats_diagnostics_and_drop_shard() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = TestServer::start(&data);
    s.query("", "CREATE DATABASE d");
    let (status, _) = s.write_with(
        "d",
        "s",
        "m,h=a v=1,w=1i 10\nm,h=b v=2,w=2i 20\nm,h=a v=3 30\n",
    );
    assert_eq!(status, 204);
    // A clean stop writes the caches to column files.
    s.stop();
    let s = TestServer::start_on(&data, s.port);
    let plan = s.query("d", "EXPLAIN SELECT max(v), w FROM m");
    let lines: Vec<String> = rows(&plan)
        .iter()
        .map(|r| r[0].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        lines[..4],
        [
            "EXPRESSION: max(v::float)",
            "AUXILIARY FIELDS: w::integer",
            "NUMBER OF SHARDS: 1",
            "NUMBER OF SERIES: 2"
        ],
        "{plan}"
    );
    assert_eq!(lines[4], "CACHED VALUES: 0", "{plan}");
    let blocks: u64 = lines[6]
        .trim_start_matches("NUMBER OF BLOCKS: ")
        .parse()
        .unwrap();
    assert!(blocks >= 3, "{plan}");

    let analysis = s.query("d", "EXPLAIN ANALYZE SELECT mean(v) FROM m GROUP BY h");
    let tree: Vec<String> = rows(&analysis)
        .iter()
        .map(|r| r[0].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(tree[..2], [".", "└── select"], "{analysis}");
    assert!(
        tree.iter()
            .any(|l| l.ends_with("statement: SELECT mean(v) FROM d.autogen.m GROUP BY h")),
        "{analysis}"
    );
    assert!(
        tree.iter().any(|l| l.ends_with("float_blocks_decoded: 2")),
        "{analysis}"
    );

    let stats = s.query("", "SHOW STATS");
    let modules: Vec<&str> = stats["results"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    for module in ["database", "httpd", "queryExecutor", "shard", "subscriber"] {
        assert!(modules.contains(&module), "{module}: {stats}");
    }
    let database = s.query("", "SHOW STATS FOR 'database'");
    assert_eq!(
        database["results"][0]["series"][0]["tags"]["database"], "d",
        "{database}"
    );
    assert_eq!(
        rows(&database),
        [[serde_json::json!(1), serde_json::json!(2)]]
    );
    let system = s.query("", "SHOW DIAGNOSTICS FOR 'system'");
    assert_eq!(
        system["results"][0]["series"][0]["columns"],
        serde_json::json!(["PID", "currentTime", "started", "uptime"]),
        "{system}"
    );

    let shards = s.query("", "SHOW SHARDS");
    let id = shards["results"][0]["series"][0]["values"][0][0]
        .as_u64()
        .unwrap();
    let dropped = s.query("", &format!("DROP SHARD {id}"));
    assert_eq!(
        dropped["results"][0]["error"],
        serde_json::Value::Null,
        "{dropped}"
    );
    assert!(rows(&s.query("d", "SELECT * FROM m")).is_empty());
}

#[test]
fn query_timeout_and_max_concurrent_queries() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with_config(
        &dir.path().join("data"),
        "[coordinator]\nquery-timeout = \"1ms\"\n",
    );
    write_many_series(&s);
    let answer = s.query("big", "SELECT * FROM m");
    assert_eq!(
        answer["results"][0]["error"], "query-timeout limit exceeded",
        "{answer}"
    );
    drop(s);

    // With room for one query, SHOW QUERIES itself fills it: a second query at the same time
    // is refused. The registry empties when a query ends.
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with_config(
        &dir.path().join("data"),
        "[coordinator]\nmax-concurrent-queries = 1\n",
    );
    write_many_series(&s);
    let mut refused = false;
    for _attempt in 0..10 {
        let heavy = start_heavy_query(&s);
        while !heavy.is_finished() {
            // Probing leaves gaps, so that the heavy query gets the slot first.
            std::thread::sleep(std::time::Duration::from_millis(5));
            let other = s.query("", "SHOW DATABASES");
            if other["results"][0]["error"] == "max-concurrent-queries limit exceeded(1, 1)" {
                refused = true;
                break;
            }
        }
        assert_eq!(heavy.join().unwrap().0, 200);
        if refused {
            break;
        }
    }
    assert!(refused, "the second query was never refused");
    assert!(s.query("", "SHOW DATABASES")["results"][0]["error"].is_null());
}

#[test]
fn continuous_queries_run_at_each_interval() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&dir.path().join("data"));
    s.query("", "CREATE DATABASE cq");
    let created = s.query(
        "",
        "CREATE CONTINUOUS QUERY per_second ON cq BEGIN SELECT count(v) AS n, max(v) AS top INTO cq.autogen.per_second FROM m GROUP BY time(1s), host END",
    );
    assert!(created["results"][0]["error"].is_null(), "{created}");
    // Points now and then for a few seconds; each completed second is summarized.
    let mut arrived = false;
    for i in 0..80 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let (status, text) = s.write_with("cq", "ns", &format!("m,host=h v={i}i {now}"));
        assert_eq!(status, 204, "{text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let summary = s.query(
            "cq",
            "SELECT sum(n), max(top) FROM per_second GROUP BY host",
        );
        if rows(&summary)
            .first()
            .is_some_and(|r| r[1].as_i64().unwrap_or(0) >= 5)
        {
            assert_eq!(summary["results"][0]["series"][0]["tags"]["host"], "h");
            arrived = true;
            break;
        }
    }
    assert!(arrived, "the continuous query wrote nothing:\n{}", s.log());
    // Dropped, it stops.
    let dropped = s.query("", "DROP CONTINUOUS QUERY per_second ON cq");
    assert!(dropped["results"][0]["error"].is_null(), "{dropped}");
    let listed = s.query("", "SHOW CONTINUOUS QUERIES");
    assert!(!listed.to_string().contains("per_second"), "{listed}");
}

/// The first error of a query's answer.
fn first_error(answer: &serde_json::Value) -> String {
    answer["results"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `[coordinator]` limits end a SELECT with InfluxDB's error instead of truncating it, and a
/// `GROUP BY time(1ns)` over many series is stopped before its windows take the machine's
/// memory (the default `query-memory-limit`).
#[test]
fn select_limits_stop_queries_with_influxdb_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with_config(
        &dir.path().join("limited"),
        "[coordinator]\nmax-select-point = 25\nmax-select-series = 5\nmax-select-buckets = 100\n",
    );
    s.query("", "CREATE DATABASE db");
    let body: String = (0..10)
        .flat_map(|series| {
            (0..4i64).map(move |i| format!("m,s={series} v={i} {}\n", i * 1_000_000_000))
        })
        .collect();
    assert_eq!(s.write("db", &body).0, 204);
    let cases = [
        ("SELECT v FROM m WHERE s =~ /^[0-3]$/", None),
        (
            "SELECT v FROM m",
            Some("max-select-series limit exceeded: (6/5)"),
        ),
        ("SELECT v FROM m WHERE s =~ /^[0-4]$/ AND v >= 0", None),
        (
            "SELECT count(v) FROM m WHERE time >= 0 AND time < 200s GROUP BY time(1s)",
            Some("max-select-buckets limit exceeded: (200/100)"),
        ),
        (
            "SELECT count(v) FROM m WHERE time >= 0 AND time < 100s GROUP BY time(1s), s",
            Some("max-select-series limit exceeded: (6/5)"),
        ),
    ];
    for (q, want) in cases {
        let answer = s.query("db", q);
        assert_eq!(
            first_error(&answer).as_str(),
            want.unwrap_or(""),
            "{q}: {answer}"
        );
    }
    let points = TestServer::start_with_config(
        &dir.path().join("points"),
        "[coordinator]\nmax-select-point = 25\n",
    );
    points.query("", "CREATE DATABASE db");
    assert_eq!(points.write("db", &body).0, 204);
    let answer = points.query("db", "SELECT v FROM m");
    assert_eq!(
        first_error(&answer),
        "max-select-point limit exceeded: (28/25)"
    );

    // Defaults: no InfluxDB limit, but the memory of the windows is bounded.
    let d = TestServer::start(&dir.path().join("defaults"));
    d.query("", "CREATE DATABASE db");
    assert_eq!(d.write("db", &body).0, 204);
    let answer = d.query(
        "db",
        "SELECT count(v) FROM m WHERE time >= 0 AND time < 4s GROUP BY time(1ns), s",
    );
    let error = first_error(&answer);
    assert!(error.starts_with("query-memory-limit exceeded"), "{answer}");
    let r = client().get(d.url("/ping")).send().unwrap();
    assert_eq!(r.status().as_u16(), 204);
    // Within the budget the same shape of query answers, with every window.
    let answer = d.query(
        "db",
        "SELECT count(v) FROM m WHERE time >= 0 AND time < 4s GROUP BY time(1ms), s",
    );
    assert_eq!(first_error(&answer), "", "{answer}");
    assert_eq!(
        answer["results"][0]["series"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(
        answer["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(4000)
    );

    // Rows of an answer held whole count too (about 96 bytes a cell): 40 rows of 2 columns
    // pass a 5,000-byte budget, so the SELECT ends with the limit's error, also as a
    // subquery; with a LIMIT it fits, and a chunked answer holds few rows at a time.
    let m = TestServer::start_with_config(
        &dir.path().join("memory"),
        "[coordinator]\nquery-memory-limit = 5000\n",
    );
    m.query("", "CREATE DATABASE db");
    assert_eq!(m.write("db", &body).0, 204);
    for q in ["SELECT v FROM m", "SELECT count(v) FROM (SELECT v FROM m)"] {
        let answer = m.query("db", q);
        assert!(
            first_error(&answer).starts_with("query-memory-limit exceeded"),
            "{q}: {answer}"
        );
    }
    let answer = m.query("db", "SELECT v FROM m LIMIT 10");
    assert_eq!(first_error(&answer), "", "{answer}");
    let chunked = client()
        .get(m.url("/query"))
        .query(&[("db", "db"), ("q", "SELECT v FROM m"), ("chunked", "true")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let rows: usize = chunked
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|l| {
            l["results"][0]["series"][0]["values"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    assert_eq!(rows, 40, "{chunked}");
}
