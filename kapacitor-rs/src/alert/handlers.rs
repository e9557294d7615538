//! Where alert events go: `email` (SMTP through lettre), `post` (webhook), `log` (JSON lines),
//! `tcp`, `exec`, `slack`. Each event is delivered by its own task, retried with back-off, so a
//! slow or failing handler never stalls the pipeline that raised the event.

use super::Event;
use crate::config::{SlackConfig, SmtpConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// One handler of an alert node, as the script configures it.
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerSpec {
    /// `.email('a@x', …).to(…)`: recipients (the `[smtp] to` list when empty).
    Email {
        /// Recipients.
        to: Vec<String>,
    },
    /// `.post(url).header(k, v)…`
    Post {
        /// Where.
        url: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Request timeout.
        timeout: Duration,
    },
    /// `.log(path).mode(0644)`
    Log {
        /// Absolute path.
        path: PathBuf,
        /// File mode when created.
        mode: u32,
    },
    /// `.tcp(addr)`
    Tcp {
        /// `host:port`.
        address: String,
    },
    /// `.exec(prog, args…)`
    Exec {
        /// Program and arguments.
        argv: Vec<String>,
    },
    /// `.slack().channel(…).username(…).iconEmoji(…)`
    Slack {
        /// Channel override.
        channel: String,
        /// Username override.
        username: String,
        /// Icon override.
        icon_emoji: String,
    },
}

impl HandlerSpec {
    /// The kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerSpec::Email { .. } => "email",
            HandlerSpec::Post { .. } => "post",
            HandlerSpec::Log { .. } => "log",
            HandlerSpec::Tcp { .. } => "tcp",
            HandlerSpec::Exec { .. } => "exec",
            HandlerSpec::Slack { .. } => "slack",
        }
    }
}

/// An event for one handler.
#[derive(Debug, Clone)]
pub struct HandlerJob {
    /// The task that raised it.
    pub task: String,
    /// Where it goes.
    pub handler: HandlerSpec,
    /// What happened.
    pub event: Arc<Event>,
}

/// Delivery settings shared by all tasks.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `[smtp]`.
    pub smtp: SmtpConfig,
    /// `[slack]`.
    pub slack: SlackConfig,
    /// HTTP client for `post` and `slack`.
    pub client: reqwest::Client,
    /// Attempts per event before it is given up (and logged).
    pub attempts: u32,
}

impl Delivery {
    /// Runs jobs from `jobs` until the channel closes, each on its own task.
    pub async fn run(self: Arc<Self>, mut jobs: tokio::sync::mpsc::Receiver<HandlerJob>) {
        while let Some(job) = jobs.recv().await {
            let me = Arc::clone(&self);
            tokio::spawn(async move { me.deliver(job).await });
        }
    }

    async fn deliver(&self, job: HandlerJob) {
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=self.attempts.max(1) {
            match self.send(&job).await {
                Ok(()) => {
                    tracing::debug!(task = %job.task, handler = job.handler.kind(), id = %job.event.id, "alert delivered");
                    return;
                }
                Err(e) if attempt == self.attempts.max(1) => {
                    tracing::error!(task = %job.task, handler = job.handler.kind(), id = %job.event.id, "alert handler failed, giving up: {e}");
                }
                Err(e) => {
                    tracing::warn!(task = %job.task, handler = job.handler.kind(), id = %job.event.id, attempt, "alert handler failed, retrying: {e}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn send(&self, job: &HandlerJob) -> Result<(), String> {
        let event = &job.event;
        match &job.handler {
            HandlerSpec::Email { to } => self.email(event, to).await,
            HandlerSpec::Post {
                url,
                headers,
                timeout,
            } => {
                let mut req = self
                    .client
                    .post(url)
                    .timeout(*timeout)
                    .json(&event.to_json());
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let resp = req.send().await.map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("{url} answered {}", resp.status()))
                }
            }
            HandlerSpec::Log { path, mode } => {
                let mut line = event.to_json().to_string();
                line.push('\n');
                let mut options = tokio::fs::OpenOptions::new();
                options.create(true).append(true).mode(*mode);
                let mut f = options
                    .open(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                f.write_all(line.as_bytes())
                    .await
                    .map_err(|e| e.to_string())
            }
            HandlerSpec::Tcp { address } => {
                let mut s = tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio::net::TcpStream::connect(address),
                )
                .await
                .map_err(|_| format!("{address}: connect timed out"))?
                .map_err(|e| format!("{address}: {e}"))?;
                let mut line = event.to_json().to_string();
                line.push('\n');
                s.write_all(line.as_bytes())
                    .await
                    .map_err(|e| e.to_string())
            }
            HandlerSpec::Exec { argv } => {
                let Some((prog, args)) = argv.split_first() else {
                    return Err("exec needs a program".into());
                };
                let mut child = tokio::process::Command::new(prog)
                    .args(args)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| format!("{prog}: {e}"))?;
                if let Some(mut stdin) = child.stdin.take() {
                    stdin
                        .write_all(event.to_json().to_string().as_bytes())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
                    .await
                    .map_err(|_| format!("{prog}: timed out"))?
                    .map_err(|e| e.to_string())?;
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("{prog} exited with {status}"))
                }
            }
            HandlerSpec::Slack {
                channel,
                username,
                icon_emoji,
            } => {
                if self.slack.url.is_empty() {
                    return Err("slack: no url configured in [slack]".into());
                }
                let color = match event.level {
                    super::Level::Warning => "warning",
                    super::Level::Critical => "danger",
                    _ => "good",
                };
                let pick = |a: &str, b: &str| {
                    if a.is_empty() {
                        b.to_string()
                    } else {
                        a.to_string()
                    }
                };
                let body = serde_json::json!({
                    "channel": pick(channel, &self.slack.channel),
                    "username": pick(username, &self.slack.username),
                    "icon_emoji": pick(icon_emoji, &self.slack.icon_emoji),
                    "text": "",
                    "attachments": [{ "fallback": event.message, "text": event.message, "color": color, "mrkdwn_in": ["text"] }],
                });
                let resp = self
                    .client
                    .post(&self.slack.url)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("slack answered {}", resp.status()))
                }
            }
        }
    }

    async fn email(&self, event: &Event, to: &[String]) -> Result<(), String> {
        use lettre::message::{header::ContentType, Mailbox};
        use lettre::transport::smtp::authentication::{Credentials, Mechanism};
        use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
        use lettre::transport::smtp::extension::ClientId;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
        let smtp = &self.smtp;
        if !smtp.enabled {
            return Err("[smtp] is not enabled".into());
        }
        let recipients: Vec<&String> = if to.is_empty() {
            smtp.to.iter().collect()
        } else {
            to.iter().collect()
        };
        if recipients.is_empty() {
            return Err("email: no recipients (set .to() or [smtp] to)".into());
        }
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| format!("[smtp] from {:?}: {e}", smtp.from))?;
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(event.message.clone());
        for r in recipients {
            builder = builder.to(r.parse().map_err(|e| format!("recipient {r:?}: {e}"))?);
        }
        let body = if event.details.is_empty() {
            event.message.clone()
        } else {
            event.details.clone()
        };
        let message = builder
            .header(ContentType::TEXT_HTML)
            .body(body)
            .map_err(|e| e.to_string())?;
        let target = format!("smtp {}:{}", smtp.host, smtp.port);
        let credentials = (!smtp.username.is_empty())
            .then(|| Credentials::new(smtp.username.clone(), smtp.password.clone()));
        if !smtp.tls && !smtp.starttls {
            // Plain SMTP on our own socket with TCP_NODELAY: lettre's would wait on Nagle's
            // algorithm against the server's delayed ACK, some 40 ms per message.
            let stream = tokio::time::timeout(
                Duration::from_secs(30),
                tokio::net::TcpStream::connect((smtp.host.as_str(), smtp.port)),
            )
            .await
            .map_err(|_| format!("{target}: connect timed out"))?
            .map_err(|e| format!("{target}: {e}"))?;
            stream
                .set_nodelay(true)
                .map_err(|e| format!("{target}: {e}"))?;
            let mut conn =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default())
                    .await
                    .map_err(|e| format!("{target}: {e}"))?;
            if let Some(c) = &credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], c)
                    .await
                    .map_err(|e| format!("{target}: {e}"))?;
            }
            conn.send(message.envelope(), &message.formatted())
                .await
                .map_err(|e| format!("{target}: {e}"))?;
            let _ = conn.quit().await;
            return Ok(());
        }
        let tls = TlsParameters::builder(smtp.host.clone())
            .dangerous_accept_invalid_certs(smtp.no_verify)
            .build_rustls()
            .map_err(|e| format!("{target}: {e}"))?;
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .port(smtp.port)
            .tls(if smtp.tls {
                Tls::Wrapper(tls)
            } else {
                Tls::Required(tls)
            })
            .timeout(Some(Duration::from_secs(30)));
        if let Some(c) = credentials {
            transport = transport.credentials(c);
        }
        transport
            .build()
            .send(message)
            .await
            .map(drop)
            .map_err(|e| format!("{target}: {e}"))
    }
}
