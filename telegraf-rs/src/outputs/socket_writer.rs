//! `outputs.socket_writer`: sends metrics in any data format over TCP, UDP or a Unix socket
//! (`tcp://host:port`, `udp://…`, `unix:///path`, `unixgram:///path`); a connection that
//! fails is dropped and made again at the next flush, the batch kept in the buffer.

use super::{OutputError, WriteOutcome};
use crate::serializers::{Serializer, SerializerConfig};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// Options of `[[outputs.socket_writer]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SocketWriterConfig {
    /// Where to send.
    pub address: String,
    /// The serializer options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub serializer: SerializerConfig,
}

#[derive(Debug)]
enum Target {
    Tcp(String),
    Udp(String),
    Unix(String),
    UnixGram(String),
}

#[derive(Debug)]
enum Connection {
    Tcp(tokio::net::TcpStream),
    Udp(tokio::net::UdpSocket),
    Unix(tokio::net::UnixStream),
    UnixGram(tokio::net::UnixDatagram),
}

/// The running output.
#[derive(Debug)]
pub struct SocketWriter {
    target: Target,
    serializer: Serializer,
    connection: Option<Connection>,
}

impl SocketWriter {
    /// Checks the address and format; connects at the first write.
    pub fn new(config: &SocketWriterConfig) -> Result<Self, OutputError> {
        let bad = |m: String| OutputError::Settings(format!("address {:?}: {m}", config.address));
        let (scheme, rest) = config
            .address
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://address".into()))?;
        let target = match scheme {
            "tcp" | "tcp4" | "tcp6" => Target::Tcp(rest.to_string()),
            "udp" | "udp4" | "udp6" => Target::Udp(rest.to_string()),
            "unix" => Target::Unix(rest.to_string()),
            "unixgram" => Target::UnixGram(rest.to_string()),
            other => return Err(bad(format!("unknown scheme {other:?}"))),
        };
        let serializer = Serializer::new(&config.serializer).map_err(OutputError::Settings)?;
        Ok(SocketWriter {
            target,
            serializer,
            connection: None,
        })
    }

    async fn connect(&self) -> std::io::Result<Connection> {
        Ok(match &self.target {
            Target::Tcp(a) => Connection::Tcp(tokio::net::TcpStream::connect(a).await?),
            Target::Udp(a) => {
                let local = if a.starts_with('[') {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let s = tokio::net::UdpSocket::bind(local).await?;
                s.connect(a).await?;
                Connection::Udp(s)
            }
            Target::Unix(p) => Connection::Unix(tokio::net::UnixStream::connect(p).await?),
            Target::UnixGram(p) => {
                let s = tokio::net::UnixDatagram::unbound()?;
                s.connect(p)?;
                Connection::UnixGram(s)
            }
        })
    }

    /// Sends one batch (line protocol from the buffer, in the configured format).
    pub async fn write(&mut self, body: &[u8]) -> Result<WriteOutcome, OutputError> {
        let fail = |e: std::io::Error| OutputError::Retry(e.to_string());
        if self.connection.is_none() {
            self.connection = Some(self.connect().await.map_err(fail)?);
        }
        let datagram = matches!(self.target, Target::Udp(_) | Target::UnixGram(_));
        // Datagrams carry one metric each; streams the whole batch.
        let pieces: Vec<Vec<u8>> = match datagram {
            true => crate::serializers::metrics_of(body)
                .iter()
                .map(|m| {
                    let mut out = Vec::new();
                    self.serializer.metric(m, &mut out);
                    out
                })
                .collect(),
            false => vec![self.serializer.batch(body, false)],
        };
        let Some(connection) = self.connection.as_mut() else {
            return Err(OutputError::Retry("not connected".into()));
        };
        let mut sent = Ok(());
        for piece in pieces.iter().filter(|p| !p.is_empty()) {
            sent = match connection {
                Connection::Tcp(s) => s.write_all(piece).await,
                Connection::Unix(s) => s.write_all(piece).await,
                Connection::Udp(s) => s.send(piece).await.map(drop),
                Connection::UnixGram(s) => s.send(piece).await.map(drop),
            };
            if sent.is_err() {
                break;
            }
        }
        if let Err(e) = sent {
            self.connection = None;
            return Err(fail(e));
        }
        Ok(WriteOutcome::Written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[tokio::test]
    async fn sends_batches_and_reconnects() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let mut w = SocketWriter::new(&SocketWriterConfig {
            address: format!("tcp://{address}"),
            serializer: SerializerConfig {
                data_format: Some("graphite".into()),
                ..SerializerConfig::default()
            },
        })
        .unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        });
        w.write(b"cpu,host=a v=1 1000000000\n").await.unwrap();
        drop(w);
        assert_eq!(reader.join().unwrap(), "a.cpu.v 1 1\n");
    }

    #[tokio::test]
    async fn a_refused_connection_is_retried_later() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut w = SocketWriter::new(&SocketWriterConfig {
            address: format!("tcp://127.0.0.1:{port}"),
            ..SocketWriterConfig::default()
        })
        .unwrap();
        assert!(matches!(
            w.write(b"m v=1\n").await,
            Err(OutputError::Retry(_))
        ));
        assert!(SocketWriter::new(&SocketWriterConfig {
            address: "ftp://x".into(),
            ..SocketWriterConfig::default()
        })
        .is_err());
    }
}
