//! Input plugins: one file each, behind the [`Input`] trait, registered in [`InputSettings`].
//!
//! An input appends metrics to an [`Accumulator`] stamped with the gather time; the agent then
//! applies renames, tags and filters. System inputs read `/proc` and `/sys` through
//! [`HostPaths`] so that a container can report its host (`HOST_PROC`, `HOST_SYS`, …) and tests
//! can point them at fixture trees.

use crate::metric::Metric;
use crate::options::{parse_options, take_keys, OptionError, Place};
use crate::parsers::{ParserConfig, PARSER_KEYS};
use crate::stats::Stats;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

pub mod apache;
pub mod cpu;
pub mod disk;
pub mod diskio;
pub mod docker;
pub mod exec;
pub mod file;
pub mod haproxy;
pub mod http;
pub mod http_auth;
pub mod http_listener_v2;
pub mod http_response;
pub mod influxdb_listener;
pub mod internal;
pub mod interrupts;
pub mod kernel;
pub mod linux_sysctl_fs;
pub mod mem;
pub mod memcached;
pub mod mqtt_consumer;
pub mod mysql;
pub mod net;
pub mod net_response;
pub mod netstat;
pub mod nginx;
pub mod nstat;
pub mod ping;
pub mod postgresql;
pub mod proc_file;
pub mod processes;
pub mod procstat;
pub mod prometheus;
pub mod redis;
pub mod socket_listener;
pub mod statsd;
pub mod swap;
pub mod syslog;
pub mod system;
pub mod tail;
pub mod temp;

/// Why a gather failed (metrics added before the failure are kept).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file or program output is not in the expected form.
    #[error("parsing {what}: {message}")]
    Parse {
        /// The file or command.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A command failed or timed out.
    #[error("command {command:?}: {message}")]
    Command {
        /// The command line.
        command: String,
        /// What happened.
        message: String,
    },
    /// Settings that cannot work (found when the input is built).
    #[error("{0}")]
    Settings(String),
}

/// Where the host's `/proc`, `/sys`, `/etc`, `/var` and mounts are seen from here.
#[derive(Debug, Clone)]
pub struct HostPaths {
    /// `HOST_PROC`, default `/proc`.
    pub proc: PathBuf,
    /// `HOST_SYS`, default `/sys`.
    pub sys: PathBuf,
    /// `HOST_VAR`, default `/var`.
    pub var: PathBuf,
    /// `HOST_MOUNT_PREFIX`, default empty.
    pub mount_prefix: String,
    /// Whether `HOST_PROC` was set (some per-namespace checks are then skipped, as Telegraf does).
    pub proc_overridden: bool,
    /// The files `read_proc` read, kept open for the next gather.
    open: proc_file::OpenFiles,
}

impl HostPaths {
    /// Paths from the `HOST_*` variables answered by `lookup`.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str, default: &str| {
            PathBuf::from(lookup(name).unwrap_or_else(|| default.to_string()))
        };
        HostPaths {
            proc: get("HOST_PROC", "/proc"),
            sys: get("HOST_SYS", "/sys"),
            var: get("HOST_VAR", "/var"),
            mount_prefix: lookup("HOST_MOUNT_PREFIX").unwrap_or_default(),
            proc_overridden: lookup("HOST_PROC").is_some(),
            open: proc_file::OpenFiles::default(),
        }
    }

    /// Paths under one root, as fixture trees for tests lay them out (`root/proc`, `root/sys`).
    pub fn under(root: &Path) -> Self {
        HostPaths {
            proc: root.join("proc"),
            sys: root.join("sys"),
            var: root.join("var"),
            mount_prefix: String::new(),
            proc_overridden: true,
            open: proc_file::OpenFiles::default(),
        }
    }

    /// Reads a file below `HOST_PROC`, kept open for the next read (`proc_file.rs`).
    pub fn read_proc(&self, rel: &str) -> Result<String, InputError> {
        self.open.read(&self.proc.join(rel))
    }
}

/// Reads a whole text file, naming it on failure.
pub fn read(path: &Path) -> Result<String, InputError> {
    read_text(path).map_err(|source| InputError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a whole text file with plain `read` calls: `std::fs::read_to_string` first asks the
/// file's size and position (a `statx` and an `lseek`), which `/proc` and `/sys` files do not
/// know anyway — two of the five system calls of each of the hundred-odd files the host inputs
/// read every interval.
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Compiles `patterns` (of option `option`) into one glob set; `None` when there are none.
pub fn glob_set(option: &str, patterns: &[String]) -> Result<Option<globset::GlobSet>, InputError> {
    crate::filter::compile(option, patterns).map_err(|e| InputError::Settings(e.to_string()))
}

/// The files matching `pattern` — `*`, `?` and `[…]` within a path component, `**` across
/// directories, as Telegraf's `globpath` — sorted; a pattern without glob characters is the
/// path itself (whether or not it exists). The walk stops at 32 levels and 100,000 entries.
pub fn glob_paths(pattern: &str) -> Vec<PathBuf> {
    if !pattern.contains(['*', '?', '[']) {
        return vec![PathBuf::from(pattern)];
    }
    // `**.log` (Telegraf's super-asterisk inside a name) is `**/*.log` in globset's terms.
    let mut rewritten = String::with_capacity(pattern.len() + 2);
    let mut rest = pattern;
    while let Some(at) = rest.find("**") {
        rewritten.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        if !rest.is_empty() && !rest.starts_with('/') {
            rewritten.push_str("/*");
        }
    }
    rewritten.push_str(rest);
    let Ok(glob) = globset::GlobBuilder::new(&rewritten)
        .literal_separator(true)
        .build()
    else {
        return Vec::new();
    };
    let matcher = glob.compile_matcher();
    let mut root = PathBuf::new();
    for part in Path::new(pattern).components() {
        if part.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
            break;
        }
        root.push(part);
    }
    let mut found = Vec::new();
    let mut pending = vec![(root, 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > 100_000 {
                break;
            }
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && depth < 32 {
                pending.push((path.clone(), depth + 1));
            }
            if !is_dir && matcher.is_match(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The bearer token given inline, else read from `file`; `None` when neither is set.
pub fn bearer_token(inline: &str, file: &str) -> Result<Option<String>, InputError> {
    Ok(match (inline, file) {
        (t, _) if !t.is_empty() => Some(t.to_string()),
        (_, f) if !f.is_empty() => Some(read(Path::new(f))?.trim().to_string()),
        _ => None,
    })
}

/// The outcome of a gather over several servers: `Ok` when none failed, else one error
/// listing every failure (what the others added is kept).
pub fn gathered_all(plugin: &str, errors: Vec<String>) -> Result<(), InputError> {
    match errors.is_empty() {
        true => Ok(()),
        false => Err(InputError::Command {
            command: plugin.to_string(),
            message: errors.join("; "),
        }),
    }
}

/// A client for status pages (`nginx`, `apache`, `haproxy`): GET with a timeout and optional
/// basic auth, success statuses only.
#[derive(Debug, Clone)]
pub struct StatusPages {
    client: reqwest::Client,
    basic_auth: Option<(String, String)>,
}

impl StatusPages {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: std::time::Duration) -> Result<Self, InputError> {
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map(|client| StatusPages {
                client,
                basic_auth: None,
            })
            .map_err(|e| InputError::Settings(e.to_string()))
    }

    /// Sends `username`/`password` with every request when either is set (the `username` and
    /// `password` options of the web-server inputs).
    pub fn with_basic_auth(mut self, username: &str, password: &str) -> Self {
        if !username.is_empty() || !password.is_empty() {
            self.basic_auth = Some((username.to_string(), password.to_string()));
        }
        self
    }

    /// The body of `url`; a failed request or a non-2xx status is an error naming the URL.
    pub async fn get(&self, url: &str) -> Result<String, InputError> {
        let fail = |message: String| InputError::Command {
            command: format!("GET {url}"),
            message,
        };
        let mut request = self.client.get(url);
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let resp = request
            .send()
            .await
            .map_err(|e| fail(influx_client::error_chain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("answered {status}")));
        }
        resp.text().await.map_err(|e| fail(e.to_string()))
    }
}

/// The `server` and `port` tags of a status page URL, as Telegraf's web-server inputs set
/// them (the port defaults to the scheme's).
pub fn url_tags(url: &str) -> Result<std::collections::BTreeMap<String, String>, InputError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| InputError::Settings(format!("urls: {url:?}: {e}")))?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    Ok(std::collections::BTreeMap::from([
        ("server".to_string(), host),
        ("port".to_string(), port.to_string()),
    ]))
}

/// What inputs are built with.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// Where the host's files are.
    pub host: HostPaths,
    /// The agent's counters (for `internal`).
    pub stats: Arc<Stats>,
    /// Where inputs keep state across restarts (`tail` offsets): `<data-dir>/state`.
    pub state_dir: PathBuf,
}

/// Collects the metrics of one gather.
#[derive(Debug, Default)]
pub struct Accumulator {
    /// The gather's timestamp (ns), already rounded to the input's precision.
    pub time: i64,
    /// Metrics added so far.
    pub metrics: Vec<Metric>,
}

impl Accumulator {
    /// An empty accumulator for a gather at `time`.
    pub fn new(time: i64) -> Self {
        Accumulator {
            time,
            metrics: Vec::new(),
        }
    }

    /// A new metric named `name` at the gather time.
    pub fn metric(&self, name: &str) -> Metric {
        Metric::new(name, self.time)
    }

    /// Adds a metric unless it has no fields.
    pub fn push(&mut self, m: Metric) {
        if !m.fields.is_empty() {
            self.metrics.push(m);
        }
    }
}

/// The future a gather returns.
pub type GatherFuture<'a> = Pin<Box<dyn Future<Output = Result<(), InputError>> + Send + 'a>>;

/// The future a service input runs until it is dropped.
pub type ServiceFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A plugin that produces metrics when asked, every interval, or (a service input such as a
/// listener) as they arrive.
pub trait Input: Send {
    /// Gathers once into `acc`.
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a>;

    /// For service inputs: the future that serves, sending what arrives to `sink`. `None` (the
    /// default) for inputs that only gather.
    fn serve(&mut self, sink: tokio::sync::mpsc::Sender<Vec<Metric>>) -> Option<ServiceFuture> {
        let _ = sink;
        None
    }
}

/// An input whose gather only reads local files (quick, so it runs inline).
pub trait SyncInput: Send {
    /// Gathers once into `acc`.
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError>;
}

impl<T: SyncInput> Input for T {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        let result = self.gather_now(acc);
        Box::pin(std::future::ready(result))
    }
}

impl InputSettings {
    /// Reads the plugin's own options; `None` when telegraf-rs has no such plugin. The parser
    /// options (`data_format`, …) of the plugins that parse are read apart and attached.
    pub fn parse(
        name: &str,
        mut table: toml::Table,
        place: &Place,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Self>, OptionError> {
        let parser: ParserConfig = match PARSING_INPUTS.contains(&name) {
            true => parse_options(take_keys(&mut table, PARSER_KEYS), place, warnings)?,
            false => ParserConfig::default(),
        };
        let mut settings = Self::parse_own(name, table, place, warnings)?;
        match &mut settings {
            Some(InputSettings::Exec(c)) => c.parser = parser,
            Some(InputSettings::Http(c)) => c.parser = parser,
            Some(InputSettings::SocketListener(c)) => c.parser = parser,
            Some(InputSettings::File(c)) => c.parser = parser,
            Some(InputSettings::MqttConsumer(c)) => c.parser = parser,
            Some(InputSettings::Tail(c)) => c.parser = parser,
            Some(InputSettings::HttpListenerV2(c)) => c.parser = parser,
            _ => {}
        }
        Ok(settings)
    }
}

/// Inputs that run a service beside their gathers (they listen on sockets, subscribe to a
/// broker or follow files; [`Input::serve`]). An agent that runs one of them gets a runtime of
/// two worker threads, so that what floods in can use both cores of a small host; an agent
/// that only polls runs on one thread, which spares the hand-offs between threads each gather
/// cycle (`main.rs`; `bench/agent.sh`).
pub const SERVICE_INPUTS: &[&str] = &[
    "http_listener_v2",
    "influxdb_listener",
    "mqtt_consumer",
    "socket_listener",
    "statsd",
    "syslog",
    "tail",
];

/// Inputs that take `data_format` and the parser options.
const PARSING_INPUTS: &[&str] = &[
    "exec",
    "http",
    "socket_listener",
    "file",
    "mqtt_consumer",
    "tail",
    "http_listener_v2",
];

crate::registry::registry! {
    kind = "inputs", settings = InputSettings, plugin = dyn Input,
    context = BuildContext, error = InputError;
    Cpu => "cpu", cpu::CpuConfig;
    Mem => "mem", mem::MemConfig;
    Swap => "swap", swap::SwapConfig;
    Disk => "disk", disk::DiskConfig;
    DiskIo => "diskio", diskio::DiskIoConfig;
    Net => "net", net::NetConfig;
    System => "system", system::SystemConfig;
    Processes => "processes", processes::ProcessesConfig;
    Procstat => "procstat", procstat::ProcstatConfig;
    Kernel => "kernel", kernel::KernelConfig;
    Internal => "internal", internal::InternalConfig;
    Exec => "exec", exec::ExecConfig;
    Http => "http", http::HttpConfig;
    Prometheus => "prometheus", prometheus::PrometheusConfig;
    Redis => "redis", redis::RedisConfig;
    Memcached => "memcached", memcached::MemcachedConfig;
    Nginx => "nginx", nginx::NginxConfig;
    Apache => "apache", apache::ApacheConfig;
    Docker => "docker", docker::DockerConfig;
    Haproxy => "haproxy", haproxy::HaproxyConfig;
    Postgresql => "postgresql", postgresql::PostgresqlConfig;
    Mysql => "mysql", mysql::MysqlConfig;
    Ping => "ping", ping::PingConfig;
    Temp => "temp", temp::TempConfig;
    Interrupts => "interrupts", interrupts::InterruptsConfig;
    LinuxSysctlFs => "linux_sysctl_fs", linux_sysctl_fs::LinuxSysctlFsConfig;
    Nstat => "nstat", nstat::NstatConfig;
    InfluxDbListener => "influxdb_listener", influxdb_listener::InfluxDbListenerConfig;
    NetResponse => "net_response", net_response::NetResponseConfig;
    HttpResponse => "http_response", http_response::HttpResponseConfig;
    File => "file", file::FileConfig;
    Statsd => "statsd", statsd::StatsdConfig;
    MqttConsumer => "mqtt_consumer", mqtt_consumer::MqttConsumerConfig;
    Tail => "tail", tail::TailConfig;
    HttpListenerV2 => "http_listener_v2", http_listener_v2::HttpListenerV2Config;
    Netstat => "netstat", netstat::NetstatConfig;
    SocketListener => "socket_listener", socket_listener::SocketListenerConfig;
    Syslog => "syslog", syslog::SyslogConfig;
}

/// Splits `Key:   123 kB` lines (`/proc/meminfo`, `/proc/vmstat` style) into name and number.
/// The kernel writes these files in ASCII: bytes are compared, not characters decoded (two
/// hundred lines a second for `mem` and `swap`).
pub fn key_numbers(text: &str) -> impl Iterator<Item = (&str, u64)> {
    text.lines().filter_map(|line| {
        let at = line
            .bytes()
            .position(|b| b == b':' || b.is_ascii_whitespace())?;
        let number = line[at + 1..]
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()?;
        Some((line[..at].trim_ascii(), number))
    })
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_inputs_are_inputs() {
        for name in SERVICE_INPUTS {
            assert!(IMPLEMENTED.contains(name), "{name}");
        }
    }

    #[test]
    fn read_text_reads_whole_files_and_names_failures() {
        let dir = tempfile::tempdir().unwrap();
        let long: String = (0..3000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(dir.path().join("long"), &long).unwrap();
        assert_eq!(read_text(dir.path().join("long")).unwrap(), long);
        std::fs::write(dir.path().join("empty"), "").unwrap();
        assert_eq!(read_text(dir.path().join("empty")).unwrap(), "");
        // A procfs file reports no size: read whole all the same.
        let stat = read_text("/proc/self/stat").unwrap();
        assert!(stat.ends_with('\n') && stat.contains(") "), "{stat}");
        std::fs::write(dir.path().join("bad"), [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_text(dir.path().join("bad")).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
        let missing = read(&dir.path().join("missing")).unwrap_err();
        assert!(missing.to_string().contains("missing"), "{missing}");
    }
}
