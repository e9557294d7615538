//! Authentication compared with the reference server (InfluxDB 1.6.7): a sequence of users,
//! grants and requests answered alike, JWT bearer tokens, and the `Token user:password`
//! credentials of v2 writes.

mod common;

use common::reference::reference_with_http_or_skip;
use common::TestServer;

/// One request of the authentication sequence: who sends it, how, and what.
struct AuthStep {
    /// `GET /query`, `POST /query`, `POST /write?db=…`, `GET /ping`, …
    method: &'static str,
    path: &'static str,
    /// How credentials travel: `basic:u:p`, `params:u:p`, `token:u:p`, `u-only:u`,
    /// `bearer:<JWT>`, or `none`.
    auth: &'static str,
    /// `q` for queries, the body for writes.
    payload: &'static str,
}

const fn step(
    method: &'static str,
    path: &'static str,
    auth: &'static str,
    payload: &'static str,
) -> AuthStep {
    AuthStep {
        method,
        path,
        auth,
        payload,
    }
}

/// Users, grants, and who may do what, from the bootstrap of the first admin on.
const AUTH_SEQUENCE: &[AuthStep] = &[
    step("GET", "/query", "none", "SHOW DATABASES"),
    step("POST", "/query", "none", "CREATE DATABASE early"),
    step("POST", "/write?db=early", "none", "m v=1"),
    step("POST", "/query", "none", "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES"),
    step("GET", "/query", "none", "SHOW DATABASES"),
    step("GET", "/query", "basic:admin:bad", "SHOW DATABASES"),
    step("GET", "/query", "basic::pw", "SHOW DATABASES"),
    step("GET", "/query", "u-only:admin", "SHOW DATABASES"),
    // No shared-secret: bearer tokens are refused, however they look.
    step("GET", "/query", "bearer:a.b.c", "SHOW DATABASES"),
    step("GET", "/query", "params:nobody:pw", "SHOW DATABASES"),
    step("GET", "/ping", "none", ""),
    step("POST", "/write?db=db1", "none", "m v=1"),
    step("POST", "/query", "basic:admin:pw", "CREATE DATABASE db1; CREATE DATABASE db2; CREATE DATABASE db3; CREATE USER bob WITH PASSWORD 'x'; GRANT READ ON db1 TO bob; GRANT WRITE ON db2 TO bob; CREATE USER bob WITH PASSWORD 'x'; CREATE USER bob WITH PASSWORD 'y'"),
    step("GET", "/query", "params:admin:pw", "SHOW USERS; SHOW GRANTS FOR bob; SHOW GRANTS FOR nobody"),
    step("GET", "/query", "basic:bob:x", "SHOW DATABASES"),
    step("GET", "/query", "params:bob:x", "SELECT * FROM db2..cpu"),
    step("GET", "/query?db=db1", "basic:bob:x", "SELECT * FROM cpu; SELECT * FROM db2..cpu"),
    step("GET", "/query?db=db1", "basic:bob:x", "SHOW MEASUREMENTS; SHOW TAG KEYS; SHOW RETENTION POLICIES"),
    step("POST", "/query", "basic:bob:x", "CREATE DATABASE x"),
    step("GET", "/query", "basic:bob:x", "SHOW USERS"),
    step("POST", "/query", "basic:bob:x", "SET PASSWORD FOR bob = 'z'"),
    step("POST", "/query", "basic:bob:x", "CREATE USER eve WITH PASSWORD 'e' WITH ALL PRIVILEGES"),
    step("POST", "/write?db=db1", "basic:bob:x", "m v=1 1000000000"),
    step("POST", "/write?db=db2", "basic:bob:x", "m v=1 1000000000"),
    step("POST", "/write?db=db2", "basic:bob:wrong", "m v=1 2000000000"),
    step("POST", "/write?db=db2", "params:bob:x", "m v=2 2000000000"),
    // Deletes need WRITE on the request's database; DROP MEASUREMENT needs admin.
    step("POST", "/query?db=db1", "basic:bob:x", "DELETE FROM m WHERE time < 0"),
    step("POST", "/query?db=db2", "basic:bob:x", "DELETE FROM m WHERE time < 0; DROP SERIES FROM nothing"),
    step("POST", "/query?db=db2", "basic:bob:x", "DROP MEASUREMENT nothing"),
    // A select needs READ on every database it reads, subqueries included, and WRITE on its
    // INTO database.
    step("POST", "/query?db=db1", "basic:bob:x", "SELECT * INTO db2..x FROM m"),
    step("POST", "/query?db=db1", "basic:bob:x", "SELECT * INTO db1..x FROM m"),
    step("GET", "/query?db=db1", "basic:bob:x", "SELECT * FROM (SELECT * FROM db3..m)"),
    step("GET", "/query?db=db1", "basic:bob:x", "SELECT * FROM m, db2..m"),
    step("POST", "/query", "basic:admin:pw", "REVOKE READ ON db2 FROM bob; GRANT ALL ON db3 TO bob; REVOKE WRITE ON db3 FROM bob; SHOW GRANTS FOR bob"),
    step("POST", "/query", "basic:admin:pw", "DROP USER nobody"),
    step("POST", "/query", "basic:admin:pw", "GRANT READ ON nodb TO bob"),
    step("POST", "/query", "basic:admin:pw", "GRANT READ ON db1 TO nobody"),
    step("POST", "/query", "basic:admin:pw", "SET PASSWORD FOR nobody = 'x'"),
    step("POST", "/query", "basic:admin:pw", "CREATE USER \"\" WITH PASSWORD 'x'"),
    step("POST", "/query", "basic:admin:pw", "SET PASSWORD FOR bob = 'new'"),
    step("GET", "/query", "basic:bob:x", "SHOW DATABASES"),
    step("GET", "/query", "basic:bob:new", "SHOW DATABASES"),
    step("POST", "/query", "basic:admin:pw", "CREATE USER w WITH PASSWORD 'w'; GRANT ALL TO w; SHOW USERS; REVOKE ALL PRIVILEGES FROM w; SHOW USERS"),
    step("GET", "/query", "basic:w:w", "SHOW DATABASES"),
    step("GET", "/query?db=db2", "basic:admin:pw", "SELECT * FROM m"),
];

fn send_auth_step(port: u16, s: &AuthStep) -> (u16, String, bool) {
    let client = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}{}", s.path);
    let mut req = if s.method == "GET" {
        client.get(&url)
    } else {
        client.post(&url)
    };
    if s.path.starts_with("/query") {
        req = req.query(&[("q", s.payload)]);
    } else {
        req = req.body(s.payload.to_string());
    }
    let parts: Vec<&str> = s.auth.splitn(3, ':').collect();
    req = match parts.as_slice() {
        ["basic", u, p] => req.basic_auth(u, Some(p)),
        ["params", u, p] => req.query(&[("u", *u), ("p", *p)]),
        ["token", u, p] => req.header("Authorization", format!("Token {u}:{p}")),
        ["u-only", u] => req.query(&[("u", *u)]),
        ["bearer", token] => req.header("Authorization", format!("Bearer {token}")),
        _ => req,
    };
    let r = req.send().expect("request");
    let asks_for_auth = r.headers().contains_key("www-authenticate");
    (
        r.status().as_u16(),
        r.text().unwrap_or_default(),
        asks_for_auth,
    )
}

/// The answer with each series' rows sorted: 1.6.7 lists grants in Go's random map order.
fn rows_in_any_order(body: &str) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_str(body).ok()?;
    for result in v["results"].as_array_mut().into_iter().flatten() {
        for series in result["series"].as_array_mut().into_iter().flatten() {
            if let Some(rows) = series["values"].as_array_mut() {
                rows.sort_by_key(|r| r.to_string());
            }
        }
    }
    Some(v)
}

#[test]
fn authentication_and_privileges_match_influxdb_1_6_7() {
    let Some(reference) = reference_with_http_or_skip(" auth-enabled = true\n") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours =
        TestServer::start_with_config(&dir.path().join("data"), "[http]\nauth-enabled = true\n");
    let mut mismatches = Vec::new();
    for s in AUTH_SEQUENCE {
        let want = as_we_answer(s, send_auth_step(reference.port, s));
        let got = send_auth_step(ours.port, s);
        let same = want.0 == got.0
            && want.2 == got.2
            && rows_in_any_order(&want.1) == rows_in_any_order(&got.1);
        if !same {
            mismatches.push(format!(
                "{} {} [{}] {:?}\n  influxdb: {} {} (www-authenticate: {})\n  ours:     {} {} (www-authenticate: {})",
                s.method, s.path, s.auth, s.payload, want.0, want.1.trim(), want.2, got.0, got.1.trim(), got.2
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// What InfluxDB 1.6.7 answers, with one deliberate difference: a refused bearer token (401)
/// gets the generic `authorization failed`, where InfluxDB says which check failed.
fn as_we_answer(s: &AuthStep, mut want: (u16, String, bool)) -> (u16, String, bool) {
    if s.auth.starts_with("bearer:") && want.0 == 401 {
        want.1 = "{\"error\":\"authorization failed\"}".to_string();
    }
    (want.0, want.1.trim().to_string(), want.2)
}

/// JWT bearer tokens signed with `shared-secret`: accepted, and refused for every reason
/// InfluxDB has (in our generic words, see [`as_we_answer`]).
#[test]
fn bearer_tokens_match_influxdb_1_6_7() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let http = " auth-enabled = true\n shared-secret = \"k3y\"\n";
    let Some(reference) = reference_with_http_or_skip(http) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = TestServer::start_with_config(
        &dir.path().join("data"),
        "[http]\nauth-enabled = true\nshared-secret = \"k3y\"\n",
    );
    let setup = [
        step("POST", "/query", "none", "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES"),
        step("POST", "/query", "basic:admin:pw", "CREATE DATABASE a; CREATE DATABASE b; CREATE USER r WITH PASSWORD 'rp'; GRANT READ ON a TO r"),
    ];
    for s in &setup {
        assert_eq!(send_auth_step(reference.port, s).0, 200);
        assert_eq!(send_auth_step(ours.port, s).0, 200);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sign = |alg: Algorithm, claims: serde_json::Value, key: &str| {
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let later = now + 3600;
    let tokens = [
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin", "exp": later}),
            "k3y",
        ),
        sign(
            Algorithm::HS512,
            serde_json::json!({"username": "r", "exp": later}),
            "k3y",
        ),
        sign(
            Algorithm::HS384,
            serde_json::json!({"username": "r", "exp": later, "extra": [1]}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin", "exp": now - 3600}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin", "exp": later}),
            "wrong",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin"}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin", "exp": "soon"}),
            "k3y",
        ),
        sign(Algorithm::HS256, serde_json::json!({"exp": later}), "k3y"),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": 5, "exp": later}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "", "exp": later}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "nobody", "exp": later}),
            "k3y",
        ),
        sign(
            Algorithm::HS256,
            serde_json::json!({"username": "admin", "exp": later, "nbf": later}),
            "k3y",
        ),
        "abc".to_string(),
        "a.b".to_string(),
    ];
    let mut mismatches = Vec::new();
    for token in &tokens {
        let auth: &'static str = Box::leak(format!("bearer:{token}").into_boxed_str());
        for s in [
            step("GET", "/query", auth, "SHOW DATABASES"),
            step("GET", "/query?db=b", auth, "SELECT * FROM m"),
            step("POST", "/write?db=a", auth, "m v=1 1"),
        ] {
            let want = as_we_answer(&s, send_auth_step(reference.port, &s));
            let got = send_auth_step(ours.port, &s);
            let got = (got.0, got.1.trim().to_string(), got.2);
            if want != got {
                mismatches.push(format!(
                    "{} {} {token}\n  influxdb: {want:?}\n  ours:     {got:?}",
                    s.method, s.path
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// `Authorization: Token user:password` and `/api/v2/write` are InfluxDB 1.8 forms (1.6.7 does
/// not know them), checked on ours alone.
#[test]
fn token_credentials_and_v2_writes_are_authorized() {
    let dir = tempfile::tempdir().unwrap();
    let ours =
        TestServer::start_with_config(&dir.path().join("data"), "[http]\nauth-enabled = true\n");
    for s in [
        step("POST", "/query", "none", "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES"),
        step("POST", "/query", "token:admin:pw", "CREATE DATABASE a; CREATE DATABASE b; CREATE USER t WITH PASSWORD 'tp'; GRANT WRITE ON a TO t"),
    ] {
        assert_eq!(send_auth_step(ours.port, &s).0, 200);
    }
    let (status, _, _) = send_auth_step(
        ours.port,
        &step("POST", "/api/v2/write?bucket=a", "token:t:tp", "m v=1"),
    );
    assert_eq!(status, 204);
    let (status, body, _) = send_auth_step(
        ours.port,
        &step("POST", "/api/v2/write?bucket=b", "token:t:tp", "m v=1"),
    );
    assert_eq!(
        (status, body.trim()),
        (
            403,
            "{\"error\":\"\\\"t\\\" user is not authorized to write to database \\\"b\\\"\"}"
        )
    );
    let (status, body, asks) = send_auth_step(
        ours.port,
        &step("GET", "/query", "token:t:bad", "SHOW DATABASES"),
    );
    assert_eq!(
        (status, body.trim(), asks),
        (401, "{\"error\":\"authorization failed\"}", true)
    );
    let (status, body, _) = send_auth_step(
        ours.port,
        &step("GET", "/query", "token:t:tp", "SHOW DATABASES"),
    );
    assert_eq!(status, 200);
    assert!(body.contains("[[\"a\"]]"), "{body}");
}
