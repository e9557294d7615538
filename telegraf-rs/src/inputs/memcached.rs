//! `inputs.memcached`: each server's `stats` answer — the counters Telegraf sends, as
//! integers, tagged `server`.

use super::{gathered_all, Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Options of `[[inputs.memcached]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MemcachedConfig {
    /// `host:port` addresses.
    pub servers: Vec<String>,
    /// Unix socket paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unix_sockets: Vec<String>,
}

impl Default for MemcachedConfig {
    fn default() -> Self {
        MemcachedConfig {
            servers: vec!["localhost:11211".into()],
            unix_sockets: Vec::new(),
        }
    }
}

/// The `stats` values Telegraf sends, in its order.
const SENT: &[&str] = &[
    "accepting_conns",
    "auth_cmds",
    "auth_errors",
    "bytes",
    "bytes_read",
    "bytes_written",
    "cas_badval",
    "cas_hits",
    "cas_misses",
    "cmd_flush",
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "conn_yields",
    "connection_structures",
    "curr_connections",
    "curr_items",
    "decr_hits",
    "decr_misses",
    "delete_hits",
    "delete_misses",
    "evicted_active",
    "evicted_unfetched",
    "evictions",
    "expired_unfetched",
    "get_expired",
    "get_flushed",
    "get_hits",
    "get_misses",
    "hash_bytes",
    "hash_is_expanding",
    "hash_power_level",
    "incr_hits",
    "incr_misses",
    "limit_maxbytes",
    "listen_disabled_num",
    "max_connections",
    "reclaimed",
    "rejected_connections",
    "store_no_memory",
    "store_too_large",
    "threads",
    "total_connections",
    "total_items",
    "touch_hits",
    "touch_misses",
    "uptime",
];

/// How long a server may take to connect and answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the input.
pub fn build(c: &MemcachedConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Memcached(c.clone())))
}

struct Memcached(MemcachedConfig);

/// The metric of one `stats` answer (`STAT name value` lines up to `END`).
pub fn stats_metric(answer: &str, mut m: Metric) -> Result<Metric, String> {
    let mut values = std::collections::HashMap::new();
    for line in answer.lines() {
        let line = line.trim_end();
        if line == "END" {
            break;
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("STAT"), Some(name), Some(value)) => {
                values.insert(name, value);
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    for name in SENT {
        if let Some(value) = values.get(name) {
            let v = match value.parse::<i64>() {
                Ok(i) => FieldValue::Int(i),
                Err(_) => FieldValue::Str(value.to_string()),
            };
            m.add_field(*name, v);
        }
    }
    Ok(m)
}

/// Sends `stats` on `stream` and reads the answer up to `END`.
async fn ask<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: S,
) -> std::io::Result<String> {
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(b"stats\r\n").await?;
    let mut answer = String::new();
    loop {
        let before = answer.len();
        if reader.read_line(&mut answer).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before END",
            ));
        }
        if answer[before..].trim_end() == "END" {
            return Ok(answer);
        }
        if answer.len() > 1 << 20 {
            return Err(std::io::Error::other("answer larger than 1 MiB"));
        }
    }
}

impl Memcached {
    async fn stats(&self, address: &str, unix: bool) -> Result<String, String> {
        let answer = async {
            match unix {
                true => ask(tokio::net::UnixStream::connect(address).await?).await,
                false => ask(tokio::net::TcpStream::connect(address).await?).await,
            }
        };
        match tokio::time::timeout(TIMEOUT, answer).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {TIMEOUT:?}")),
        }
    }
}

impl Input for Memcached {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            let targets = self.0.servers.iter().map(|s| (s, false));
            let sockets = self.0.unix_sockets.iter().map(|s| (s, true));
            for (address, unix) in targets.chain(sockets).collect::<Vec<_>>() {
                let m = acc.metric("memcached").with_tag("server", address.clone());
                match self
                    .stats(address, unix)
                    .await
                    .and_then(|a| stats_metric(&a, m))
                {
                    Ok(m) => acc.push(m),
                    Err(e) => errors.push(format!("{address}: {e}")),
                }
            }
            gathered_all("memcached", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_answer() {
        let answer = "STAT pid 1\r\nSTAT uptime 10\r\nSTAT version 1.6.18\r\nSTAT curr_items 3\r\nSTAT get_hits 5\r\nEND\r\n";
        let m = stats_metric(answer, Metric::new("memcached", 1)).unwrap();
        assert_eq!(m.field("uptime"), Some(&FieldValue::Int(10)));
        assert_eq!(m.field("curr_items"), Some(&FieldValue::Int(3)));
        assert_eq!(m.field("pid"), None);
        assert_eq!(m.field("version"), None);
        assert!(stats_metric("ERROR\r\n", Metric::new("memcached", 1)).is_err());
    }
}
