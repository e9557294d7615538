//! `inputs.mqtt_consumer`: subscribes to MQTT topics (3.1.1 or 5; QoS 0, 1, 2; persistent
//! sessions; plain TCP or TLS with Telegraf's `tls_*` options) and parses each message's
//! payload with the `data_format` (`influx` by default), adding
//! the topic as a tag and, with `topic_parsing`, measurement, tags and fields taken from the
//! topic's levels. A payload that does not parse is counted and logged; the connection is
//! made again, with back-off, when it drops.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::{now_nanos, FieldValue, Metric};
use crate::options::GoDuration;
use crate::parsers::{Parser, ParserConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, TlsConfiguration, Transport};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Options of `[[inputs.mqtt_consumer]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MqttConsumerConfig {
    /// Brokers, `tcp://host:port` or `ssl://host:port` (also `tls://`, `mqtts://`); the
    /// first that answers is used.
    pub servers: Vec<String>,
    /// Topics, with `+` and `#` wildcards.
    pub topics: Vec<String>,
    /// The tag holding the topic (`topic`; empty: none).
    pub topic_tag: Option<String>,
    /// 0, 1 or 2.
    pub qos: u8,
    /// How long to wait for the broker.
    pub connection_timeout: GoDuration,
    /// Keep the session (and QoS 1/2 messages) across reconnects; needs `client_id`.
    pub persistent_session: bool,
    /// The client id (random when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// Broker user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Broker password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `3.1.1` (default) or `5`; `3.1` is refused by name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    /// PEM file of the certificate authorities to trust for `ssl://` brokers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_ca: String,
    /// PEM file of the client certificate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_cert: String,
    /// PEM file of the client key.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_key: String,
    /// Accept any broker certificate.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
    /// Measurement, tags and fields from topic levels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topic_parsing: Vec<TopicParsing>,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

impl Default for MqttConsumerConfig {
    fn default() -> Self {
        MqttConsumerConfig {
            servers: vec!["tcp://127.0.0.1:1883".into()],
            topics: Vec::new(),
            topic_tag: None,
            qos: 0,
            connection_timeout: GoDuration::secs(30),
            persistent_session: false,
            client_id: String::new(),
            username: String::new(),
            password: String::new(),
            protocol: String::new(),
            tls_ca: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            insecure_skip_verify: false,
            topic_parsing: Vec::new(),
            parser: ParserConfig::default(),
        }
    }
}

/// One `[[inputs.mqtt_consumer.topic_parsing]]`: levels of topics matching `topic` become
/// the measurement, tags and fields (`_` skips a level).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TopicParsing {
    /// The topics it applies to (`+`, `#` wildcards).
    pub topic: String,
    /// Which level names the measurement.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub measurement: String,
    /// Which levels become tags, named by the pattern.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// Which levels become fields, named by the pattern.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fields: String,
    /// Field types: `int`, `uint`, `float`, `bool`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, String>,
}

/// Whether `topic` matches the MQTT filter `filter` (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for part in filter.split('/') {
        match (part, levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (p, Some(l)) if p == l => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

impl TopicParsing {
    /// Applies the patterns to `m`, received on `topic`.
    fn apply(&self, topic: &str, m: &mut Metric) -> Result<(), String> {
        let levels: Vec<&str> = topic.split('/').collect();
        let pick = |pattern: &str| -> Vec<(String, String)> {
            pattern
                .split('/')
                .zip(&levels)
                .filter(|(name, _)| !name.is_empty() && *name != "_")
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect()
        };
        if !self.measurement.is_empty() {
            if let Some((_, value)) = pick(&self.measurement).into_iter().next() {
                m.name = value;
            }
        }
        for (name, value) in pick(&self.tags) {
            m.tags.insert(name, value);
        }
        for (name, value) in pick(&self.fields) {
            let bad = || {
                format!(
                    "topic level {value:?} of field {name:?} is not a {}",
                    self.types[&name]
                )
            };
            let typed = match self.types.get(&name).map(String::as_str) {
                Some("int") => FieldValue::Int(value.parse().map_err(|_| bad())?),
                Some("uint") => FieldValue::UInt(value.parse().map_err(|_| bad())?),
                Some("float") => FieldValue::Float(value.parse().map_err(|_| bad())?),
                Some("bool") => {
                    FieldValue::Bool(crate::parsers::parse_go_bool(&value).ok_or_else(bad)?)
                }
                _ => FieldValue::Str(value),
            };
            m.add_field(name, typed);
        }
        Ok(())
    }
}

/// Where one broker is and how to reach it.
#[derive(Debug, Clone)]
struct Broker {
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Broker {
    fn connected(&self, protocol: &str) {
        tracing::info!(
            "[inputs.mqtt_consumer] connected to {}:{} ({protocol})",
            self.host,
            self.port
        );
    }

    /// Logs a lost connection; true: the agent is still there, reconnect.
    fn dropped(&self, e: &dyn std::fmt::Display) -> bool {
        tracing::error!(
            "[inputs.mqtt_consumer] {}:{}: {e}; reconnecting",
            self.host,
            self.port
        );
        true
    }
}

/// Builds the input; the broker is reached when the agent starts serving.
pub fn build(c: &MqttConsumerConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: String| InputError::Settings(m);
    let v5 =
        crate::mqtt::Protocol::parse(&c.protocol).map_err(settings)? == crate::mqtt::Protocol::V5;
    if c.qos > 2 {
        return Err(settings(format!("qos {}: 0, 1 or 2", c.qos)));
    }
    if c.persistent_session && c.client_id.is_empty() {
        return Err(settings("persistent_session needs a client_id".into()));
    }
    if c.topics.is_empty() {
        return Err(settings("topics: at least one topic is needed".into()));
    }
    let parser = Parser::new(&c.parser, "influx").map_err(settings)?;
    // Kept as four options of the plugin's own (not a flattened struct), so that an unknown
    // option of the table is still warned about.
    let tls = crate::tls::TlsOptions {
        ca: c.tls_ca.clone(),
        cert: c.tls_cert.clone(),
        key: c.tls_key.clone(),
        insecure_skip_verify: c.insecure_skip_verify,
    };
    let mut brokers = Vec::new();
    for server in &c.servers {
        let url = reqwest::Url::parse(server)
            .map_err(|e| settings(format!("servers: {server:?}: {e}")))?;
        let (secure, default_port) = match url.scheme() {
            "tcp" | "mqtt" => (false, 1883),
            "ssl" | "tls" | "mqtts" => (true, 8883),
            other => {
                return Err(settings(format!(
                    "servers: {server:?}: scheme {other:?} is not implemented by telegraf-rs \
                     (tcp, mqtt, ssl, tls and mqtts are)"
                )))
            }
        };
        let tls = match secure {
            true => Some(tls.client_config().map_err(settings)?),
            false => None,
        };
        brokers.push(Broker {
            host: url.host_str().unwrap_or("127.0.0.1").to_string(),
            port: url.port().unwrap_or(default_port),
            tls,
        });
    }
    Ok(Box::new(MqttConsumer {
        config: c.clone(),
        parser,
        brokers,
        v5,
    }))
}

struct MqttConsumer {
    config: MqttConsumerConfig,
    parser: Parser,
    brokers: Vec<Broker>,
    v5: bool,
}

/// What one message becomes; the reason when its payload does not parse.
pub fn message_metrics(
    config: &MqttConsumerConfig,
    parser: &Parser,
    topic: &str,
    payload: &[u8],
    now: i64,
) -> Result<Vec<Metric>, String> {
    let mut metrics = parser.parse(payload, "mqtt_consumer", now)?;
    let topic_tag = config.topic_tag.clone().unwrap_or_else(|| "topic".into());
    for m in &mut metrics {
        if !topic_tag.is_empty() {
            m.tags.insert(topic_tag.clone(), topic.to_string());
        }
        for parsing in config
            .topic_parsing
            .iter()
            .filter(|p| topic_matches(&p.topic, topic))
        {
            parsing.apply(topic, m)?;
        }
    }
    Ok(metrics)
}

/// Where received messages go: parsed, counted when they do not parse, sent to the agent.
struct Delivery {
    config: MqttConsumerConfig,
    parser: Parser,
    sink: mpsc::Sender<Vec<Metric>>,
    bad: u64,
}

impl Delivery {
    /// Handles one message; false when the agent is gone.
    async fn message(&mut self, topic: &str, payload: &[u8]) -> bool {
        match message_metrics(&self.config, &self.parser, topic, payload, now_nanos()) {
            Ok(metrics) if !metrics.is_empty() => self.sink.send(metrics).await.is_ok(),
            Ok(_) => true,
            Err(e) => {
                self.bad += 1;
                tracing::warn!(
                    "[inputs.mqtt_consumer] message on {topic:?} dropped ({} so far): {e}",
                    self.bad
                );
                true
            }
        }
    }

    /// The client id: the configured one, else a random one.
    fn client_id(&self) -> String {
        match self.config.client_id.as_str() {
            "" => format!("telegraf-rs-{:016x}", rand::random::<u64>()),
            id => id.to_string(),
        }
    }

    /// How long an idle poll waits before polling again.
    fn idle(&self) -> Duration {
        self.config.connection_timeout.0.max(Duration::from_secs(1)) * 4
    }
}

impl MqttConsumer {
    /// MQTT 3.1.1: one connection until it fails; false when the agent is gone.
    async fn session_v4(d: &mut Delivery, broker: &Broker) -> bool {
        let mut options = MqttOptions::new(d.client_id(), broker.host.clone(), broker.port);
        options.set_keep_alive(Duration::from_secs(60));
        options.set_clean_session(!d.config.persistent_session);
        options.set_max_packet_size(16 << 20, 16 << 20);
        if !d.config.username.is_empty() {
            options.set_credentials(d.config.username.clone(), d.config.password.clone());
        }
        if let Some(tls) = &broker.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        let (client, mut events) = AsyncClient::new(options, 100);
        for topic in &d.config.topics {
            if let Err(e) = client
                .subscribe(topic.clone(), crate::mqtt::qos(d.config.qos))
                .await
            {
                tracing::error!("[inputs.mqtt_consumer] subscribing to {topic:?}: {e}");
            }
        }
        loop {
            match tokio::time::timeout(d.idle(), events.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    if !d.message(&p.topic, &p.payload).await {
                        return false;
                    }
                }
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => broker.connected("MQTT 3.1.1"),
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => return broker.dropped(&e),
            }
        }
    }

    /// MQTT 5: one connection until it fails; false when the agent is gone.
    async fn session_v5(d: &mut Delivery, broker: &Broker) -> bool {
        use rumqttc::v5::mqttbytes::v5::Packet as V5Packet;
        use rumqttc::v5::{AsyncClient as V5Client, Event as V5Event, MqttOptions as V5Options};
        let mut options = V5Options::new(d.client_id(), broker.host.clone(), broker.port);
        options.set_keep_alive(Duration::from_secs(60));
        options.set_clean_start(!d.config.persistent_session);
        if d.config.persistent_session {
            // MQTT 5 ends a session when the connection does, unless it is given a lifetime.
            options.set_session_expiry_interval(Some(u32::MAX));
        }
        options.set_max_packet_size(Some(16 << 20));
        if !d.config.username.is_empty() {
            options.set_credentials(d.config.username.clone(), d.config.password.clone());
        }
        if let Some(tls) = &broker.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        let (client, mut events) = V5Client::new(options, 100);
        for topic in &d.config.topics {
            if let Err(e) = client
                .subscribe(topic.clone(), crate::mqtt::qos_v5(d.config.qos))
                .await
            {
                tracing::error!("[inputs.mqtt_consumer] subscribing to {topic:?}: {e}");
            }
        }
        loop {
            match tokio::time::timeout(d.idle(), events.poll()).await {
                Ok(Ok(V5Event::Incoming(V5Packet::Publish(p)))) => {
                    let topic = String::from_utf8_lossy(&p.topic).into_owned();
                    if !d.message(&topic, &p.payload).await {
                        return false;
                    }
                }
                Ok(Ok(V5Event::Incoming(V5Packet::ConnAck(_)))) => broker.connected("MQTT 5"),
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => return broker.dropped(&e),
            }
        }
    }

    /// Serves until the agent is gone: a session with each broker in turn, backing off
    /// between failed ones.
    async fn run(mut d: Delivery, brokers: Vec<Broker>, v5: bool) {
        let mut attempt = 0usize;
        loop {
            let broker = &brokers[attempt % brokers.len()];
            attempt += 1;
            let alive = match v5 {
                true => Self::session_v5(&mut d, broker).await,
                false => Self::session_v4(&mut d, broker).await,
            };
            if !alive {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1 << attempt.min(5))).await;
        }
    }
}

impl Input for MqttConsumer {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        if self.brokers.is_empty() {
            return None;
        }
        let delivery = Delivery {
            config: self.config.clone(),
            parser: self.parser.clone(),
            sink,
            bad: 0,
        };
        Some(Box::pin(Self::run(delivery, self.brokers.clone(), self.v5)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters() {
        assert!(topic_matches("sensors/#", "sensors/a/b"));
        assert!(topic_matches("telegraf/+/mem", "telegraf/h1/mem"));
        assert!(!topic_matches("telegraf/+/mem", "telegraf/h1/cpu"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(topic_matches("#", "x"));
    }

    #[test]
    fn payloads_and_topic_parsing() {
        let config: MqttConsumerConfig = toml::from_str(
            r#"
            topics = ["telegraf/+/cpu/+"]
            [[topic_parsing]]
              topic = "telegraf/+/cpu/+"
              measurement = "_/_/measurement/_"
              tags = "_/site/_/_"
              fields = "_/_/_/test"
              [topic_parsing.types]
                test = "int"
            "#,
        )
        .unwrap();
        let parser = Parser::new(&ParserConfig::default(), "influx").unwrap();
        let ms = message_metrics(&config, &parser, "telegraf/123/cpu/42", b"x v=1 5\n", 0).unwrap();
        let m = &ms[0];
        assert_eq!(m.name, "cpu");
        assert_eq!(m.tags["site"], "123");
        assert_eq!(m.tags["topic"], "telegraf/123/cpu/42");
        assert_eq!(m.field("test"), Some(&FieldValue::Int(42)));
        assert_eq!(m.time, 5);
        let err = message_metrics(&config, &parser, "telegraf/1/cpu/x", b"x v=1\n", 0).unwrap_err();
        assert!(err.contains("not a int"), "{err}");
        assert!(message_metrics(&config, &parser, "t", b"not line protocol", 0).is_err());
    }

    #[test]
    fn settings_that_cannot_work() {
        let fx = crate::inputs::testing::fixture(&[]);
        let bad = |toml_text: &str| {
            let c: MqttConsumerConfig = toml::from_str(toml_text).unwrap();
            build(&c, &fx.ctx()).is_err()
        };
        assert!(bad("topics = []"));
        assert!(bad("topics = [\"a\"]\nqos = 3"));
        assert!(bad("topics = [\"a\"]\npersistent_session = true"));
        assert!(bad("topics = [\"a\"]\nprotocol = \"3.1\""));
        assert!(!bad("topics = [\"a\"]\nprotocol = \"5\""));
        assert!(bad("topics = [\"a\"]\nservers = [\"ws://x:8883\"]"));
        assert!(bad(
            "topics = [\"a\"]\nservers = [\"ssl://x:8883\"]\ntls_ca = \"/nonexistent.pem\""
        ));
    }
}
