//! `influx-client` against a real influx-rs: every request kind, every auth style, failover
//! past a dead URL, and each error kind as the store answers it.

use influx_client::{Auth, ClientBuilder, Epoch, Error, Query, Write, WriteV2};
use lineproto::Precision;
use tick_tests::{free_port, Store};

fn store_with_auth(dir: &std::path::Path) -> Store {
    Store::start_with_env(
        &dir.join("data"),
        free_port(),
        &[
            ("INFLUX_RS_HTTP_AUTH_ENABLED", "true"),
            ("INFLUX_RS_ADMIN_USER", "admin"),
            ("INFLUX_RS_ADMIN_PASSWORD", "s3cret"),
        ],
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn writes_queries_and_errors_against_influx_rs() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_auth(dir.path());
    let base = store.url("");
    // A URL where nothing listens comes first: the client goes on to the live one.
    let dead = format!("http://127.0.0.1:{}", free_port());
    runtime().block_on(async {
        let admin = ClientBuilder::new([dead.clone(), base.clone()])
            .auth(Auth::basic("admin", "s3cret"))
            .gzip(true)
            .build()
            .unwrap();
        let pong = admin.ping().await.unwrap();
        assert!(pong.version.is_some(), "{pong:?}");
        assert_eq!(admin.health().await.unwrap()["status"], "pass");

        // No credentials: refused as such.
        let anonymous = ClientBuilder::new([base.clone()]).build().unwrap();
        let refused = anonymous.query(&Query::new("SHOW DATABASES")).await.unwrap_err();
        assert!(matches!(refused, Error::Unauthorized { status: 401, .. }), "{refused:?}");

        let answer = admin.query(&Query::new("CREATE DATABASE db")).await.unwrap();
        assert_eq!(answer.first_error(), None);

        // gzip, precision, retention policy.
        admin
            .write(
                &Write::new("db").retention_policy("autogen").precision(Precision::Seconds),
                b"cpu,host=a v=1 10\ncpu,host=a v=2 20\n".to_vec(),
            )
            .await
            .unwrap();
        // The u=/p= style and the v2 write with a `user:password` token.
        let params = ClientBuilder::new([base.clone()])
            .auth(Auth::QueryParams { username: "admin".into(), password: "s3cret".into() })
            .build()
            .unwrap();
        let token = ClientBuilder::new([base.clone()])
            .auth(Auth::token("admin:s3cret"))
            .build()
            .unwrap();
        let mut v2 = WriteV2::new("", "db/autogen");
        v2.precision = Some(Precision::Seconds);
        token.write_v2(&v2, b"cpu,host=b v=3 30\n".to_vec()).await.unwrap();

        let answer = params
            .query(&Query::new("SELECT v FROM cpu").database("db").epoch(Epoch::S))
            .await
            .unwrap();
        let series = &answer.results[0].series[0];
        assert_eq!(series.columns, ["time", "v"]);
        let times: Vec<_> = series.values.iter().map(|r| r[0].clone()).collect();
        assert_eq!(times, [10, 20, 30]);

        // A statement error is inside the answer, not an Err.
        let answer = admin
            .query(&Query::new("SELECT v FROM cpu; SHOW TAG KEYS ON nodb").database("db"))
            .await
            .unwrap();
        assert!(answer.first_error().is_some_and(|e| e.contains("nodb")), "{answer:?}");

        // Each refusal of a write as its kind.
        let conflict = admin
            .write(&Write::new("db"), b"cpu,host=a v=1i 40\ncpu,host=a v=5 50\n".to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(conflict, Error::PartialWrite { dropped: Some(1), .. }),
            "{conflict:?}"
        );
        let bad = admin.write(&Write::new("db"), b"cpu v=\n".to_vec()).await.unwrap_err();
        assert!(
            matches!(&bad, Error::Refused { status: 400, message } if message.contains("unable to parse")),
            "{bad:?}"
        );
        let missing = admin.write(&Write::new("nodb"), b"cpu v=1\n".to_vec()).await.unwrap_err();
        assert!(matches!(missing, Error::DatabaseNotFound(_)), "{missing:?}");
    });
}

#[test]
fn chunked_answers_arrive_as_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("data"), free_port());
    let base = store.url("");
    runtime().block_on(async {
        let client = ClientBuilder::new([base]).build().unwrap();
        client
            .query(&Query::new("CREATE DATABASE db"))
            .await
            .unwrap();
        let lines: String = (0..10).map(|i| format!("m v={i} {i}\n")).collect();
        client
            .write(&Write::new("db"), lines.into_bytes())
            .await
            .unwrap();
        let mut chunks = client
            .query_chunks(
                &Query::new("SELECT v FROM m")
                    .database("db")
                    .epoch(Epoch::Ns)
                    .chunk_size(3),
            )
            .await
            .unwrap();
        let (mut count, mut values) = (0, Vec::new());
        // Bounded: 10 points in chunks of 3 is 4 chunks.
        while let Some(chunk) = chunks.next().await {
            count += 1;
            assert!(count <= 10, "too many chunks");
            let chunk = chunk.unwrap();
            for series in &chunk.results[0].series {
                values.extend(series.values.iter().map(|r| r[1].clone()));
            }
        }
        assert_eq!(count, 4);
        assert_eq!(
            values,
            (0..10).map(serde_json::Value::from).collect::<Vec<_>>()
        );
    });
}
