//! Serves an axum [`Router`] the one way every tick-rs daemon does, so that no client can
//! hold a daemon with half-sent requests, idle connections or a panicking handler:
//!
//! - a request's header must arrive within [`Limits::header_read_timeout`], and a kept-alive
//!   connection that sends no next request within that time is closed (hyper starts the same
//!   timer whenever a connection goes idle);
//! - at most [`Limits::max_connections`] connections are served at once; the others wait in
//!   the listen backlog until one closes;
//! - a handler that panics answers `500` with a JSON error, and only its request is lost;
//! - [`runtime`] gives the worker threads stacks large enough for the deepest expressions the
//!   parsers accept (they bound nesting; evaluating a bounded tree still recurses).
//!
//! HTTP/1.1 only, as InfluxDB 1.x, Kapacitor and Chronograf serve.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
//! http_serve::serve(listener, app, http_serve::Limits::default(), std::future::pending()).await
//! # }
//! ```

use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;

/// The stack each runtime thread gets: parsers accept expressions up to 1,000 levels deep,
/// and every later pass over such a tree recurses once per level (unoptimized builds take a
/// few KiB a level). Only the pages a thread touches are ever backed by memory.
pub const WORKER_STACK_SIZE: usize = 16 << 20;

/// How long in-flight requests may take to finish after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long to wait before accepting again after an error such as too many open files.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The bounds a daemon serves within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for a request's header to arrive, and for an idle kept-alive connection
    /// to start its next request.
    pub header_read_timeout: Duration,
    /// Connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    /// Ten seconds to send a header; 1,024 connections at once.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// The multi-threaded tokio runtime every daemon runs on, with [`WORKER_STACK_SIZE`] stacks.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_SIZE)
        .build()
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in flight finish (for at most 30 seconds).
///
/// Errors only if the listener itself fails for good; a failed connection is logged and
/// dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = router.layer(CatchPanicLayer::custom(panic_response));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the shutdown grace period were dropped");
    }
    Ok(())
}

/// The answer to a request whose handler panicked: the panic is logged, the client told.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(
        panic = message,
        "a request handler panicked; only its request was lost"
    );
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        "{\"error\":\"internal error: the request could not be completed\"}\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    fn app() -> Router {
        Router::new()
            .route("/ping", get(|| async { "pong" }))
            .route(
                "/panic",
                get(|| async {
                    let items: Vec<u8> = Vec::new();
                    // An index out of bounds, as a buggy handler would make.
                    format!("{}", items[items.len()])
                }),
            )
    }

    async fn start(limits: Limits) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(serve(listener, app(), limits, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// Reads until the server closes, or `within` passes; the bytes read and whether it closed.
    async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
                Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                Err(_) => return (String::from_utf8_lossy(&out).into(), false),
            }
        }
    }

    fn short() -> Limits {
        Limits {
            header_read_timeout: Duration::from_millis(500),
            max_connections: 2,
        }
    }

    #[tokio::test]
    async fn a_half_sent_header_is_dropped() {
        let (addr, _stop) = start(short()).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(closed, "the half-sent request was kept open");
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_dropped() {
        let (addr, _stop) = start(short()).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(closed, "the idle connection was kept open");
    }

    #[tokio::test]
    async fn a_panic_answers_500_and_the_server_goes_on() {
        let (addr, _stop) = start(Limits::default()).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
        assert!(answer.contains("internal error"), "{answer}");
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(answer.ends_with("pong"), "{answer}");
    }

    #[tokio::test]
    async fn connections_past_the_bound_wait_their_turn() {
        let limits = Limits {
            header_read_timeout: Duration::from_secs(2),
            max_connections: 2,
        };
        let (addr, _stop) = start(limits).await;
        let _held: Vec<TcpStream> = vec![
            TcpStream::connect(addr).await.unwrap(),
            TcpStream::connect(addr).await.unwrap(),
        ];
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        // Not served while the two slots are held...
        let (early, _) = read_until_closed(&mut third, Duration::from_millis(500)).await;
        assert!(early.is_empty(), "{early}");
        // ...and served once the held ones time out.
        let (answer, _) = read_until_closed(&mut third, Duration::from_secs(10)).await;
        assert!(answer.ends_with("pong"), "{answer}");
    }

    #[test]
    fn the_runtime_has_deep_stacks() {
        fn depth(n: usize) -> usize {
            let pad = [n as u8; 1024];
            if n == 0 {
                return pad[0] as usize;
            }
            depth(n - 1) + usize::from(pad[n % 1024] > 0)
        }
        let rt = runtime().unwrap();
        // About 10 MiB of frames: more than a default 2 MiB worker has.
        let n = rt.block_on(async { tokio::spawn(async { depth(8_000) }).await.unwrap() });
        assert!(n > 0);
    }
}
