//! MQTT against a real Mosquitto (Debian's package, installed by `.ci/run`) started by the test
//! on loopback: `mqtt_consumer` (JSON readings, MQTT 5 over TLS, a session kept across a
//! restart) and `outputs.mqtt` (plain and over TLS).

mod common;

use common::{field_of, free_port, installed, start, tag_of, test_certificates};
use std::process::Command;

/// Starts Mosquitto on a free loopback port with its files in `dir`: the broker and its port.
fn start_mosquitto(mosquitto: &std::path::Path, dir: &std::path::Path) -> (common::Service, u16) {
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let broker = start(
        mosquitto,
        &["-c", &conf.to_string_lossy()],
        &dir.join("mosquitto.log"),
        port,
    );
    (broker, port)
}

/// Publishes `payload` on `topic` with QoS 1 through `mosquitto_pub`.
fn publish(port: u16, topic: &str, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
            "1",
            "-t",
            topic,
            "-m",
            payload,
        ])
        .status()
        .unwrap();
    assert!(status.success(), "mosquitto_pub failed");
}

#[test]
fn mqtt_consumer_reads_json_readings_from_mosquitto() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_pub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    let out = dir.path().join("out.lp");
    let conf = dir.path().join("agent.conf");
    std::fs::write(
        &conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.mqtt_consumer]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n  topics = [\"sensors/#\"]\n  qos = 1\n\
             data_format = \"json\"\n  tag_keys = [\"device\"]\n  json_string_fields = [\"state\"]\n\
             [[inputs.mqtt_consumer.topic_parsing]]\n    topic = \"sensors/+/+\"\n    tags = \"_/room/_\"\n    measurement = \"_/_/measurement\"\n\
             [[outputs.file]]\n  files = [{out:?}]\n"
        ),
    )
    .unwrap();
    let _agent = common::spawn(&conf.to_string_lossy(), dir.path());
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    // Until the agent has subscribed, messages published are not for it: probe until one lands.
    let subscribed = common::wait_for(std::time::Duration::from_secs(15), || {
        publish(port, "sensors/probe/probe", "{\"v\": 1}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        text().contains("probe,")
    });
    assert!(
        subscribed,
        "{}",
        std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default()
    );
    publish(
        port,
        "sensors/kitchen/climate",
        "{\"device\": \"d1\", \"temperature\": 21.5, \"humidity\": 40, \"state\": \"ok\"}",
    );
    publish(port, "sensors/kitchen/climate", "{not json");
    publish(
        port,
        "sensors/attic/climate",
        "[{\"device\": \"d2\", \"temperature\": 30}]",
    );
    let arrived = common::wait_for(std::time::Duration::from_secs(10), || {
        let t = text();
        t.contains("room=attic") && t.contains("room=kitchen")
    });
    let lines = text();
    assert!(arrived, "{lines}");
    let kitchen = lines.lines().find(|l| l.contains("room=kitchen")).unwrap();
    assert!(
        kitchen.starts_with("climate,device=d1,room=kitchen,topic=sensors/kitchen/climate "),
        "{kitchen}"
    );
    assert!(
        kitchen.contains("temperature=21.5")
            && kitchen.contains("humidity=40")
            && kitchen.contains("state=\"ok\""),
        "{kitchen}"
    );
    let log = std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(
        log.contains("message on \"sensors/kitchen/climate\" dropped"),
        "{log}"
    );
}

/// `mosquitto_sub -v` on 127.0.0.1:`port` with `args` (topic, count, TLS), giving up after
/// 20 s; started half a second before it returns, so that it has subscribed.
fn subscribe(port: u16, args: &[&str]) -> std::process::Child {
    let child = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-v", "-W", "20"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    child
}

/// Runs the agent with `config` in `dir` and gives the first message `subscriber` printed
/// (it exits after its count of messages or 20 s); the agent's log when there is none.
fn first_published(subscriber: std::process::Child, dir: &std::path::Path, config: &str) -> String {
    let conf = dir.join("agent.conf");
    std::fs::write(&conf, config).unwrap();
    let _agent = common::spawn(&conf.to_string_lossy(), dir);
    let out = subscriber.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().next() {
        Some(first) => first.to_string(),
        None => panic!(
            "nothing published: {}",
            std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default()
        ),
    }
}

#[test]
fn mqtt_output_publishes_each_metric_to_mosquitto() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_sub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    let subscriber = subscribe(port, &["-t", "telegraf/#", "-C", "2"]);
    let first = first_published(
        subscriber,
        dir.path(),
        &format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  hostname = \"h1\"\n\
             [[inputs.exec]]\n  commands = [\"echo room,site=lab temp=21.5\"]\n  data_format = \"influx\"\n\
             [[outputs.mqtt]]\n  servers = [\"127.0.0.1:{port}\"]\n  qos = 1\n  data_format = \"json\"\n"
        ),
    );
    let (topic, payload) = first.split_once(' ').unwrap();
    assert_eq!(topic, "telegraf/h1/room");
    let json: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert_eq!(json["fields"]["temp"], 21.5);
    assert_eq!(json["tags"]["site"], "lab");
}

/// Mosquitto listening over TLS on 127.0.0.1 with a certificate from [`test_certificates`]:
/// the broker, its port and the CA's path; `None` when Mosquitto or openssl is missing.
fn start_tls_mosquitto(
    dir: &std::path::Path,
) -> Option<(common::Service, u16, std::path::PathBuf)> {
    let mosquitto = installed("mosquitto")?;
    let [ca, cert, key] = test_certificates(dir)?;
    let port = free_port();
    let conf = dir.join("mosquitto.conf");
    // `user root`: started as root, Mosquitto would read the key after dropping to its own
    // user, who may not read the test's directory.
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             user root\ncafile {}\ncertfile {}\nkeyfile {}\n",
            ca.display(),
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let broker = start(
        &mosquitto,
        &["-c", &conf.to_string_lossy()],
        &dir.join("mosquitto.log"),
        port,
    );
    Some((broker, port, ca))
}

#[test]
fn mqtt_consumer_speaks_mqtt_5_over_tls_and_keeps_its_session() {
    if installed("mosquitto_pub").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port, ca)) = start_tls_mosquitto(dir.path()) else {
        return;
    };
    let publish_tls = |payload: &str| {
        let status = Command::new("mosquitto_pub")
            .args([
                "--cafile",
                &ca.to_string_lossy(),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .args([
                "-V",
                "mqttv5",
                "-q",
                "1",
                "-t",
                "plant/line1",
                "-m",
                payload,
            ])
            .status()
            .unwrap();
        assert!(status.success(), "mosquitto_pub over TLS failed");
    };
    let out = dir.path().join("out.lp");
    let agent_conf = dir.path().join("agent.conf");
    std::fs::write(
        &agent_conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  omit_hostname = true\n\
             [[inputs.mqtt_consumer]]\n  servers = [\"ssl://127.0.0.1:{port}\"]\n  topics = [\"plant/#\"]\n  \
             protocol = \"5\"\n  qos = 1\n  persistent_session = true\n  client_id = \"tick-tls-test\"\n  \
             tls_ca = {:?}\n  data_format = \"influx\"\n\
             [[outputs.file]]\n  files = [{out:?}]\n",
            ca.to_string_lossy()
        ),
    )
    .unwrap();
    let text = || std::fs::read_to_string(&out).unwrap_or_default();
    let agent = common::spawn(&agent_conf.to_string_lossy(), dir.path());
    let subscribed = common::wait_for(std::time::Duration::from_secs(15), || {
        publish_tls("probe v=1i");
        std::thread::sleep(std::time::Duration::from_millis(200));
        text().contains("probe,")
    });
    let log = || std::fs::read_to_string(dir.path().join("agent.log")).unwrap_or_default();
    assert!(subscribed, "{}", log());
    assert!(log().contains("(MQTT 5)"), "{}", log());
    // Stopped, the agent's session lives on at the broker: what is published meanwhile
    // (QoS 1) is delivered when it comes back.
    drop(agent);
    publish_tls("while_away v=42i");
    let _agent = common::spawn(&agent_conf.to_string_lossy(), dir.path());
    let delivered = common::wait_for(std::time::Duration::from_secs(15), || {
        text().contains("while_away,")
    });
    assert!(delivered, "{}\n{}", text(), log());
    let line = text()
        .lines()
        .find(|l| l.starts_with("while_away,"))
        .unwrap()
        .to_string();
    assert_eq!(tag_of(&line, "topic").as_deref(), Some("plant/line1"));
    assert_eq!(field_of(&line, "v").as_deref(), Some("42i"));
}

#[test]
fn mqtt_output_publishes_over_tls() {
    if installed("mosquitto_sub").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((_broker, port, ca)) = start_tls_mosquitto(dir.path()) else {
        return;
    };
    let cafile = ca.to_string_lossy().into_owned();
    let subscriber = subscribe(port, &["--cafile", &cafile, "-t", "secure/#", "-C", "1"]);
    let first = first_published(
        subscriber,
        dir.path(),
        &format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  hostname = \"h1\"\n\
             [[inputs.exec]]\n  commands = [\"echo room temp=20.5\"]\n  data_format = \"influx\"\n\
             [[outputs.mqtt]]\n  servers = [\"ssl://127.0.0.1:{port}\"]\n  tls_ca = {:?}\n  \
             topic_prefix = \"secure\"\n  qos = 1\n",
            ca.to_string_lossy()
        ),
    );
    assert!(
        first.starts_with("secure/h1/room room,host=h1 temp=20.5 "),
        "{first}"
    );
}

#[test]
fn mqtt_output_speaks_mqtt_5_with_publish_properties() {
    let (Some(mosquitto), Some(_)) = (installed("mosquitto"), installed("mosquitto_sub")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = start_mosquitto(&mosquitto, dir.path());
    // An MQTT 5 subscriber prints each message's topic, content type, response topic, user
    // properties and payload.
    let subscriber = subscribe(
        port,
        &[
            "-V",
            "mqttv5",
            "-F",
            "%t|%C|%R|%P|%p",
            "-t",
            "v5/#",
            "-C",
            "1",
        ],
    );
    let first = first_published(
        subscriber,
        dir.path(),
        &format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"200ms\"\n  hostname = \"h1\"\n\
             [[inputs.exec]]\n  commands = [\"echo room temp=19.5\"]\n  data_format = \"influx\"\n\
             [[outputs.mqtt]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n  protocol = \"5\"\n  \
             topic = \"v5/{{{{ .Name }}}}\"\n  qos = 2\n  data_format = \"influx\"\n\
             [outputs.mqtt.v5]\n  content_type = \"text/plain\"\n  response_topic = \"answers\"\n  \
             message_expiry = \"1h\"\n\
             [outputs.mqtt.v5.user_properties]\n  site = \"lab\"\n"
        ),
    );
    assert!(
        first.starts_with("v5/room|text/plain|answers|site:lab|room,host=h1 temp=19.5 "),
        "{first}"
    );
}
