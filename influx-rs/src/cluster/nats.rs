//! The log on NATS JetStream: one stream (subject `<stream>.log`) replicated on `replicas`
//! servers holds the entries; a key-value bucket (`<stream>-nodes`) holds the nodes'
//! heartbeats, another (`<stream>-leases`) the leases, and an object store
//! (`<stream>-snapshots`) the newest snapshot, as object [`SNAPSHOT`] whose description is
//! `sequence=N`. A publish is acknowledged by JetStream once the stream's quorum stored it. The
//! stream has no limits of its own: entries go only when the cluster trims them behind a
//! snapshot.

use super::log::{LogError, LogReader, LogState, Record, ReplicatedLog};
use crate::config::ClusterConfig;
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a heartbeat lives in the nodes bucket.
const RECORD_TTL: Duration = Duration::from_secs(60);
/// How long a lease lasts without renewal: a dead holder's work moves within this (plus a
/// renewal period).
const LEASE_TTL: Duration = Duration::from_secs(10);
/// How long a publish waits for the quorum's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The snapshot's object name.
pub const SNAPSHOT: &str = "newest";

/// The cluster's log and records on JetStream.
#[derive(Clone)]
pub struct NatsLog {
    js: jetstream::Context,
    stream: stream::Stream,
    nodes: kv::Store,
    leases: kv::Store,
    snapshots: object_store::ObjectStore,
    subject: String,
    max_message: usize,
    /// Times the client (re)connected to a server.
    connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for NatsLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsLog")
            .field("subject", &self.subject)
            .field("max_message", &self.max_message)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(e.to_string())
}

impl NatsLog {
    /// Connects to the servers of `config` and creates the stream and bucket when missing.
    pub async fn connect(config: &ClusterConfig) -> Result<NatsLog, LogError> {
        let connections = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&connections);
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("influx-rs {}", config.node_id))
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                let counted = Arc::clone(&counted);
                async move {
                    if matches!(event, async_nats::Event::Connected) {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
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
        let snapshots_name = format!("{}-snapshots", config.stream);
        let snapshots = match js.get_object_store(&snapshots_name).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: snapshots_name,
                    num_replicas: config.replicas,
                    ..Default::default()
                })
                .await
                .map_err(unavailable)?,
        };
        let max_message = client.server_info().max_payload.max(64 * 1024);
        Ok(NatsLog {
            js,
            stream,
            nodes,
            leases,
            snapshots,
            subject,
            max_message,
            connections,
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
            bytes: info.state.bytes,
            leader: info.cluster.and_then(|c| c.leader),
            connections: self.connections.load(Ordering::Relaxed),
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

    async fn put_snapshot(&self, sequence: u64, tar: std::path::PathBuf) -> Result<(), LogError> {
        let mut file = tokio::fs::File::open(&tar)
            .await
            .map_err(|e| LogError::Invalid(format!("{}: {e}", tar.display())))?;
        self.snapshots
            .put(
                object_store::ObjectMetadata {
                    name: SNAPSHOT.into(),
                    description: Some(format!("sequence={sequence}")),
                    chunk_size: Some(1 << 20),
                },
                &mut file,
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn snapshot_sequence(&self) -> Result<Option<u64>, LogError> {
        match self.snapshots.info(SNAPSHOT).await {
            Ok(info) if !info.deleted => snapshot_sequence_of(&info).map(Some),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn fetch_snapshot(&self, tar: std::path::PathBuf) -> Result<u64, LogError> {
        let mut object = self.snapshots.get(SNAPSHOT).await.map_err(unavailable)?;
        let sequence = snapshot_sequence_of(object.info())?;
        let mut file = tokio::fs::File::create(&tar)
            .await
            .map_err(|e| LogError::Invalid(format!("{}: {e}", tar.display())))?;
        tokio::io::copy(&mut object, &mut file)
            .await
            .map_err(unavailable)?;
        file.sync_all()
            .await
            .map_err(|e| LogError::Invalid(format!("{}: {e}", tar.display())))?;
        Ok(sequence)
    }

    async fn first_since(&self, since: std::time::SystemTime) -> Result<Option<u64>, LogError> {
        let start_time = time::OffsetDateTime::from(since);
        let consumer = self
            .stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time },
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut messages = consumer.messages().await.map_err(unavailable)?;
        // Nothing within a second: every entry is older (a consumer delivers what is stored
        // at once).
        match tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
            Ok(Some(Ok(m))) => Ok(Some(
                m.info()
                    .map_err(|e| LogError::Invalid(e.to_string()))?
                    .stream_sequence,
            )),
            Ok(Some(Err(e))) => Err(unavailable(e)),
            Ok(None) | Err(_) => Ok(None),
        }
    }

    async fn entry_at(&self, sequence: u64) -> Result<Option<Vec<u8>>, LogError> {
        use async_nats::jetstream::stream::LastRawMessageErrorKind;
        match self.stream.get_raw_message(sequence).await {
            Ok(message) => Ok(Some(message.payload.to_vec())),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn trim_before(&self, sequence: u64) -> Result<(), LogError> {
        self.stream
            .purge()
            .sequence(sequence)
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

/// The sequence in a snapshot's description (`sequence=N`).
fn snapshot_sequence_of(info: &object_store::ObjectInfo) -> Result<u64, LogError> {
    info.description
        .as_deref()
        .and_then(|d| d.strip_prefix("sequence="))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            LogError::Invalid(format!(
                "the snapshot's description {:?} names no sequence",
                info.description
            ))
        })
}
