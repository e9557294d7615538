//! The messages of the cluster's log: what a node publishes and every node applies, in order.
//!
//! Each message is one [`Entry`], encoded as:
//!
//! | bytes | content |
//! |---|---|
//! | 1 | format version, `1` |
//! | 1 | kind: `1` write, `2` statement, `3` write compressed with zstd |
//! | 2 + n | origin: the publishing process (`node-id/instance`), u16 LE length + UTF-8 |
//! | 8 | request number at the origin, u64 LE |
//! | 2 + n | database, u16 LE length + UTF-8 |
//! | 2 + n | retention policy ("" = the default), u16 LE length + UTF-8 |
//! | 8 | the origin's `now()` when it accepted the request, i64 LE (ns) |
//! | rest | a write: line protocol with nanosecond timestamps, one point a line (kind 3: that text as one zstd frame, at most [`MAX_WRITE`] bytes once decompressed); a statement: its InfluxQL text |
//!
//! A message of another version or kind, or one cut short, is an [`EntryError`]: the node stops
//! applying there rather than skip it.

/// What a message of the log asks every node to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Who published it, to hand the result back (`node-id/instance`).
    pub origin: String,
    /// The origin's number for the request this message belongs to.
    pub request: u64,
    /// Database the write or statement is for (a statement's default database).
    pub database: String,
    /// Retention policy ("" = the database's default).
    pub retention_policy: String,
    /// The origin's clock when it accepted the request (ns): a statement's `now()`.
    pub now: i64,
    /// The write or the statement.
    pub action: Action,
}

/// The two kinds of entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Points to store: line protocol, nanosecond timestamps.
    Write(Vec<u8>),
    /// An InfluxQL statement that changes state (`CREATE DATABASE`, `DROP SERIES`, …).
    Statement(String),
}

/// The format version this node writes and reads.
pub const VERSION: u8 = 1;
const KIND_WRITE: u8 = 1;
const KIND_STATEMENT: u8 = 2;
const KIND_WRITE_ZSTD: u8 = 3;
/// Writes longer than this are compressed (line protocol shrinks about tenfold, and every byte
/// published is stored `replicas` times and sent to every node).
const COMPRESS_FROM: usize = 4096;
/// Largest write an entry may decompress to.
pub const MAX_WRITE: usize = 64 << 20;

/// A message that is not an entry this node can apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Written by a later influx-rs.
    #[error("log entry format version {0}; this influx-rs reads version {VERSION}")]
    Version(u8),
    /// A kind this version does not know.
    #[error("unknown log entry kind {0}")]
    Kind(u8),
    /// Shorter than its fields say.
    #[error("log entry cut short (reading {0})")]
    Truncated(&'static str),
    /// A text field that is not UTF-8.
    #[error("log entry {0} is not UTF-8")]
    Utf8(&'static str),
    /// A text field longer than 65,535 bytes (never written).
    #[error("log entry {0} is longer than 65535 bytes")]
    TooLong(&'static str),
    /// A compressed write that does not decompress (or past [`MAX_WRITE`]).
    #[error("log entry's compressed write: {0}")]
    Compressed(String),
}

impl Entry {
    /// The message bytes.
    pub fn encode(&self) -> Result<Vec<u8>, EntryError> {
        let compressed;
        let (kind, body): (u8, &[u8]) = match &self.action {
            Action::Write(lines) if lines.len() >= COMPRESS_FROM && lines.len() <= MAX_WRITE => {
                compressed = zstd::bulk::compress(lines, 1)
                    .map_err(|e| EntryError::Compressed(e.to_string()))?;
                (KIND_WRITE_ZSTD, &compressed)
            }
            Action::Write(lines) => (KIND_WRITE, lines),
            Action::Statement(text) => (KIND_STATEMENT, text.as_bytes()),
        };
        let mut out = Vec::with_capacity(32 + self.origin.len() + self.database.len() + body.len());
        out.push(VERSION);
        out.push(kind);
        put_str(&mut out, &self.origin, "origin")?;
        out.extend_from_slice(&self.request.to_le_bytes());
        put_str(&mut out, &self.database, "database")?;
        put_str(&mut out, &self.retention_policy, "retention policy")?;
        out.extend_from_slice(&self.now.to_le_bytes());
        out.extend_from_slice(body);
        Ok(out)
    }

    /// Reads a message.
    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        let mut r = Reader(bytes);
        let version = r.byte("version")?;
        if version != VERSION {
            return Err(EntryError::Version(version));
        }
        let kind = r.byte("kind")?;
        if !matches!(kind, KIND_WRITE | KIND_STATEMENT | KIND_WRITE_ZSTD) {
            return Err(EntryError::Kind(kind));
        }
        let origin = r.string("origin")?;
        let request = u64::from_le_bytes(r.array("request")?);
        let database = r.string("database")?;
        let retention_policy = r.string("retention policy")?;
        let now = i64::from_le_bytes(r.array("now")?);
        let action = match kind {
            KIND_WRITE => Action::Write(r.0.to_vec()),
            KIND_WRITE_ZSTD => Action::Write(
                zstd::bulk::decompress(r.0, MAX_WRITE)
                    .map_err(|e| EntryError::Compressed(e.to_string()))?,
            ),
            _ => Action::Statement(
                std::str::from_utf8(r.0)
                    .map_err(|_| EntryError::Utf8("statement"))?
                    .to_string(),
            ),
        };
        Ok(Entry {
            origin,
            request,
            database,
            retention_policy,
            now,
            action,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str, what: &'static str) -> Result<(), EntryError> {
    let len = u16::try_from(s.len()).map_err(|_| EntryError::TooLong(what))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// The unread rest of a message.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, EntryError> {
        Ok(self.take(1, what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], EntryError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn string(&mut self, what: &'static str) -> Result<String, EntryError> {
        let len = u16::from_le_bytes(self.array(what)?) as usize;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| EntryError::Utf8(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = Entry> {
        (
            ".{0,40}",
            any::<u64>(),
            ".{0,40}",
            ".{0,20}",
            any::<i64>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..6000).prop_map(Action::Write),
                ".{0,200}".prop_map(Action::Statement),
            ],
        )
            .prop_map(
                |(origin, request, database, retention_policy, now, action)| Entry {
                    origin,
                    request,
                    database,
                    retention_policy,
                    now,
                    action,
                },
            )
    }

    proptest! {
        #[test]
        fn entries_read_back_as_written(e in entry()) {
            let bytes = e.encode().unwrap();
            prop_assert_eq!(Entry::decode(&bytes).unwrap(), e);
        }

        #[test]
        fn any_bytes_decode_or_error_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Entry::decode(&bytes);
        }

        #[test]
        fn a_cut_message_is_an_error_not_a_shorter_entry(e in entry(), cut in 0usize..40) {
            let bytes = e.encode().unwrap();
            let fixed = bytes.len() - match &e.action {
                Action::Write(l) => l.len(),
                Action::Statement(s) => s.len(),
            };
            let at = cut.min(fixed.saturating_sub(1));
            prop_assert!(Entry::decode(&bytes[..at]).is_err());
        }
    }

    #[test]
    fn long_writes_travel_compressed_and_read_back_whole() {
        let lines: Vec<u8> = (0..2000)
            .flat_map(|i| format!("cpu,host=h{} usage=0.{i} {i}\n", i % 10).into_bytes())
            .collect();
        let e = Entry {
            origin: "n1/1".into(),
            request: 1,
            database: "db".into(),
            retention_policy: String::new(),
            now: 0,
            action: Action::Write(lines.clone()),
        };
        let bytes = e.encode().unwrap();
        assert_eq!(bytes[1], KIND_WRITE_ZSTD);
        assert!(
            bytes.len() * 4 < lines.len(),
            "{} of {}",
            bytes.len(),
            lines.len()
        );
        assert_eq!(Entry::decode(&bytes).unwrap(), e);
        // A frame that is not zstd is an error, not a write.
        let mut bad = bytes.clone();
        let last = bad.len() - 5;
        bad[last] ^= 0xff;
        bad.truncate(bad.len() - 2);
        assert!(matches!(
            Entry::decode(&bad),
            Err(EntryError::Compressed(_))
        ));
    }

    #[test]
    fn other_versions_and_kinds_are_refused_by_name() {
        let e = Entry {
            origin: "n1/1".into(),
            request: 7,
            database: "db".into(),
            retention_policy: String::new(),
            now: 5,
            action: Action::Statement("CREATE DATABASE x".into()),
        };
        let mut bytes = e.encode().unwrap();
        bytes[0] = 2;
        assert_eq!(Entry::decode(&bytes), Err(EntryError::Version(2)));
        bytes[0] = VERSION;
        bytes[1] = 9;
        assert_eq!(Entry::decode(&bytes), Err(EntryError::Kind(9)));
        let long = Entry {
            database: "x".repeat(70_000),
            ..e
        };
        assert_eq!(long.encode(), Err(EntryError::TooLong("database")));
    }
}
