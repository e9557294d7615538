//! `inputs.socket_listener`: a service input receiving line protocol (or JSON) over TCP, UDP or
//! a Unix socket. Lines of a stream are split on `\n`; a bad line is logged and skipped, the
//! others are kept. Timestamps come from the data, or the arrival time.
//!
//! Whatever a client sends, memory stays bounded: a line may be at most [`MAX_LINE`] bytes (as
//! Telegraf's scanner, which closes the connection on a longer one), and parse errors are
//! logged at most [`ERRORS_PER_SECOND`] a second, each cut to [`LOGGED_BYTES`].

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError, ServiceFuture};
use crate::metric::now_nanos;
use crate::metric::Metric;
use crate::options::GoDuration;
use crate::parsers::{Parser, ParserConfig};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, Semaphore};

/// Options of `[[inputs.socket_listener]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct SocketListenerConfig {
    /// `tcp://:8094`, `udp://127.0.0.1:8094`, `tcp4://`, `udp6://`, `unix:///path`.
    pub service_address: String,
    /// Most open stream connections (0: no limit).
    pub max_connections: usize,
    /// Close a stream connection idle this long (0: never).
    pub read_timeout: GoDuration,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

/// A bound listening socket (`socket_listener`, `syslog`).
pub(crate) enum Socket {
    /// A TCP listener.
    Tcp(std::net::TcpListener),
    /// A UDP socket.
    Udp(std::net::UdpSocket),
    /// A Unix stream listener.
    Unix(std::os::unix::net::UnixListener),
}

/// Binds `address` (`tcp://:8094`, `udp://127.0.0.1:8094`, `tcp4://`, `udp6://`,
/// `unix:///path`) now, non-blocking, so that a busy port fails the start; the error says why.
pub(crate) fn bind(address: &str) -> Result<Socket, String> {
    let (scheme, rest) = address
        .split_once("://")
        .ok_or_else(|| "expected scheme://address".to_string())?;
    let host_port = |rest: &str| {
        if rest.starts_with(':') {
            format!("0.0.0.0{rest}")
        } else {
            rest.to_string()
        }
    };
    let io = |e: std::io::Error| e.to_string();
    Ok(match scheme {
        "tcp" | "tcp4" | "tcp6" => {
            let l = std::net::TcpListener::bind(host_port(rest)).map_err(io)?;
            l.set_nonblocking(true).map_err(io)?;
            Socket::Tcp(l)
        }
        "udp" | "udp4" | "udp6" => {
            let s = std::net::UdpSocket::bind(host_port(rest)).map_err(io)?;
            s.set_nonblocking(true).map_err(io)?;
            Socket::Udp(s)
        }
        "unix" => {
            let _ = std::fs::remove_file(rest);
            let l = std::os::unix::net::UnixListener::bind(rest).map_err(io)?;
            l.set_nonblocking(true).map_err(io)?;
            Socket::Unix(l)
        }
        other => {
            return Err(format!(
                "scheme {other:?} is not implemented by telegraf-rs"
            ))
        }
    })
}

/// Builds the input and binds its socket now, so a busy port fails the start.
pub fn build(
    config: &SocketListenerConfig,
    _: &BuildContext,
) -> Result<Box<dyn Input>, InputError> {
    let parser = Parser::new(&config.parser, "influx").map_err(InputError::Settings)?;
    let socket = bind(&config.service_address).map_err(|m| {
        InputError::Settings(format!("service_address {:?}: {m}", config.service_address))
    })?;
    Ok(Box::new(SocketListener {
        config: config.clone(),
        parser: Arc::new(parser),
        socket: Some(socket),
    }))
}

struct SocketListener {
    config: SocketListenerConfig,
    parser: Arc<Parser>,
    socket: Option<Socket>,
}

impl Input for SocketListener {
    fn gather<'a>(&'a mut self, _: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn serve(&mut self, sink: mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let socket = self.socket.take()?;
        let parser = self.parser.clone();
        let config = self.config.clone();
        Some(Box::pin(async move {
            if let Err(e) = serve_socket(socket, &config, parser, sink).await {
                tracing::error!(address = %config.service_address, "socket_listener: {e}");
            }
        }))
    }
}

async fn serve_socket(
    socket: Socket,
    config: &SocketListenerConfig,
    parser: Arc<Parser>,
    sink: mpsc::Sender<Vec<Metric>>,
) -> std::io::Result<()> {
    let errors = Arc::new(ErrorLog::new("socket_listener"));
    match socket {
        Socket::Tcp(l) => {
            let listener = tokio::net::TcpListener::from_std(l)?;
            accept_loop(
                || async { listener.accept().await.map(|(s, _)| s) },
                config,
                parser,
                sink,
                errors,
            )
            .await;
        }
        Socket::Unix(l) => {
            let listener = tokio::net::UnixListener::from_std(l)?;
            accept_loop(
                || async { listener.accept().await.map(|(s, _)| s) },
                config,
                parser,
                sink,
                errors,
            )
            .await;
        }
        Socket::Udp(s) => {
            datagrams(tokio::net::UdpSocket::from_std(s)?, parser, sink, &errors).await
        }
    }
    Ok(())
}

async fn accept_loop<S, F, Fut>(
    accept: F,
    config: &SocketListenerConfig,
    parser: Arc<Parser>,
    sink: mpsc::Sender<Vec<Metric>>,
    errors: Arc<ErrorLog>,
) where
    S: AsyncRead + Unpin + Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<S>>,
{
    let limit = Arc::new(Semaphore::new(match config.max_connections {
        0 => Semaphore::MAX_PERMITS,
        n => n,
    }));
    loop {
        let stream = match accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("socket_listener: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::warn!("socket_listener: too many connections; one refused");
            continue;
        };
        let (parser, sink, timeout) = (parser.clone(), sink.clone(), config.read_timeout.0);
        let errors = Arc::clone(&errors);
        tokio::spawn(async move {
            stream_lines(stream, &parser, &sink, timeout, &errors).await;
            drop(permit);
        });
    }
}

/// Most lines parsed into one batch for the agent.
const BATCH_LINES: usize = 1000;

/// The longest line a stream may send: Telegraf's 64 KiB (Go's `bufio.MaxScanTokenSize`).
pub const MAX_LINE: usize = 64 * 1024;

/// Parse errors logged per second at most; the others are counted and reported.
pub const ERRORS_PER_SECOND: u64 = 10;

/// How much of a bad line a log message shows.
pub const LOGGED_BYTES: usize = 1024;

/// Keeps the parse-error log to [`ERRORS_PER_SECOND`], whatever the clients send.
#[derive(Debug)]
pub(crate) struct ErrorLog {
    plugin: &'static str,
    window: std::sync::Mutex<(Instant, u64)>,
    suppressed: AtomicU64,
}

impl ErrorLog {
    /// A log of `plugin`'s errors that has logged nothing yet.
    pub(crate) fn new(plugin: &'static str) -> ErrorLog {
        ErrorLog {
            plugin,
            window: std::sync::Mutex::new((Instant::now(), 0)),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether one more message may be logged now; when a new second starts, how many were
    /// left out in the ones before is logged first.
    pub(crate) fn allow(&self) -> bool {
        let mut w = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if w.0.elapsed() >= Duration::from_secs(1) {
            *w = (Instant::now(), 0);
            let left_out = self.suppressed.swap(0, Ordering::Relaxed);
            if left_out > 0 {
                tracing::warn!("{}: {left_out} more parse errors not logged", self.plugin);
            }
        }
        if w.1 < ERRORS_PER_SECOND {
            w.1 += 1;
            true
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// At most [`LOGGED_BYTES`] of `data`, as text, marked when cut.
pub(crate) fn shown(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(LOGGED_BYTES)]);
    let text = text.trim_end();
    if data.len() > LOGGED_BYTES {
        format!("{text}… ({} bytes)", data.len())
    } else {
        text.to_string()
    }
}

/// Reads up to and including the next `\n` into `line` (cleared first), at most
/// [`MAX_LINE`] bytes: `Ok(0)` at the end of the stream, `Err` for a longer line.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    line.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(line.len());
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a line is longer than {MAX_LINE} bytes"),
            ));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done {
            return Ok(line.len());
        }
    }
}

async fn stream_lines<S: AsyncRead + Unpin>(
    stream: S,
    parser: &Parser,
    sink: &mpsc::Sender<Vec<Metric>>,
    timeout: std::time::Duration,
    errors: &ErrorLog,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = Vec::new();
    let mut batch = Vec::new();
    loop {
        let read = read_line(&mut reader, &mut line);
        let n = if timeout.is_zero() {
            read.await
        } else {
            match tokio::time::timeout(timeout, read).await {
                Ok(r) => r,
                Err(_) => Ok(0),
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // As Telegraf: the connection is closed, what came before it is kept.
                if errors.allow() {
                    tracing::warn!("socket_listener: {e}: connection closed");
                }
                0
            }
            Err(e) => {
                tracing::debug!("socket_listener: read: {e}");
                0
            }
        };
        if n > 0 {
            parse_into(parser, &line, &mut batch, errors);
        }
        let idle = reader.buffer().is_empty();
        if !batch.is_empty()
            && (n == 0 || idle || batch.len() >= BATCH_LINES)
            && sink.send(std::mem::take(&mut batch)).await.is_err()
        {
            return;
        }
        if n == 0 {
            return;
        }
    }
}

fn parse_into(parser: &Parser, data: &[u8], out: &mut Vec<Metric>, errors: &ErrorLog) {
    match parser.parse(data, "socket_listener", now_nanos()) {
        Ok(metrics) => out.extend(metrics),
        Err(e) if errors.allow() => {
            let e = e.to_string();
            tracing::warn!(
                "socket_listener: unable to parse {:?}: {}",
                shown(data),
                shown(e.as_bytes())
            )
        }
        Err(_) => {}
    }
}

async fn datagrams(
    socket: tokio::net::UdpSocket,
    parser: Arc<Parser>,
    sink: mpsc::Sender<Vec<Metric>>,
    errors: &ErrorLog,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match socket.recv_from(&mut buf).await {
            Ok((n, _)) => n,
            Err(e) => {
                tracing::warn!("socket_listener: receive: {e}");
                continue;
            }
        };
        let mut batch = Vec::new();
        if parser.is_binary() {
            parse_into(&parser, &buf[..n], &mut batch, errors);
        } else {
            // One bad line must not lose the datagram's other lines.
            for line in buf[..n].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                parse_into(&parser, line, &mut batch, errors);
            }
        }
        if !batch.is_empty() && sink.send(batch).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::fixture;
    use std::io::Write;

    fn listener(
        address: &str,
    ) -> (
        Box<dyn Input>,
        mpsc::Receiver<Vec<Metric>>,
        tokio::runtime::Runtime,
    ) {
        listener_of(address, "influx")
    }

    fn listener_of(
        address: &str,
        format: &str,
    ) -> (
        Box<dyn Input>,
        mpsc::Receiver<Vec<Metric>>,
        tokio::runtime::Runtime,
    ) {
        let fx = fixture(&[]);
        let config = SocketListenerConfig {
            service_address: address.into(),
            parser: ParserConfig {
                data_format: Some(format.into()),
                ..ParserConfig::default()
            },
            ..SocketListenerConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(16);
        let service = input.serve(tx).unwrap();
        rt.spawn(service);
        (input, rx, rt)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn receive(
        rt: &tokio::runtime::Runtime,
        rx: &mut mpsc::Receiver<Vec<Metric>>,
        want: usize,
    ) -> Vec<Metric> {
        rt.block_on(async {
            let mut got = Vec::new();
            while got.len() < want {
                match tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await {
                    Ok(Some(batch)) => got.extend(batch),
                    _ => break,
                }
            }
            got
        })
    }

    #[test]
    fn tcp_lines_with_a_bad_one_in_between() {
        let port = free_port();
        let (_input, mut rx, rt) = listener(&format!("tcp://127.0.0.1:{port}"));
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.write_all(b"a v=1i 5\nbroken\nb,t=x v=2\n").unwrap();
        drop(conn);
        let got = receive(&rt, &mut rx, 2);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].time, 5);
        assert_eq!(got[1].tags["t"], "x");
        assert!(
            got[1].time > 1_000_000_000_000_000_000,
            "arrival time stands in"
        );
    }

    #[test]
    fn a_line_past_64_kib_closes_the_connection_and_keeps_what_came_before() {
        let port = free_port();
        let (_input, mut rx, rt) = listener(&format!("tcp://127.0.0.1:{port}"));
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.write_all(b"a v=1i 5\n").unwrap();
        // 300 MiB without a newline would be read forever; the agent stops at 64 KiB.
        let chunk = vec![b'x'; 1 << 20];
        let mut sent = 0usize;
        while sent < 300 << 20 {
            if conn.write_all(&chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        assert!(sent < 300 << 20, "the agent read on past the line limit");
        let got = receive(&rt, &mut rx, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].time, 5);
    }

    #[test]
    fn lines_are_read_within_the_bound() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut line = Vec::new();
        let exact = [vec![b'a'; MAX_LINE - 1], b"\n".to_vec(), b"tail".to_vec()].concat();
        let mut reader = BufReader::with_capacity(1024, exact.as_slice());
        assert_eq!(
            rt.block_on(read_line(&mut reader, &mut line)).unwrap(),
            MAX_LINE
        );
        assert_eq!(rt.block_on(read_line(&mut reader, &mut line)).unwrap(), 4);
        assert_eq!(line, b"tail");
        assert_eq!(rt.block_on(read_line(&mut reader, &mut line)).unwrap(), 0);
        let long = vec![b'a'; MAX_LINE + 1];
        let mut reader = BufReader::with_capacity(1024, long.as_slice());
        assert!(rt.block_on(read_line(&mut reader, &mut line)).is_err());
        assert!(line.len() <= MAX_LINE);
    }

    #[test]
    fn parse_errors_are_logged_cut_and_rate_limited() {
        let log = ErrorLog::new("socket_listener");
        let allowed = (0..1000).filter(|_| log.allow()).count() as u64;
        assert_eq!(allowed, ERRORS_PER_SECOND);
        assert_eq!(
            log.suppressed.load(Ordering::Relaxed),
            1000 - ERRORS_PER_SECOND
        );
        let long = vec![b'z'; 10_000];
        let text = shown(&long);
        assert!(text.len() < LOGGED_BYTES + 32, "{}", text.len());
        assert!(text.ends_with("(10000 bytes)"), "{text}");
        assert_eq!(shown(b"short\n"), "short");
    }

    #[test]
    fn udp_datagrams() {
        let port = free_port();
        let (_input, mut rx, rt) = listener(&format!("udp://127.0.0.1:{port}"));
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(b"u v=1\nu v=2 7\n", ("127.0.0.1", port))
            .unwrap();
        let got = receive(&rt, &mut rx, 2);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].time, 7);
    }

    #[test]
    fn collectd_packets_are_parsed_whole() {
        let port = free_port();
        let (_input, mut rx, rt) = listener_of(&format!("udp://127.0.0.1:{port}"), "collectd");
        let list = crate::parsers::collectd::ValueList {
            host: "h".into(),
            time: 10_000_000_000,
            plugin: "cpu".into(),
            kind: "percent".into(),
            // A value whose bytes hold a newline must not split the packet.
            values: vec![f64::from_le_bytes([b'\n'; 8]), 2.0],
            ..Default::default()
        };
        let packet = crate::parsers::collectd::tests::encode(&[list]);
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(&packet, ("127.0.0.1", port)).unwrap();
        let got = receive(&rt, &mut rx, 2);
        let names: Vec<&str> = got.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["cpu_0", "cpu_1"]);
        assert_eq!(got[1].tags["host"], "h");
    }

    #[test]
    fn a_busy_port_fails_the_build() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let fx = fixture(&[]);
        let config = SocketListenerConfig {
            service_address: format!("tcp://127.0.0.1:{port}"),
            ..SocketListenerConfig::default()
        };
        let err = build(&config, &fx.ctx()).err().unwrap().to_string();
        assert!(err.contains(&port.to_string()), "{err}");
    }
}
