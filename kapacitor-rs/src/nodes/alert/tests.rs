//! The state machine against Kapacitor's rules, with a recording handler queue.

use super::*;
use crate::pipeline::build;
use crate::point::Dimensions;
use tokio::sync::mpsc;

fn services(dir: &std::path::Path) -> (Services, mpsc::Receiver<HandlerJob>) {
    let (tx, rx) = mpsc::channel(100);
    let (input, _) = mpsc::channel(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = Services {
        task: "t".into(),
        hostname: "h".into(),
        store: influx_client::ClientBuilder::new(["http://127.0.0.1:1"])
            .build()
            .unwrap(),
        handlers: tx,
        http_out: Default::default(),
        input,
        state_dir: dir.to_path_buf(),
        runtime: rt.handle().clone(),
        history: None,
        events: Default::default(),
        global_handlers: Vec::new(),
        sandbox: std::sync::Arc::new(crate::config::SandboxConfig {
            exec_allowed: vec!["/usr/bin/true".into()],
            log_allowed_dirs: vec![dir.join("logs")],
        }),
    };
    std::mem::forget(rt);
    (s, rx)
}

fn node(props: &str, dir: &std::path::Path) -> (AlertNode, mpsc::Receiver<HandlerJob>) {
    let g = build(
        &format!("stream|from().groupBy('host')|alert(){props}.tcp('127.0.0.1:1')"),
        &Default::default(),
    )
    .unwrap();
    let (s, rx) = services(dir);
    (AlertNode::build(&g.nodes[2], &s).unwrap(), rx)
}

fn point(host: &str, v: f64, t: i64) -> Message {
    let tags = BTreeMap::from([("host".to_string(), host.to_string())]);
    let dims = Dimensions::Tags(vec!["host".to_string()].into());
    Message::Point(Point {
        name: "cpu".into(),
        db: "db".into(),
        rp: "rp".into(),
        group: GroupKey::of(&tags, &dims),
        tags,
        fields: BTreeMap::from([("v".to_string(), FieldValue::Float(v))]),
        time: t * 1_000_000_000,
        dims,
    })
}

fn levels(rx: &mut mpsc::Receiver<HandlerJob>) -> Vec<(String, &'static str, i64)> {
    let mut out = Vec::new();
    while let Ok(job) = rx.try_recv() {
        out.push((
            job.event.id.clone(),
            job.event.level.as_str(),
            job.event.duration / 1_000_000_000,
        ));
    }
    out
}

#[test]
fn levels_recoveries_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut rx) = node(
        ".warn(lambda: \"v\" > 50.0).crit(lambda: \"v\" > 90.0)",
        dir.path(),
    );
    for (v, t) in [
        (10.0, 0),
        (60.0, 10),
        (95.0, 20),
        (95.0, 30),
        (20.0, 40),
        (20.0, 50),
    ] {
        a.process(0, point("a", v, t));
    }
    assert_eq!(
        levels(&mut rx),
        vec![
            ("cpu:host=a".into(), "WARNING", 0),
            ("cpu:host=a".into(), "CRITICAL", 10),
            ("cpu:host=a".into(), "CRITICAL", 20),
            ("cpu:host=a".into(), "OK", 30),
        ]
    );
}

#[test]
fn state_changes_only_and_groups_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut rx) = node(".crit(lambda: \"v\" > 90.0).stateChangesOnly().message('{{ .ID }} {{ .Level }} {{ index .Fields \"v\" }}')", dir.path());
    a.process(0, point("a", 95.0, 0));
    a.process(0, point("a", 96.0, 1));
    a.process(0, point("b", 99.0, 1));
    a.process(0, point("a", 1.0, 2));
    let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|j| j.event.message.clone())
        .collect();
    assert_eq!(
        got,
        [
            "cpu:host=a CRITICAL 95",
            "cpu:host=b CRITICAL 99",
            "cpu:host=a OK 1"
        ]
    );
}

#[test]
fn resets_hold_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut rx) = node(
        ".crit(lambda: \"v\" > 90.0).critReset(lambda: \"v\" < 50.0)",
        dir.path(),
    );
    for (v, t) in [(95.0, 0), (70.0, 1), (40.0, 2)] {
        a.process(0, point("a", v, t));
    }
    let got: Vec<&str> = levels(&mut rx).into_iter().map(|(_, l, _)| l).collect();
    assert_eq!(got, ["CRITICAL", "CRITICAL", "OK"]);
}

#[test]
fn no_recoveries_and_state_survives_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut a, mut rx) = node(".crit(lambda: \"v\" > 90.0).stateChangesOnly()", dir.path());
        a.process(0, point("a", 95.0, 0));
        assert_eq!(levels(&mut rx).len(), 1);
    }
    let (mut a, mut rx) = node(".crit(lambda: \"v\" > 90.0).stateChangesOnly()", dir.path());
    a.process(0, point("a", 96.0, 5));
    assert!(
        levels(&mut rx).is_empty(),
        "the restored CRITICAL state is not a change"
    );
    a.process(0, point("a", 1.0, 9));
    assert_eq!(levels(&mut rx), vec![("cpu:host=a".into(), "OK", 9)]);
    let (mut quiet, mut rx) = node(
        ".crit(lambda: \"v\" > 90.0).noRecoveries().id('x')",
        dir.path(),
    );
    quiet.process(0, point("a", 95.0, 0));
    quiet.process(0, point("a", 1.0, 1));
    assert_eq!(levels(&mut rx).len(), 1);
}

#[test]
fn event_json_is_kapacitors() {
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut rx) = node(".crit(lambda: \"v\" > 90.0)", dir.path());
    a.process(0, point("a", 97.1, 1_480_550_400));
    let job = rx.try_recv().unwrap();
    let json = job.event.to_json();
    assert_eq!(json["id"], "cpu:host=a");
    assert_eq!(json["message"], "cpu:host=a is CRITICAL");
    assert_eq!(json["time"], "2016-12-01T00:00:00Z");
    assert_eq!(json["level"], "CRITICAL");
    assert_eq!(json["previousLevel"], "OK");
    assert_eq!(json["data"]["series"][0]["tags"]["host"], "a");
    assert_eq!(json["data"]["series"][0]["values"][0][1], 97.1);
    assert!(
        json["details"].as_str().unwrap().starts_with("{&#34;"),
        "details are HTML-escaped JSON"
    );
}

#[test]
fn exec_and_log_reach_only_what_the_sandbox_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _rx) = services(dir.path());
    let logs = dir.path().join("logs");
    let attempt = |handler: String| {
        let g = build(
            &format!("stream\n    |from()\n    |alert()\n        {handler}"),
            &Default::default(),
        )
        .unwrap();
        AlertNode::build(&g.nodes[2], &s)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert_eq!(attempt(".exec('/usr/bin/true', 'x')".into()), Ok(()));
    let refused = attempt(".exec('/bin/sh', '-c', 'id')".into()).unwrap_err();
    assert!(
        refused.contains("exec of \"/bin/sh\" is not allowed"),
        "{refused}"
    );
    assert!(refused.contains("line 4 char 10"), "{refused}");
    let inside = logs.join("alerts.log");
    assert_eq!(attempt(format!(".log('{}')", inside.display())), Ok(()));
    for outside in [
        "/etc/cron.d/x".to_string(),
        format!("{}/../escape.log", logs.display()),
    ] {
        let refused = attempt(format!(".log('{outside}')")).unwrap_err();
        assert!(refused.contains("is not allowed"), "{refused}");
    }
}
