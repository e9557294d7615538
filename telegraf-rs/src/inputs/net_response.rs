//! `inputs.net_response`: whether a TCP or UDP service answers — connect (and for UDP, send),
//! optionally send a string and look for an expected one in the first line of the answer —
//! as `net_response` with tags `server`, `port`, `protocol`, `result` and fields
//! `response_time` (seconds), `result_code`, `result_type`, `string_found`.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Options of `[[inputs.net_response]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct NetResponseConfig {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// `host:port`.
    pub address: String,
    /// How long to wait for the connection.
    pub timeout: GoDuration,
    /// How long to wait for the answer.
    pub read_timeout: GoDuration,
    /// What to send once connected.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub send: String,
    /// A regular expression the first line of the answer must contain.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expect: String,
}

impl Default for NetResponseConfig {
    fn default() -> Self {
        NetResponseConfig {
            protocol: "tcp".into(),
            address: String::new(),
            timeout: GoDuration::secs(1),
            read_timeout: GoDuration::secs(1),
            send: String::new(),
            expect: String::new(),
        }
    }
}

/// How a check ended, with Telegraf's codes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Success = 0,
    Timeout = 1,
    ConnectionFailed = 2,
    ReadFailed = 3,
    StringMismatch = 4,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Timeout => "timeout",
            Outcome::ConnectionFailed => "connection_failed",
            Outcome::ReadFailed => "read_failed",
            Outcome::StringMismatch => "string_mismatch",
        }
    }
}

/// Builds the input; the address needs a port, UDP needs `send` and `expect`.
pub fn build(c: &NetResponseConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: &str| InputError::Settings(m.to_string());
    let (host, port) = c
        .address
        .rsplit_once(':')
        .ok_or_else(|| settings("address: expected host:port"))?;
    port.parse::<u16>()
        .map_err(|_| settings("address: bad port"))?;
    match c.protocol.as_str() {
        "tcp" => {}
        "udp" if c.send.is_empty() || c.expect.is_empty() => {
            return Err(settings("send and expect are required with protocol udp"))
        }
        "udp" => {}
        other => {
            return Err(InputError::Settings(format!(
                "protocol {other:?}: tcp or udp"
            )))
        }
    }
    let expect = match c.expect.as_str() {
        "" => None,
        e => Some(regex::Regex::new(e).map_err(|e| InputError::Settings(format!("expect: {e}")))?),
    };
    Ok(Box::new(NetResponse {
        config: c.clone(),
        host: host.trim_matches(['[', ']']).to_string(),
        port: port.to_string(),
        expect,
    }))
}

struct NetResponse {
    config: NetResponseConfig,
    host: String,
    port: String,
    expect: Option<regex::Regex>,
}

impl NetResponse {
    fn matches(&self, answer: &str) -> Outcome {
        match &self.expect {
            Some(re) if !re.is_match(answer) => Outcome::StringMismatch,
            _ => Outcome::Success,
        }
    }

    async fn tcp(&self) -> (Outcome, Duration) {
        let start = Instant::now();
        let connect = tokio::net::TcpStream::connect(&self.config.address);
        let mut stream = match tokio::time::timeout(self.config.timeout.0, connect).await {
            Err(_) => return (Outcome::Timeout, start.elapsed()),
            Ok(Err(_)) => return (Outcome::ConnectionFailed, start.elapsed()),
            Ok(Ok(s)) => s,
        };
        if !self.config.send.is_empty()
            && stream.write_all(self.config.send.as_bytes()).await.is_err()
        {
            return (Outcome::ConnectionFailed, start.elapsed());
        }
        if self.expect.is_none() {
            return (Outcome::Success, start.elapsed());
        }
        let mut line = String::new();
        let mut reader = BufReader::new(stream).take(64 * 1024);
        let read =
            tokio::time::timeout(self.config.read_timeout.0, reader.read_line(&mut line)).await;
        let elapsed = start.elapsed();
        match read {
            Ok(Ok(n)) if n > 0 => (self.matches(line.trim_end_matches(['\r', '\n'])), elapsed),
            _ => (Outcome::ReadFailed, elapsed),
        }
    }

    async fn udp(&self) -> (Outcome, Duration) {
        let start = Instant::now();
        let local = if self.host.contains(':') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let Ok(socket) = tokio::net::UdpSocket::bind(local).await else {
            return (Outcome::ConnectionFailed, start.elapsed());
        };
        if socket.connect(&self.config.address).await.is_err()
            || socket.send(self.config.send.as_bytes()).await.is_err()
        {
            return (Outcome::ConnectionFailed, start.elapsed());
        }
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(self.config.read_timeout.0, socket.recv(&mut buf)).await;
        let elapsed = start.elapsed();
        match read {
            Ok(Ok(n)) => (self.matches(&String::from_utf8_lossy(&buf[..n])), elapsed),
            _ => (Outcome::ReadFailed, elapsed),
        }
    }
}

impl Input for NetResponse {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let (outcome, elapsed) = match self.config.protocol.as_str() {
                "udp" => self.udp().await,
                _ => self.tcp().await,
            };
            let mut m: Metric = acc
                .metric("net_response")
                .with_tag("server", self.host.clone())
                .with_tag("port", self.port.clone())
                .with_tag("protocol", self.config.protocol.clone())
                .with_tag("result", outcome.name())
                .with_field("result_code", outcome as u64)
                .with_field("result_type", outcome.name());
            if !self.config.expect.is_empty() {
                m.add_field("string_found", outcome == Outcome::Success);
            }
            if matches!(
                outcome,
                Outcome::Success | Outcome::StringMismatch | Outcome::ReadFailed
            ) {
                m.add_field("response_time", elapsed.as_secs_f64());
            }
            acc.push(m);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;
    use std::io::{Read, Write};

    fn config(address: String, send: &str, expect: &str) -> NetResponseConfig {
        NetResponseConfig {
            address,
            send: send.into(),
            expect: expect.into(),
            ..NetResponseConfig::default()
        }
    }

    /// A TCP server answering `answer` to one connection after reading what it is sent.
    fn server(answer: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 16];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer.as_bytes());
            }
        });
        address
    }

    fn result(c: NetResponseConfig) -> (String, Option<FieldValue>, Option<FieldValue>) {
        let fx = fixture(&[]);
        let mut input = build(&c, &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        (
            m.tags["result"].clone(),
            m.field("result_code").cloned(),
            m.field("string_found").cloned(),
        )
    }

    #[test]
    fn tcp_outcomes() {
        let ok = result(config(server("SSH-2.0-OpenSSH\r\n"), "hello", "SSH-2\\.0"));
        assert_eq!(
            ok,
            (
                "success".into(),
                Some(FieldValue::UInt(0)),
                Some(FieldValue::Bool(true))
            )
        );
        let bad = result(config(server("220 smtp\r\n"), "hi", "SSH"));
        assert_eq!(bad.0, "string_mismatch");
        assert_eq!(bad.1, Some(FieldValue::UInt(4)));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let refused = result(config(format!("127.0.0.1:{port}"), "", ""));
        assert_eq!(refused.0, "connection_failed");
        assert_eq!(refused.2, None);
    }

    #[test]
    fn udp_needs_send_and_expect() {
        let fx = fixture(&[]);
        let mut c = config("127.0.0.1:53".into(), "", "");
        c.protocol = "udp".into();
        assert!(build(&c, &fx.ctx()).is_err());
        let echo = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = echo.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            if let Ok((n, from)) = echo.recv_from(&mut buf) {
                let _ = echo.send_to(&buf[..n], from);
            }
        });
        let mut c = config(address, "ping", "pi.g");
        c.protocol = "udp".into();
        assert_eq!(result(c).0, "success");
    }
}
