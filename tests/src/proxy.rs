//! A TCP proxy on a loopback port that the tests can cut and heal: how the nemesis partitions
//! processes that all live on 127.0.0.1 (an influx-rs node from a NATS server, two NATS
//! servers from each other). Cut, it closes every connection it carries and closes each new
//! one at once, as a peer behind a broken network would look to the process on this side.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One proxy: connections to `port` are carried to the target port while it is whole.
pub struct Proxy {
    /// The port it listens on, 127.0.0.1.
    pub port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    cut: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every connection carried, to close them when cut.
    open: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// A proxy to `127.0.0.1:<target>`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                // Ends when the proxy is dropped (it wakes this loop with a connection).
                for client in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    if shared.cut.load(Ordering::SeqCst) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    carry(&shared, client, server);
                }
            })
        };
        Proxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// Breaks the link: open connections are closed, new ones closed at once.
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        let open = std::mem::take(&mut *self.shared.open.lock().unwrap());
        for stream in open {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Mends the link: new connections are carried again.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies both ways on two threads; each ends when its side closes or the link is cut.
fn carry(shared: &Shared, client: TcpStream, server: TcpStream) {
    let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
        client.try_clone(),
        server.try_clone(),
        client.try_clone(),
        server.try_clone(),
    ) else {
        return;
    };
    shared.open.lock().unwrap().extend([c3, s3]);
    std::thread::spawn(move || pipe(client, server));
    std::thread::spawn(move || pipe(s2, c2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    // Ends at end of stream or an error (a cut shuts both sockets down).
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}
