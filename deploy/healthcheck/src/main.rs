//! `tick-healthcheck [URL [TIMEOUT_SECS]]`: one plain-HTTP GET, exit 0 on a 2xx answer, 1 with
//! the reason on stderr otherwise. Without arguments the URL comes from `TICK_HEALTHCHECK_URL`
//! (how the image's one `HEALTHCHECK` serves four daemons). The tick-rs images are `FROM scratch` (no shell, no curl), so
//! their `HEALTHCHECK` runs this; it uses only the standard library to stay tiny.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// Why the check failed.
#[derive(Debug)]
enum CheckError {
    Usage(String),
    Connect(String),
    Status(String),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Usage(m) => write!(
                f,
                "usage: tick-healthcheck http://HOST:PORT/PATH [TIMEOUT_SECS]: {m}"
            ),
            CheckError::Connect(m) => write!(f, "unreachable: {m}"),
            CheckError::Status(m) => write!(f, "unhealthy: {m}"),
        }
    }
}

/// `http://host[:port][/path]` split into the address to dial, the Host header and the path.
fn split_url(url: &str) -> Result<(String, String, String), CheckError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| CheckError::Usage(format!("{url:?} is not an http:// URL")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(CheckError::Usage(format!("{url:?} names no host")));
    }
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_string(), path.to_string()))
}

fn check(url: &str, timeout: Duration) -> Result<String, CheckError> {
    let (addr, host, path) = split_url(url)?;
    let target = addr
        .to_socket_addrs()
        .map_err(|e| CheckError::Connect(format!("{addr}: {e}")))?
        .next()
        .ok_or_else(|| CheckError::Connect(format!("{addr}: no address")))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .map_err(|e| CheckError::Connect(format!("{addr}: {e}")))?;
    let io = |e: std::io::Error| CheckError::Connect(format!("{addr}: {e}"));
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    // One write: a server that answers after its first read must have the whole request.
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: tick-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io)?;
    // The status line is all that is needed; 512 bytes hold it, however it arrives.
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() && !head[..n].contains(&b'\n') {
        match stream.read(&mut head[n..]).map_err(io)? {
            0 => break,
            got => n += got,
        }
    }
    let text = String::from_utf8_lossy(&head[..n]);
    let status_line = text.lines().next().unwrap_or_default().to_string();
    let code = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| CheckError::Status(format!("not an HTTP answer: {status_line:?}")))?;
    if (200..300).contains(&code) {
        Ok(status_line)
    } else {
        Err(CheckError::Status(status_line))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let timeout = args
        .get(1)
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(Duration::from_secs(3), Duration::from_secs);
    let Some(url) = args
        .first()
        .cloned()
        .or_else(|| std::env::var("TICK_HEALTHCHECK_URL").ok())
    else {
        eprintln!(
            "{}",
            CheckError::Usage("no URL given and TICK_HEALTHCHECK_URL unset".into())
        );
        return ExitCode::from(2);
    };
    match check(&url, timeout) {
        Ok(status) => {
            println!("{url}: {status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve_once(answer: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                // The whole request first: closing with unread bytes would reset the answer.
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(answer.as_bytes());
            }
        });
        format!("http://{addr}/health")
    }

    #[test]
    fn urls_split_into_address_host_and_path() {
        let (a, h, p) = split_url("http://influxdb:8086/health").unwrap();
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("influxdb:8086", "influxdb:8086", "/health")
        );
        let (a, _, p) = split_url("http://example").unwrap();
        assert_eq!((a.as_str(), p.as_str()), ("example:80", "/"));
        assert!(matches!(split_url("https://x/"), Err(CheckError::Usage(_))));
        assert!(matches!(split_url("http:///x"), Err(CheckError::Usage(_))));
    }

    #[test]
    fn a_2xx_answer_is_healthy_and_others_are_not() {
        let ok = serve_once("HTTP/1.1 204 No Content\r\n\r\n");
        assert!(check(&ok, Duration::from_secs(5)).is_ok());
        let bad = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = check(&bad, Duration::from_secs(5)).unwrap_err().to_string();
        assert!(err.contains("503"), "{err}");
        let junk = serve_once("hello\r\n");
        assert!(matches!(
            check(&junk, Duration::from_secs(5)),
            Err(CheckError::Status(_))
        ));
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = check(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(2));
        assert!(matches!(err, Err(CheckError::Connect(_))));
    }
}
