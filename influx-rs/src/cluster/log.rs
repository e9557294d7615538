//! The replicated log the cluster is built on, behind a small interface of our own: publish an
//! entry and learn the sequence it was stored at once a quorum has it, read the entries in order
//! from a sequence, know the log's first and last sequences, keep small shared records
//! (node heartbeats) and leases, keep the newest snapshot, and trim entries a snapshot covers. JetStream is the one implementation ([`super::nats`]); a Kafka-compatible
//! log would be another.

use std::future::Future;
use std::time::Duration;

/// Why the log could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The log cannot be reached, or has no quorum to store or answer.
    #[error("the cluster's log cannot be reached or has no quorum: {0}")]
    Unavailable(String),
    /// The log answered with something this node cannot use.
    #[error("the cluster's log: {0}")]
    Invalid(String),
}

/// One message read back: its sequence and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in the log, from 1.
    pub sequence: u64,
    /// The message.
    pub payload: Vec<u8>,
}

/// What the log holds now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogState {
    /// The oldest sequence still kept (0 when empty).
    pub first: u64,
    /// The newest sequence (0 when empty).
    pub last: u64,
    /// Bytes the log holds.
    pub bytes: u64,
    /// The server leading the log, when it says: a new one means an election happened.
    pub leader: Option<String>,
    /// How many times this node (re)connected to the log: a change means it was cut off.
    pub connections: u64,
}

/// The entries of the log in order, from a sequence on.
pub trait LogReader: Send {
    /// The next record; waits for one to be published. An error ends the reading: open a new
    /// reader from the sequence after the last record read.
    fn next(&mut self) -> impl Future<Output = Result<Record, LogError>> + Send;
}

/// A replicated, ordered log and a small shared key-value store.
pub trait ReplicatedLog: Send + Sync + 'static {
    /// Its reader.
    type Reader: LogReader + 'static;

    /// Largest message it takes, in bytes.
    fn max_message(&self) -> usize;

    /// Appends `payload`; the sequence it got once the log has stored it durably on a quorum.
    fn publish(&self, payload: Vec<u8>) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// The first and last sequences the log holds.
    fn state(&self) -> impl Future<Output = Result<LogState, LogError>> + Send;

    /// Reads from `sequence` (inclusive) on.
    fn read_from(
        &self,
        sequence: u64,
    ) -> impl Future<Output = Result<Self::Reader, LogError>> + Send;

    /// Sets shared record `key` to `value` (it expires when not set again within the store's
    /// time to live).
    fn put(&self, key: &str, value: Vec<u8>) -> impl Future<Output = Result<(), LogError>> + Send;

    /// Every shared record.
    fn records(&self) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>, LogError>> + Send;

    /// How long a shared record lives without being set again.
    fn record_ttl(&self) -> Duration;

    /// Takes or keeps lease `name` for `holder`: true when `holder` holds it now (it was free,
    /// or already `holder`'s and is renewed). A lease not renewed within [`Self::lease_ttl`]
    /// lapses and another holder may take it.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = Result<bool, LogError>> + Send;

    /// How long a lease lasts without renewal.
    fn lease_ttl(&self) -> Duration;

    /// Keeps the file `tar` (a backup's tar stream) as the cluster's newest snapshot, covering
    /// the log up to `sequence`; it replaces the one before.
    fn put_snapshot(
        &self,
        sequence: u64,
        tar: std::path::PathBuf,
    ) -> impl Future<Output = Result<(), LogError>> + Send;

    /// The sequence the newest snapshot covers; `None` when there is none.
    fn snapshot_sequence(&self) -> impl Future<Output = Result<Option<u64>, LogError>> + Send;

    /// Copies the newest snapshot into the file `tar`; the sequence it covers.
    fn fetch_snapshot(
        &self,
        tar: std::path::PathBuf,
    ) -> impl Future<Output = Result<u64, LogError>> + Send;

    /// The first sequence stored at or after `since`; `None` when every entry is older.
    fn first_since(
        &self,
        since: std::time::SystemTime,
    ) -> impl Future<Output = Result<Option<u64>, LogError>> + Send;

    /// The entry stored at `sequence`; `None` when the log no longer holds it.
    fn entry_at(
        &self,
        sequence: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, LogError>> + Send;

    /// Removes every entry before `sequence`.
    fn trim_before(&self, sequence: u64) -> impl Future<Output = Result<(), LogError>> + Send;
}
