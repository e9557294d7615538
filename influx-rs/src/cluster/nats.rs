//! The log on NATS JetStream: one stream (subject `<stream>.log`) replicated on `replicas`
//! servers holds the entries; a key-value bucket (`<stream>-nodes`) holds the nodes'
//! heartbeats. A publish is acknowledged by JetStream once the stream's quorum stored it.

use super::log::{LogError, LogReader, LogState, Record, ReplicatedLog};
use crate::config::ClusterConfig;
use async_nats::jetstream::{self, consumer, kv, stream};
use futures_util::StreamExt;
use std::time::Duration;

/// How long a heartbeat lives in the nodes bucket.
const RECORD_TTL: Duration = Duration::from_secs(60);
/// How long a lease lasts without renewal: a dead holder's work moves within this (plus a
/// renewal period).
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How long a publish waits for the quorum's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The cluster's log and records on JetStream.
#[derive(Debug, Clone)]
pub struct NatsLog {
    js: jetstream::Context,
    stream: stream::Stream,
    nodes: kv::Store,
    leases: kv::Store,
    subject: String,
    max_message: usize,
}

fn unavailable(e: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(e.to_string())
}

impl NatsLog {
    /// Connects to the servers of `config` and creates the stream and bucket when missing.
    pub async fn connect(config: &ClusterConfig) -> Result<NatsLog, LogError> {
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("influx-rs {}", config.node_id))
            .connection_timeout(Duration::from_secs(5));
        if !config.nats_user.is_empty() {
            options =
                options.user_and_password(config.nats_user.clone(), config.nats_password.clone());
        }
        if !config.nats_token.is_empty() {
            options = options.token(config.nats_token.clone());
        }
        if !config.nats_credentials_file.is_empty() {
            options = options
                .credentials_file(&config.nats_credentials_file)
                .await
                .map_err(|e| LogError::Invalid(format!("nats-credentials-file: {e}")))?;
        }
        if !config.nats_ca_file.is_empty() {
            options = options
                .add_root_certificates(config.nats_ca_file.clone().into())
                .require_tls(true);
        }
        let addrs = config
            .nats_urls
            .iter()
            .map(|u| u.parse::<async_nats::ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| LogError::Invalid(format!("nats-urls: {e}")))?;
        let client = options.connect(addrs).await.map_err(unavailable)?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(ACK_TIMEOUT);
        let subject = format!("{}.log", config.stream);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![subject.clone()],
                num_replicas: config.replicas,
                max_age: config.max_log_age,
                max_bytes: if config.max_log_bytes == 0 {
                    -1
                } else {
                    i64::try_from(config.max_log_bytes).unwrap_or(i64::MAX)
                },
                storage: stream::StorageType::File,
                discard: stream::DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let nodes = bucket(
            &js,
            format!("{}-nodes", config.stream),
            RECORD_TTL,
            config.replicas,
        )
        .await?;
        let leases = bucket(
            &js,
            format!("{}-leases", config.stream),
            LEASE_TTL,
            config.replicas,
        )
        .await?;
        let max_message = client.server_info().max_payload.max(64 * 1024);
        Ok(NatsLog {
            js,
            stream,
            nodes,
            leases,
            subject,
            max_message,
        })
    }
}

/// Key-value bucket `name` whose entries live `ttl`, created when missing.
async fn bucket(
    js: &jetstream::Context,
    name: String,
    ttl: Duration,
    replicas: usize,
) -> Result<kv::Store, LogError> {
    match js.get_key_value(&name).await {
        Ok(store) => Ok(store),
        Err(_) => js
            .create_key_value(kv::Config {
                bucket: name,
                history: 1,
                max_age: ttl,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(unavailable),
    }
}

/// Entries read through an ordered consumer: JetStream hands them over in sequence and
/// recreates the consumer itself after a gap.
pub struct NatsReader {
    messages: consumer::pull::Ordered,
}

impl LogReader for NatsReader {
    async fn next(&mut self) -> Result<Record, LogError> {
        match self.messages.next().await {
            None => Err(LogError::Unavailable("the log's reader ended".into())),
            Some(Err(e)) => Err(unavailable(e)),
            Some(Ok(message)) => {
                let sequence = message
                    .info()
                    .map_err(|e| LogError::Invalid(e.to_string()))?
                    .stream_sequence;
                Ok(Record {
                    sequence,
                    payload: message.payload.to_vec(),
                })
            }
        }
    }
}

impl ReplicatedLog for NatsLog {
    type Reader = NatsReader;

    fn max_message(&self) -> usize {
        self.max_message
    }

    async fn publish(&self, payload: Vec<u8>) -> Result<u64, LogError> {
        let ack = self
            .js
            .publish(self.subject.clone(), payload.into())
            .await
            .map_err(unavailable)?;
        let ack = ack.await.map_err(unavailable)?;
        Ok(ack.sequence)
    }

    async fn state(&self) -> Result<LogState, LogError> {
        let info = self.stream.get_info().await.map_err(unavailable)?;
        Ok(LogState {
            first: info.state.first_sequence,
            last: info.state.last_sequence,
        })
    }

    async fn read_from(&self, sequence: u64) -> Result<NatsReader, LogError> {
        let consumer = self
            .stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: sequence.max(1),
                },
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let messages = consumer.messages().await.map_err(unavailable)?;
        Ok(NatsReader { messages })
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), LogError> {
        self.nodes
            .put(key, value.into())
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn records(&self) -> Result<Vec<(String, Vec<u8>)>, LogError> {
        let mut keys = self.nodes.keys().await.map_err(unavailable)?;
        let mut names = Vec::new();
        // Bounded by the nodes that sent a heartbeat within the TTL.
        while let Some(key) = keys.next().await {
            names.push(key.map_err(unavailable)?);
        }
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(value) = self.nodes.get(&name).await.map_err(unavailable)? {
                out.push((name, value.to_vec()));
            }
        }
        Ok(out)
    }

    fn record_ttl(&self) -> Duration {
        RECORD_TTL
    }

    async fn acquire_lease(&self, name: &str, holder: &str) -> Result<bool, LogError> {
        let current = self.leases.entry(name).await.map_err(unavailable)?;
        match current {
            // Ours: renewed only if nobody took it meanwhile (compare and set on its revision).
            Some(e)
                if e.operation == kv::Operation::Put && e.value.as_ref() == holder.as_bytes() =>
            {
                Ok(self
                    .leases
                    .update(name, holder.as_bytes().to_vec().into(), e.revision)
                    .await
                    .is_ok())
            }
            // Someone else's, still alive.
            Some(e) if e.operation == kv::Operation::Put => Ok(false),
            // Free (never taken, or lapsed): create fails if another took it first.
            _ => Ok(self
                .leases
                .create(name, holder.as_bytes().to_vec().into())
                .await
                .is_ok()),
        }
    }

    fn lease_ttl(&self) -> Duration {
        LEASE_TTL
    }
}
