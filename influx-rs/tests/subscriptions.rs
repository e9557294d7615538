//! Subscriptions deliver every accepted write, as 1.x does: `POST <dest>/write?db=&rp=&
//! precision=ns&consistency=` with nanosecond line protocol (HTTP), or datagrams (UDP); `ANY`
//! spreads writes over the destinations, `ALL` sends each to every one; a destination that is
//! down slows nobody.

mod common;

use common::TestServer;
use std::net::UdpSocket;
use std::time::Duration;

/// A loopback HTTP sink: its port and what it received.
fn sink() -> (u16, tick_tests::HttpSink) {
    let sink = tick_tests::HttpSink::start();
    (sink.port, sink)
}

fn query(server: &TestServer, q: &str) -> String {
    reqwest::blocking::Client::new()
        .post(server.url("/query"))
        .form(&[("q", q)])
        .send()
        .unwrap()
        .text()
        .unwrap()
}

#[test]
fn writes_reach_http_and_udp_destinations() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"));
    let (a, a_rx) = sink();
    let (b, b_rx) = sink();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    query(&server, "CREATE DATABASE d");
    let created = query(
        &server,
        &format!("CREATE SUBSCRIPTION both ON d.autogen DESTINATIONS ALL 'http://127.0.0.1:{a}', 'udp://127.0.0.1:{udp_port}'"),
    );
    assert_eq!(created.trim(), r#"{"results":[{"statement_id":0}]}"#);
    query(&server, &format!("CREATE SUBSCRIPTION one ON d.autogen DESTINATIONS ANY 'http://127.0.0.1:{b}', 'http://127.0.0.1:1'"));

    let (status, body) = server.write_with("d", "s", "m,t=a v=1 100\nm v=2i");
    assert_eq!(status, 204, "{body}");
    let (target, body) = a_rx.next(Duration::from_secs(5)).expect("delivery");
    assert_eq!(target, "/write?db=d&rp=autogen&precision=ns&consistency=");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "m,t=a v=1 100000000000");
    assert!(
        lines[1].starts_with("m v=2i ") && lines[1].len() > 20,
        "server time in ns: {body}"
    );
    let mut datagram = [0u8; 2048];
    let n = udp.recv(&mut datagram).unwrap();
    assert_eq!(String::from_utf8_lossy(&datagram[..n]), body);

    // ANY: the two writes go to one destination each, in turn; the one that is down loses its
    // write and holds up nothing.
    server.write_with("d", "ns", "m v=3 5");
    let (_, first) = b_rx.next(Duration::from_secs(5)).expect("ANY delivers");
    assert!(first.starts_with("m,t=a v=1 "), "{first}");
    assert!(
        b_rx.next(Duration::from_millis(700)).is_none(),
        "ANY sent a write to two destinations"
    );

    let (_, third) = a_rx
        .next(Duration::from_secs(5))
        .expect("ALL delivers every write");
    assert_eq!(third, "m v=3 5\n");
    let dropped = query(&server, "DROP SUBSCRIPTION both ON d.autogen");
    assert_eq!(dropped.trim(), r#"{"results":[{"statement_id":0}]}"#);
    server.write_with("d", "ns", "m v=4 6");
    assert!(
        a_rx.next(Duration::from_millis(700)).is_none(),
        "a dropped subscription still delivers"
    );
    let metrics = reqwest::blocking::get(server.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("influxrs_subscriber_writes_ok_total"),
        "{metrics}"
    );
}

#[test]
fn subscriptions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (port, rx) = sink();
    {
        let mut server = TestServer::start(&data);
        query(&server, "CREATE DATABASE d");
        query(
            &server,
            &format!(
                "CREATE SUBSCRIPTION k ON d.autogen DESTINATIONS ALL 'http://127.0.0.1:{port}'"
            ),
        );
        server.stop();
    }
    let server = TestServer::start(&data);
    let shown = query(&server, "SHOW SUBSCRIPTIONS");
    assert!(
        shown.contains(&format!("\"http://127.0.0.1:{port}\"")),
        "{shown}"
    );
    server.write_with("d", "ns", "m v=1 1");
    let (_, body) = rx
        .next(Duration::from_secs(5))
        .expect("delivery after restart");
    assert_eq!(body, "m v=1 1\n");
}
