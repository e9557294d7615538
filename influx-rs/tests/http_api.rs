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
