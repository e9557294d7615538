//! Output plugins: where buffered metrics are written. Each is a variant of [`Output`]; the
//! agent runs one writer per output instance, so a slow or failing one holds up nobody else.
//!
//! A write either succeeds, is rejected for good (the batch is dropped and counted, as Telegraf
//! does for 4xx answers), or fails in a way worth retrying (kept in the buffer, retried with
//! back-off).

use crate::options::{parse_options, take_keys, OptionError, Place};
use crate::serializers::{SerializerConfig, SERIALIZER_KEYS};
use serde::Serialize;

pub mod discard;
pub mod file;
pub mod health;
pub mod http;
pub mod influxdb;
pub mod influxdb_v2;
pub mod mqtt;
pub mod prometheus_client;
pub mod socket_writer;

/// A write that did not land.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Worth retrying later: network error, timeout, 5xx, missing database just created.
    #[error("{0}")]
    Retry(String),
    /// Settings that cannot work (found when the output is built).
    #[error("{0}")]
    Settings(String),
}

/// How a write ended when it did not need a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Every metric was accepted.
    Written,
    /// The server refused some or all metrics for good; `dropped` of them are lost.
    Rejected {
        /// Metrics the server did not store.
        dropped: usize,
        /// The server's words.
        reason: String,
    },
}

/// How metrics are turned into lines for one output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineFormat {
    /// Write unsigned integers with `u`.
    pub uint_support: bool,
    /// Leave timestamps out.
    pub omit_timestamp: bool,
}

impl LineFormat {
    /// The metric as one line in this format.
    pub fn line(&self, m: &crate::metric::Metric) -> Result<Vec<u8>, lineproto::WriteError> {
        let mut line = m.to_line(self.uint_support)?;
        if self.omit_timestamp {
            if let Some(space) = line.iter().rposition(|&b| b == b' ') {
                line.truncate(space);
                line.push(b'\n');
            }
        }
        Ok(line)
    }
}

/// A running output.
#[derive(Debug)]
pub enum Output {
    /// `[[outputs.influxdb]]`.
    InfluxDb(influxdb::InfluxDb),
    /// `[[outputs.influxdb_v2]]`.
    InfluxDbV2(influxdb_v2::InfluxDbV2),
    /// `[[outputs.file]]`.
    File(file::FileOutput),
    /// `[[outputs.health]]`.
    Health(health::Health),
    /// `[[outputs.discard]]`.
    Discard(discard::Discard),
    /// `[[outputs.socket_writer]]`.
    SocketWriter(socket_writer::SocketWriter),
    /// `[[outputs.http]]`.
    Http(Box<http::HttpOutput>),
    /// `[[outputs.prometheus_client]]`.
    PrometheusClient(prometheus_client::PrometheusClient),
    /// `[[outputs.mqtt]]`.
    Mqtt(Box<mqtt::MqttOutput>),
}

impl Output {
    /// Writes one batch (`count` lines of line protocol).
    pub async fn write(&mut self, body: &[u8], count: usize) -> Result<WriteOutcome, OutputError> {
        match self {
            Output::InfluxDb(o) => o.write(body, count).await,
            Output::InfluxDbV2(o) => o.write(body, count).await,
            Output::File(o) => o.write(body),
            Output::Health(o) => o.write(body),
            Output::Discard(o) => o.write(),
            Output::SocketWriter(o) => o.write(body).await,
            Output::Http(o) => o.write(body, count).await,
            Output::PrometheusClient(o) => o.write(body),
            Output::Mqtt(o) => o.write(body).await,
        }
    }
}

/// The settings of one output instance, per plugin.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum OutputSettings {
    /// `[[outputs.influxdb]]`.
    InfluxDb(influxdb::InfluxDbConfig),
    /// `[[outputs.influxdb_v2]]`.
    InfluxDbV2(influxdb_v2::InfluxDbV2Config),
    /// `[[outputs.file]]`.
    File(file::FileConfig),
    /// `[[outputs.health]]`.
    Health(health::HealthConfig),
    /// `[[outputs.discard]]`.
    Discard(discard::DiscardConfig),
    /// `[[outputs.socket_writer]]`.
    SocketWriter(socket_writer::SocketWriterConfig),
    /// `[[outputs.http]]`.
    Http(http::HttpConfig),
    /// `[[outputs.prometheus_client]]`.
    PrometheusClient(prometheus_client::PrometheusClientConfig),
    /// `[[outputs.mqtt]]`.
    Mqtt(mqtt::MqttConfig),
}

/// Names of the outputs telegraf-rs implements.
pub const IMPLEMENTED: &[&str] = &[
    "influxdb",
    "influxdb_v2",
    "file",
    "health",
    "discard",
    "socket_writer",
    "http",
    "prometheus_client",
    "mqtt",
];

/// Outputs that take `data_format` and the serializer options.
const SERIALIZING_OUTPUTS: &[&str] = &["file", "socket_writer", "http", "mqtt"];

impl OutputSettings {
    /// Reads the plugin's own options; `None` when telegraf-rs has no such plugin.
    pub fn parse(
        name: &str,
        mut table: toml::Table,
        place: &Place,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Self>, OptionError> {
        let serializer: SerializerConfig = match SERIALIZING_OUTPUTS.contains(&name) {
            true => parse_options(take_keys(&mut table, SERIALIZER_KEYS), place, warnings)?,
            false => SerializerConfig::default(),
        };
        Ok(Some(match name {
            "influxdb" => Self::InfluxDb(parse_options(table, place, warnings)?),
            "influxdb_v2" => Self::InfluxDbV2(parse_options(table, place, warnings)?),
            "file" => {
                let mut c: file::FileConfig = parse_options(table, place, warnings)?;
                c.serializer = serializer;
                Self::File(c)
            }
            "health" => Self::Health(parse_options(table, place, warnings)?),
            "discard" => Self::Discard(parse_options(table, place, warnings)?),
            "socket_writer" => {
                let mut c: socket_writer::SocketWriterConfig =
                    parse_options(table, place, warnings)?;
                c.serializer = serializer;
                Self::SocketWriter(c)
            }
            "http" => {
                let mut c: http::HttpConfig = parse_options(table, place, warnings)?;
                c.serializer = serializer;
                Self::Http(c)
            }
            "prometheus_client" => Self::PrometheusClient(parse_options(table, place, warnings)?),
            "mqtt" => {
                let mut c: mqtt::MqttConfig = parse_options(table, place, warnings)?;
                c.serializer = serializer;
                Self::Mqtt(c)
            }
            _ => return Ok(None),
        }))
    }

    /// The line format this output wants.
    pub fn line_format(&self) -> LineFormat {
        match self {
            Self::InfluxDb(c) => LineFormat {
                uint_support: c.influx_uint_support,
                omit_timestamp: c.influx_omit_timestamp,
            },
            Self::InfluxDbV2(c) => LineFormat {
                uint_support: c.influx_uint_support,
                omit_timestamp: c.influx_omit_timestamp,
            },
            _ => LineFormat::default(),
        }
    }

    /// Builds the running output.
    pub fn build(&self) -> Result<Output, OutputError> {
        Ok(match self {
            Self::InfluxDb(c) => Output::InfluxDb(influxdb::InfluxDb::new(c)?),
            Self::InfluxDbV2(c) => Output::InfluxDbV2(influxdb_v2::InfluxDbV2::new(c)?),
            Self::File(c) => Output::File(file::FileOutput::new(c)?),
            Self::Health(c) => Output::Health(health::Health::new(c)?),
            Self::Discard(_) => Output::Discard(discard::Discard),
            Self::SocketWriter(c) => Output::SocketWriter(socket_writer::SocketWriter::new(c)?),
            Self::Http(c) => Output::Http(Box::new(http::HttpOutput::new(c)?)),
            Self::PrometheusClient(c) => {
                Output::PrometheusClient(prometheus_client::PrometheusClient::new(c)?)
            }
            Self::Mqtt(c) => Output::Mqtt(Box::new(mqtt::MqttOutput::new(c)?)),
        })
    }
}

/// Binds `address` (retrying each second while it is taken, as during a config reload when
/// the old agent still holds it) and serves `app`, each request given at most `timeout`
/// (also the time allowed for a request's header); `plugin` names it in logs.
pub(crate) async fn serve_router(
    address: String,
    app: axum::Router,
    timeout: std::time::Duration,
    plugin: &'static str,
) {
    use axum::http::StatusCode;
    let listener = loop {
        match tokio::net::TcpListener::bind(&address).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::warn!(address = %address, "{plugin}: cannot listen: {e}; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    };
    let app = app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            use axum::response::IntoResponse;
            tokio::time::timeout(timeout, next.run(req))
                .await
                .unwrap_or_else(|_| StatusCode::REQUEST_TIMEOUT.into_response())
        },
    ));
    let default = http_serve::Limits::default();
    let limits = http_serve::Limits {
        header_read_timeout: if timeout.is_zero() {
            default.header_read_timeout
        } else {
            timeout
        },
        ..default
    };
    if let Err(e) = http_serve::serve(listener, app, limits, std::future::pending()).await {
        tracing::error!(address = %address, "{plugin}: {e}");
    }
}

/// A client of the store for an output's settings (`user_agent` empty: telegraf-rs's own).
pub fn store_client<I, S>(
    urls: I,
    auth: influx_client::Auth,
    timeout: std::time::Duration,
    user_agent: &str,
    headers: &std::collections::BTreeMap<String, String>,
    gzip: bool,
) -> Result<influx_client::Client, influx_client::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let agent = if user_agent.is_empty() {
        DEFAULT_USER_AGENT
    } else {
        user_agent
    };
    influx_client::ClientBuilder::new(urls)
        .auth(auth)
        .timeout(timeout)
        .user_agent(agent)
        .headers(headers)
        .gzip(gzip)
        .build()
}

/// The user agent sent when a table sets none.
pub const DEFAULT_USER_AGENT: &str = concat!("telegraf-rs/", env!("CARGO_PKG_VERSION"));
