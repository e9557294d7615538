//! `outputs.mqtt`: publishes each metric, in any data format, to an MQTT 3.1.1 or 5 broker
//! (MQTT 5 with Telegraf's `[outputs.mqtt.v5]` publish properties; over
//! TLS for `ssl://`, `tls://` and `mqtts://` servers, with Telegraf's `tls_*` options) on a
//! topic made from a template (`telegraf/{{ .Tag "host" }}/{{ .Name }}` by default, or the
//! older `topic_prefix`/host/measurement); with QoS 1 or 2 a batch counts as written only
//! once the broker acknowledged every message, otherwise it stays buffered for a retry.

use super::{OutputError, WriteOutcome};
use crate::metric::Metric;
use crate::mqtt::Protocol;
use crate::options::GoDuration;
use crate::serializers::{Serializer, SerializerConfig};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

/// Options of `[[outputs.mqtt]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MqttConfig {
    /// Brokers, `host:port`, `tcp://host:port` or `ssl://host:port` (the first is used).
    pub servers: Vec<String>,
    /// Topic template: `{{ .Name }}`, `{{ .PluginName }}`, `{{ .Tag "key" }}`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// The older form: topics `<prefix>/<host>/<measurement>`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub topic_prefix: String,
    /// 0, 1 or 2.
    pub qos: u8,
    /// Retained messages.
    pub retain: bool,
    /// Time allowed for the broker to acknowledge a batch.
    pub timeout: GoDuration,
    /// Broker user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Broker password.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// The client id (random when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// `3.1.1` (default) or `5`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    /// MQTT 5 publish properties (`[outputs.mqtt.v5]`), ignored with a warning under 3.1.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v5: Option<PublishProperties>,
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
    /// The serializer options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub serializer: SerializerConfig,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            servers: vec!["localhost:1883".into()],
            topic: String::new(),
            topic_prefix: String::new(),
            qos: 2,
            retain: false,
            timeout: GoDuration::secs(5),
            username: String::new(),
            password: String::new(),
            client_id: String::new(),
            protocol: String::new(),
            v5: None,
            tls_ca: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            insecure_skip_verify: false,
            serializer: SerializerConfig::default(),
        }
    }
}

/// `[outputs.mqtt.v5]`: the MQTT 5 properties sent with every message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PublishProperties {
    /// The payload's content type (`text/plain`, `application/json`…).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_type: String,
    /// Where a reader should answer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_topic: String,
    /// How long the broker keeps an undelivered message (`0s`: for ever).
    pub message_expiry: GoDuration,
    /// A topic alias (0: none).
    pub topic_alias: u16,
    /// User properties, sent as they are.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_properties: BTreeMap<String, String>,
}

impl PublishProperties {
    fn to_rumqttc(&self) -> rumqttc::v5::mqttbytes::v5::PublishProperties {
        let text = |s: &String| (!s.is_empty()).then(|| s.clone());
        rumqttc::v5::mqttbytes::v5::PublishProperties {
            content_type: text(&self.content_type),
            response_topic: text(&self.response_topic),
            message_expiry_interval: match self.message_expiry.0.as_secs() {
                0 => None,
                secs => Some(u32::try_from(secs).unwrap_or(u32::MAX)),
            },
            topic_alias: (self.topic_alias != 0).then_some(self.topic_alias),
            user_properties: self
                .user_properties
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..Default::default()
        }
    }
}

/// The connection, in the version the options asked for.
#[derive(Debug)]
enum Client {
    V311(AsyncClient),
    V5(
        rumqttc::v5::AsyncClient,
        rumqttc::v5::mqttbytes::v5::PublishProperties,
    ),
}

/// One part of a topic template.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Name,
    Tag(String),
}

/// Reads a topic template; anything but `.Name`, `.PluginName` and `.Tag "key"` is refused.
fn template(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        parts.push(Part::Text(rest[..open].to_string()));
        let close = rest[open..]
            .find("}}")
            .ok_or_else(|| format!("topic {text:?}: unclosed {{{{"))?;
        let action = rest[open + 2..open + close].trim();
        parts.push(match action {
            ".Name" | ".PluginName" => Part::Name,
            tag if tag.starts_with(".Tag ") => {
                Part::Tag(tag[5..].trim().trim_matches('"').to_string())
            }
            other => {
                return Err(format!(
                    "topic {text:?}: {other:?} is not implemented by telegraf-rs"
                ))
            }
        });
        rest = &rest[open + close + 2..];
    }
    parts.push(Part::Text(rest.to_string()));
    Ok(parts)
}

/// The running output: the client and the task driving its connection.
#[derive(Debug)]
pub struct MqttOutput {
    topic: Vec<Part>,
    qos: u8,
    retain: bool,
    timeout: Duration,
    serializer: Serializer,
    client: Client,
    acks: mpsc::UnboundedReceiver<Result<(), String>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for MqttOutput {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl MqttOutput {
    /// Checks the options and starts connecting (on the current Tokio runtime).
    pub fn new(config: &MqttConfig) -> Result<Self, OutputError> {
        let settings = |m: String| OutputError::Settings(m);
        let topic = match (config.topic.as_str(), config.topic_prefix.as_str()) {
            ("", "") => template("telegraf/{{ .Tag \"host\" }}/{{ .Name }}"),
            ("", prefix) => template(&format!("{prefix}/{{{{ .Tag \"host\" }}}}/{{{{ .Name }}}}")),
            (t, _) => template(t),
        }
        .map_err(settings)?;
        if config.qos > 2 {
            return Err(settings(format!("qos {}: 0, 1 or 2", config.qos)));
        }
        let protocol = Protocol::parse(&config.protocol).map_err(settings)?;
        if protocol == Protocol::V311 && config.v5.is_some() {
            tracing::warn!("[outputs.mqtt] [outputs.mqtt.v5] is ignored: protocol is 3.1.1");
        }
        let server = config
            .servers
            .first()
            .ok_or_else(|| settings("servers: none given".into()))?;
        let (address, secure) = match server.split_once("://") {
            Some(("tcp" | "mqtt", rest)) => (rest, false),
            Some(("ssl" | "tls" | "mqtts", rest)) => (rest, true),
            Some((other, _)) => {
                return Err(settings(format!(
                    "servers: {server:?}: scheme {other:?} is not implemented by telegraf-rs \
                     (tcp, mqtt, ssl, tls and mqtts are)"
                )))
            }
            None => (server.as_str(), false),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| settings(format!("servers: {server:?}: bad port")))?,
            ),
            None => (address.to_string(), if secure { 8883 } else { 1883 }),
        };
        let id = match config.client_id.as_str() {
            "" => format!("telegraf-rs-{:016x}", rand::random::<u64>()),
            id => id.to_string(),
        };
        let transport = match secure {
            true => Some(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(
                    crate::tls::TlsOptions {
                        ca: config.tls_ca.clone(),
                        cert: config.tls_cert.clone(),
                        key: config.tls_key.clone(),
                        insecure_skip_verify: config.insecure_skip_verify,
                    }
                    .client_config()
                    .map_err(settings)?,
                ),
            )),
            false => None,
        };
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (client, driver) = match protocol {
            Protocol::V311 => {
                let mut options = MqttOptions::new(id, host, port);
                options.set_keep_alive(Duration::from_secs(30));
                if !config.username.is_empty() {
                    options.set_credentials(config.username.clone(), config.password.clone());
                }
                if let Some(t) = transport {
                    options.set_transport(t);
                }
                let (client, mut events) = AsyncClient::new(options, 1000);
                let driver = tokio::spawn(async move {
                    loop {
                        let report = match events.poll().await {
                            Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => Ok(()),
                            Ok(_) => continue,
                            Err(e) => Err(e.to_string()),
                        };
                        if !report_ack(&ack_tx, report).await {
                            return;
                        }
                    }
                });
                (Client::V311(client), driver)
            }
            Protocol::V5 => {
                use rumqttc::v5::mqttbytes::v5::Packet as V5Packet;
                let mut options = rumqttc::v5::MqttOptions::new(id, host, port);
                options.set_keep_alive(Duration::from_secs(30));
                if !config.username.is_empty() {
                    options.set_credentials(config.username.clone(), config.password.clone());
                }
                if let Some(t) = transport {
                    options.set_transport(t);
                }
                let (client, mut events) = rumqttc::v5::AsyncClient::new(options, 1000);
                let driver = tokio::spawn(async move {
                    loop {
                        let report = match events.poll().await {
                            Ok(rumqttc::v5::Event::Incoming(
                                V5Packet::PubAck(_) | V5Packet::PubComp(_),
                            )) => Ok(()),
                            Ok(_) => continue,
                            Err(e) => Err(e.to_string()),
                        };
                        if !report_ack(&ack_tx, report).await {
                            return;
                        }
                    }
                });
                let properties = config.v5.clone().unwrap_or_default().to_rumqttc();
                (Client::V5(client, properties), driver)
            }
        };
        Ok(MqttOutput {
            topic,
            qos: config.qos,
            retain: config.retain,
            timeout: config.timeout.0.max(Duration::from_millis(100)),
            serializer: Serializer::new(&config.serializer).map_err(settings)?,
            client,
            acks,
            driver,
        })
    }

    fn topic_of(&self, m: &Metric) -> String {
        self.topic
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Name => m.name.as_str(),
                Part::Tag(k) => m.tags.get(k).map_or("", String::as_str),
            })
            .collect::<String>()
            .split('/')
            .filter(|level| !level.is_empty())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Publishes one batch (line protocol from the buffer), a message per metric.
    pub async fn write(&mut self, body: &[u8]) -> Result<WriteOutcome, OutputError> {
        while self.acks.try_recv().is_ok() {}
        let metrics = crate::serializers::metrics_of(body);
        for m in &metrics {
            let mut payload = Vec::new();
            self.serializer.metric(m, &mut payload);
            let topic = self.topic_of(m);
            let sent = match &self.client {
                Client::V311(c) => c
                    .publish(topic, crate::mqtt::qos(self.qos), self.retain, payload)
                    .await
                    .map_err(|e| e.to_string()),
                Client::V5(c, properties) => c
                    .publish_with_properties(
                        topic,
                        crate::mqtt::qos_v5(self.qos),
                        self.retain,
                        payload,
                        properties.clone(),
                    )
                    .await
                    .map_err(|e| e.to_string()),
            };
            sent.map_err(OutputError::Retry)?;
        }
        if self.qos == 0 {
            return Ok(WriteOutcome::Written);
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut acknowledged = 0;
        while acknowledged < metrics.len() {
            match tokio::time::timeout_at(deadline, self.acks.recv()).await {
                Ok(Some(Ok(()))) => acknowledged += 1,
                Ok(Some(Err(e))) => return Err(OutputError::Retry(format!("broker: {e}"))),
                Ok(None) => return Err(OutputError::Retry("the connection task stopped".into())),
                Err(_) => {
                    return Err(OutputError::Retry(format!(
                        "{acknowledged} of {} messages acknowledged within {:?}",
                        metrics.len(),
                        self.timeout
                    )))
                }
            }
        }
        Ok(WriteOutcome::Written)
    }
}

/// Hands the connection task's news (an acknowledgement, or why the connection failed, after
/// which it waits a second before trying again) to the writer; false once the output is gone.
async fn report_ack(
    to: &mpsc::UnboundedSender<Result<(), String>>,
    report: Result<(), String>,
) -> bool {
    let failed = report.is_err();
    if to.send(report).is_err() {
        return false;
    }
    if failed {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_templates() {
        assert_eq!(
            template("a/{{ .Tag \"host\" }}/{{.Name}}").unwrap(),
            [
                Part::Text("a/".into()),
                Part::Tag("host".into()),
                Part::Text("/".into()),
                Part::Name,
                Part::Text(String::new())
            ]
        );
        assert!(template("{{ .Fields }}").is_err());
        assert!(template("{{ .Name").is_err());
    }

    #[tokio::test]
    async fn schemes_and_tls_files_are_checked_when_built() {
        let with = |servers: &str, ca: &str| MqttConfig {
            servers: vec![servers.into()],
            tls_ca: ca.into(),
            ..MqttConfig::default()
        };
        let err = MqttOutput::new(&with("ws://broker:80", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"ws\""), "{err}");
        let err = MqttOutput::new(&with("ssl://broker:8883", "/nonexistent/ca.pem"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        assert!(MqttOutput::new(&with("tcp://127.0.0.1:1", "")).is_ok());
    }
}
