//! `inputs.syslog`: a service input receiving syslog messages — RFC 5424 or RFC 3164 — over
//! UDP (one message per datagram), TCP or a Unix socket (framed by octet counting, RFC 6587's
//! `LEN SP MSG`, or non-transparently, each message ended by `LF` or `NUL`), as Telegraf's
//! syslog input does, one `syslog` metric per message (see [`message::Message::to_metric`]).
//!
//! A message that does not parse is counted and logged (at most
//! [`socket_listener::ERRORS_PER_SECOND`](super::socket_listener::ERRORS_PER_SECOND) a second)
//! and the stream goes on; a frame longer than [`MAX_MESSAGE`] or a broken octet count closes
//! its connection, what came before it kept.

pub mod message;

use super::socket_listener::{bind, shown, ErrorLog, Socket};
use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::{now_nanos, Metric};
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, Semaphore};

/// The longest message accepted (Telegraf's `max_message_length` has no default; this bounds
/// memory whatever a client sends).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Options of `[[inputs.syslog]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SyslogConfig {
    /// `tcp://:6514`, `udp://127.0.0.1:6514`, `unix:///run/syslog.sock`, …
    pub server: String,
    /// `octet-counting` (default) or `non-transparent` (streams only).
    pub framing: String,
    /// The end of a non-transparent frame: `LF` (default) or `NUL`.
    pub trailer: String,
    /// `RFC5424` (default) or `RFC3164`.
    pub syslog_standard: String,
    /// Keep what parsed of a message that is not entirely valid.
    pub best_effort: bool,
    /// What joins a structured-data element's id and a parameter's name (`_`).
    pub sdparam_separator: String,
    /// Most open stream connections (0: no limit).
    pub max_connections: usize,
    /// Close a stream connection idle this long (0: never).
    pub read_timeout: GoDuration,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            server: "tcp://:6514".into(),
            framing: "octet-counting".into(),
            trailer: "LF".into(),
            syslog_standard: "RFC5424".into(),
            best_effort: false,
            sdparam_separator: "_".into(),
            max_connections: 0,
            read_timeout: GoDuration::default(),
        }
    }
}

/// How stream messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    OctetCounting,
    /// Ended by this byte.
    NonTransparent(u8),
}

/// What turns a frame into a metric.
#[derive(Debug, Clone)]
struct Decoder {
    rfc3164: bool,
    best_effort: bool,
    separator: String,
    /// Messages refused so far.
    bad: Arc<AtomicU64>,
    errors: Arc<ErrorLog>,
}

impl Decoder {
    fn decode(&self, frame: &[u8], source: Option<&str>) -> Option<Metric> {
        let now = now_nanos();
        let frame = trim_frame(frame);
        let parsed = match self.rfc3164 {
            true => message::parse_rfc3164(frame, now, self.best_effort),
            false => message::parse_rfc5424(frame, self.best_effort),
        };
        match parsed {
            Ok(m) => Some(m.to_metric(now, source, &self.separator)),
            Err(e) => {
                let bad = self.bad.fetch_add(1, Ordering::Relaxed) + 1;
                if self.errors.allow() {
                    tracing::warn!(
                        "[inputs.syslog] message refused ({bad} so far): {e}: {:?}",
                        shown(frame)
                    );
                }
                None
            }
        }
    }
}

/// A datagram or frame without the line end senders add.
fn trim_frame(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b'\n' | b'\r' | b'\0'))
        .map_or(0, |i| i + 1);
    &b[..end]
}

/// Builds the input and binds its socket now, so a busy port fails the start.
pub fn build(c: &SyslogConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let settings = |m: String| InputError::Settings(m);
    let rfc3164 = match c.syslog_standard.to_ascii_uppercase().as_str() {
        "RFC5424" | "" => false,
        "RFC3164" => true,
        other => {
            return Err(settings(format!(
                "syslog_standard {other:?}: RFC5424 or RFC3164"
            )))
        }
    };
    let framing = match (c.framing.as_str(), c.trailer.to_ascii_uppercase().as_str()) {
        ("octet-counting" | "", _) => Framing::OctetCounting,
        ("non-transparent", "LF" | "") => Framing::NonTransparent(b'\n'),
        ("non-transparent", "NUL") => Framing::NonTransparent(0),
        ("non-transparent", other) => {
            return Err(settings(format!("trailer {other:?}: LF or NUL")))
        }
        (other, _) => {
            return Err(settings(format!(
                "framing {other:?}: octet-counting or non-transparent"
            )))
        }
    };
    let socket = bind(&c.server).map_err(|m| settings(format!("server {:?}: {m}", c.server)))?;
    Ok(Box::new(Syslog {
        socket: Some(socket),
        framing,
        decoder: Decoder {
            rfc3164,
            best_effort: c.best_effort,
            separator: c.sdparam_separator.clone(),
            bad: Arc::new(AtomicU64::new(0)),
            errors: Arc::new(ErrorLog::new("syslog")),
        },
        max_connections: c.max_connections,
        read_timeout: c.read_timeout.0,
    }))
}

struct Syslog {
    socket: Option<Socket>,
    framing: Framing,
    decoder: Decoder,
    max_connections: usize,
    read_timeout: std::time::Duration,
}

impl Input for Syslog {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let socket = self.socket.take()?;
        let (framing, decoder) = (self.framing, self.decoder.clone());
        let limit = Arc::new(Semaphore::new(match self.max_connections {
            0 => Semaphore::MAX_PERMITS,
            n => n,
        }));
        let timeout = self.read_timeout;
        Some(Box::pin(async move {
            match socket {
                Socket::Udp(s) => match tokio::net::UdpSocket::from_std(s) {
                    Ok(s) => datagrams(s, &decoder, &sink).await,
                    Err(e) => tracing::error!("[inputs.syslog] {e}"),
                },
                Socket::Tcp(l) => {
                    let Ok(listener) = tokio::net::TcpListener::from_std(l) else {
                        return;
                    };
                    loop {
                        let Ok((stream, peer)) = listener.accept().await else {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        };
                        let source = Some(peer.ip().to_string());
                        spawn_stream(stream, source, framing, &decoder, &sink, &limit, timeout);
                    }
                }
                Socket::Unix(l) => {
                    let Ok(listener) = tokio::net::UnixListener::from_std(l) else {
                        return;
                    };
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            continue;
                        };
                        spawn_stream(stream, None, framing, &decoder, &sink, &limit, timeout);
                    }
                }
            }
        }))
    }
}

/// Serves one stream connection in its own task, if `limit` allows one more.
fn spawn_stream<S: AsyncRead + Unpin + Send + 'static>(
    stream: S,
    source: Option<String>,
    framing: Framing,
    decoder: &Decoder,
    sink: &mpsc::Sender<Vec<Metric>>,
    limit: &Arc<Semaphore>,
    timeout: std::time::Duration,
) {
    let Ok(permit) = limit.clone().try_acquire_owned() else {
        tracing::warn!("[inputs.syslog] too many connections; one refused");
        return;
    };
    let (decoder, sink) = (decoder.clone(), sink.clone());
    tokio::spawn(async move {
        let mut reader = BufReader::with_capacity(64 * 1024, stream);
        let mut batch = Vec::new();
        loop {
            let next = next_frame(&mut reader, framing);
            let frame = match timeout.is_zero() {
                true => next.await,
                false => tokio::time::timeout(timeout, next)
                    .await
                    .unwrap_or(Ok(None)),
            };
            let frame = match frame {
                Ok(f) => f,
                Err(e) => {
                    if decoder.errors.allow() {
                        tracing::warn!("[inputs.syslog] {e}: connection closed");
                    }
                    None
                }
            };
            let Some(frame) = frame else { break };
            if !trim_frame(&frame).is_empty() {
                batch.extend(decoder.decode(&frame, source.as_deref()));
            }
            if !batch.is_empty()
                && reader.buffer().is_empty()
                && sink.send(std::mem::take(&mut batch)).await.is_err()
            {
                return;
            }
        }
        if !batch.is_empty() {
            let _ = sink.send(batch).await;
        }
        drop(permit);
    });
}

/// The next frame of a stream; `None` at its end. A broken length or a frame over
/// [`MAX_MESSAGE`] is an error (the connection is then closed).
async fn next_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    framing: Framing,
) -> std::io::Result<Option<Vec<u8>>> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let end = match framing {
        Framing::NonTransparent(end) => end,
        Framing::OctetCounting => {
            let mut digits = Vec::new();
            loop {
                let buf = reader.fill_buf().await?;
                let Some(&b) = buf.first() else {
                    return match digits.is_empty() {
                        true => Ok(None),
                        false => Err(invalid("stream ended inside an octet count".into())),
                    };
                };
                reader.consume(1);
                match b {
                    b'0'..=b'9' if digits.len() < 9 => digits.push(b),
                    b' ' if !digits.is_empty() => break,
                    // Line ends between frames are tolerated.
                    b'\n' | b'\r' if digits.is_empty() => {}
                    _ => {
                        return Err(invalid(format!(
                            "expecting an octet count (MSG-LEN SP), found {:?}",
                            char::from(b)
                        )))
                    }
                }
            }
            let len: usize = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(usize::MAX);
            if len > MAX_MESSAGE {
                return Err(invalid(format!(
                    "a message of {len} bytes is over {MAX_MESSAGE}"
                )));
            }
            let mut frame = vec![0; len];
            tokio::io::AsyncReadExt::read_exact(reader, &mut frame).await?;
            return Ok(Some(frame));
        }
    };
    let mut frame = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok((!frame.is_empty()).then_some(frame));
        }
        let (take, done) = match buf.iter().position(|&b| b == end) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if frame.len() + take > MAX_MESSAGE + 1 {
            return Err(invalid(format!("a message is over {MAX_MESSAGE} bytes")));
        }
        frame.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if done {
            return Ok(Some(frame));
        }
    }
}

async fn datagrams(
    socket: tokio::net::UdpSocket,
    decoder: &Decoder,
    sink: &mpsc::Sender<Vec<Metric>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("[inputs.syslog] receive: {e}");
                continue;
            }
        };
        let source = peer.ip().to_string();
        if let Some(m) = decoder.decode(&buf[..n], Some(&source)) {
            if sink.send(vec![m]).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::fixture;
    use crate::metric::FieldValue;
    use std::io::Write;

    fn start(options: &str) -> (mpsc::Receiver<Vec<Metric>>, tokio::runtime::Runtime) {
        let fx = fixture(&[]);
        let config: SyslogConfig = toml::from_str(options).unwrap();
        let mut input = build(&config, &fx.ctx()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(16);
        let serve = input.serve(tx).unwrap();
        rt.spawn(serve);
        (rx, rt)
    }

    fn port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap()
    }

    fn next(rx: &mut mpsc::Receiver<Vec<Metric>>, rt: &tokio::runtime::Runtime) -> Vec<Metric> {
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
                .await
                .ok()
                .flatten()
                .unwrap_or_default()
        })
    }

    #[test]
    fn octet_counted_tcp_stream_with_a_bad_message_in_between() {
        let p = port();
        let (mut rx, rt) = start(&format!("server = \"tcp://127.0.0.1:{p}\""));
        let good = "<13>1 2024-01-02T03:04:05Z host app 1 - - first";
        let bad = "<999>1 nonsense";
        let last = "<14>1 - host app - - [a@1 k=\"v\"] second";
        let mut s = std::net::TcpStream::connect(("127.0.0.1", p)).unwrap();
        write!(
            s,
            "{} {good}{} {bad}{} {last}",
            good.len(),
            bad.len(),
            last.len()
        )
        .unwrap();
        drop(s);
        let mut got = Vec::new();
        while got.len() < 2 {
            let batch = next(&mut rx, &rt);
            assert!(!batch.is_empty(), "only {got:?}");
            got.extend(batch);
        }
        assert_eq!(
            got[0].field("message"),
            Some(&FieldValue::Str("first".into()))
        );
        assert_eq!(got[0].tags["source"], "127.0.0.1");
        assert_eq!(got[1].field("a@1_k"), Some(&FieldValue::Str("v".into())));
        assert_eq!(got[1].tags["severity"], "info");
    }

    #[test]
    fn non_transparent_rfc3164_over_udp_and_unix() {
        let p = port();
        let (mut rx, rt) = start(&format!(
            "server = \"udp://127.0.0.1:{p}\"\nsyslog_standard = \"RFC3164\""
        ));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.send_to(
            b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n",
            ("127.0.0.1", p),
        )
        .unwrap();
        let got = next(&mut rx, &rt);
        assert_eq!(got[0].tags["appname"], "su");
        assert_eq!(got[0].tags["facility"], "auth");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sock");
        let (mut rx, rt) = start(&format!(
            "server = \"unix://{}\"\nframing = \"non-transparent\"\ntrailer = \"NUL\"",
            path.display()
        ));
        let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
        s.write_all(b"<13>1 - h a - - - one\0<13>1 - h a - - - two\0")
            .unwrap();
        drop(s);
        let mut got = Vec::new();
        while got.len() < 2 {
            let batch = next(&mut rx, &rt);
            assert!(!batch.is_empty(), "only {got:?}");
            got.extend(batch);
        }
        assert_eq!(
            got[1].field("message"),
            Some(&FieldValue::Str("two".into()))
        );
        assert!(!got[1].tags.contains_key("source"));
    }

    #[test]
    fn broken_octet_counts_and_oversized_frames_close_the_connection() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let frames = |data: &'static [u8]| {
            rt.block_on(async {
                let mut r = BufReader::new(data);
                let mut out = Vec::new();
                loop {
                    match next_frame(&mut r, Framing::OctetCounting).await {
                        Ok(Some(f)) => out.push(String::from_utf8_lossy(&f).into_owned()),
                        Ok(None) => return Ok(out),
                        Err(e) => return Err((out, e.to_string())),
                    }
                }
            })
        };
        assert_eq!(frames(b"3 abc\n2 de").unwrap(), ["abc", "de"]);
        let (kept, e) = frames(b"3 abcx3 def").unwrap_err();
        assert_eq!(kept, ["abc"]);
        assert!(e.contains("octet count"), "{e}");
        let (_, e) = frames(b"99999999 x").unwrap_err();
        assert!(e.contains("over"), "{e}");
        assert!(frames(b"5 ab").is_err(), "cut short");
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let fx = fixture(&[]);
        for bad in [
            "syslog_standard = \"RFC9999\"",
            "framing = \"chunked\"",
            "framing = \"non-transparent\"\ntrailer = \"CRLF\"",
            "server = \"sctp://:1\"",
        ] {
            let config: SyslogConfig =
                toml::from_str(&format!("server = \"udp://127.0.0.1:0\"\n{bad}"))
                    .or_else(|_| toml::from_str(bad))
                    .unwrap();
            assert!(build(&config, &fx.ctx()).is_err(), "{bad}");
        }
    }
}
