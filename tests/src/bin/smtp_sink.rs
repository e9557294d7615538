//! `tick-smtp-sink ADDR DIR`: a minimal SMTP server for the compose test. It accepts every
//! message and stores each as `DIR/<n>.eml` (envelope in `X-Envelope-*` headers first), so a test
//! can read what kapacitor-rs sent. It is built statically into its own `FROM scratch` image and
//! joins the compose network; it speaks just enough SMTP for real clients (lettre, Python's
//! smtplib): HELO/EHLO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Longest line or message accepted (a bound, not a feature).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

fn reply(out: &mut TcpStream, text: &str) -> std::io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\r\n")
}

/// Reads one line (without CRLF); `None` at end of stream.
fn read_line(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_MESSAGE as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn session(stream: TcpStream, dir: &Path, counter: &AtomicU64) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    reply(&mut out, "220 tick-smtp-sink ESMTP ready")?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut reader)? {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => reply(
                &mut out,
                "250-tick-smtp-sink\r\n250-8BITMIME\r\n250 SMTPUTF8",
            )?,
            "HELO" => reply(&mut out, "250 tick-smtp-sink")?,
            "MAIL" => {
                from = line.get(10..).unwrap_or_default().to_string();
                to.clear();
                reply(&mut out, "250 OK")?;
            }
            "RCPT" => {
                to.push(line.get(8..).unwrap_or_default().to_string());
                reply(&mut out, "250 OK")?;
            }
            "DATA" => {
                reply(&mut out, "354 End data with <CR><LF>.<CR><LF>")?;
                let mut message = format!(
                    "X-Envelope-From: {from}\r\nX-Envelope-To: {}\r\n",
                    to.join(", ")
                );
                loop {
                    let Some(l) = read_line(&mut reader)? else {
                        return Ok(());
                    };
                    if l == "." {
                        break;
                    }
                    message.push_str(l.strip_prefix('.').unwrap_or(&l));
                    message.push_str("\r\n");
                    if message.len() > MAX_MESSAGE {
                        reply(&mut out, "552 message too big")?;
                        return Ok(());
                    }
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let tmp = dir.join(format!(".{n}.eml.tmp"));
                std::fs::write(&tmp, message)?;
                std::fs::rename(&tmp, dir.join(format!("{n}.eml")))?;
                reply(&mut out, "250 OK: queued")?;
            }
            "RSET" => {
                from.clear();
                to.clear();
                reply(&mut out, "250 OK")?;
            }
            "NOOP" => reply(&mut out, "250 OK")?,
            "QUIT" => {
                reply(&mut out, "221 Bye")?;
                return Ok(());
            }
            _ => reply(&mut out, "502 command not implemented")?,
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(addr), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: tick-smtp-sink LISTEN_ADDR MAIL_DIR");
        return std::process::ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("tick-smtp-sink: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!(
        "tick-smtp-sink: listening on {addr}, storing mail in {}",
        dir.display()
    );
    let counter = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let dir = dir.clone();
        let counter = Arc::clone(&counter);
        std::thread::spawn(move || {
            if let Err(e) = session(stream, &dir, &counter) {
                eprintln!("tick-smtp-sink: session: {e}");
            }
        });
    }
    std::process::ExitCode::SUCCESS
}
