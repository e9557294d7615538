//! `inputs.mysql`: MySQL's and MariaDB's `SHOW GLOBAL STATUS` (measurement `mysql`) and
//! `SHOW GLOBAL VARIABLES` (`mysql_variables`, the `*version*` variables also as tags), read
//! through `mysql_async` with Telegraf's `metric_version = 2` names and types: every variable
//! lower-cased, integers as integers, decimals as floats, `ON`/`YES` as 1 and `OFF`/`NO` as 0,
//! other text as strings; tag `server` (the DSN's address). Optionally, as Telegraf:
//! `gather_process_list` (`mysql_process_list`: threads by Telegraf's states, and
//! `mysql_users`: connections per user), `gather_innodb_metrics` (`mysql_innodb`: the enabled
//! counters of `INNODB_METRICS`, MariaDB's columns with `mariadb_dialect`) and
//! `gather_binary_logs` (`binary_size_bytes`, `binary_files_count` in `mysql`), replication
//! status (`replication`), what `information_schema` says of users and tables (`schema`)
//! and the `performance_schema` summaries (`perf_schema`). `interval_slow` reads the
//! variables less often.
//!
//! `metric_version = 1` — what Telegraf does when the option is unset, kept for the dashboards
//! built on it — names status variables by Telegraf's old prefix table (`Com_select` →
//! `commands_select`, `Innodb_…` → `innodb_…`, and `queries`, `questions`, `slow_queries`,
//! `connections`, `syncs`, `uptime`; others left out), all as integers, reads variables with the
//! old typing and reports the process list as `mysql_info_schema`. Servers are Go MySQL
//! driver DSNs, as Telegraf takes them (`user:password@tcp(127.0.0.1:3306)/`,
//! `user@unix(/run/mysqld/mysqld.sock)/`), with the driver's parameters: `tls` (`true`,
//! `skip-verify`, `preferred`, `custom` with the input's `tls_ca`/`tls_cert`/`tls_key`/
//! `insecure_skip_verify`; rustls with ring), `timeout` (of the connection; 5 s when unset, as
//! Telegraf adds it), `maxAllowedPacket`, `allowCleartextPasswords`, `charset` and
//! `collation` (`SET NAMES`), and any other name as a session variable (`SET name=value` on
//! connecting, as the driver does). Parameters that change nothing for an agent that only
//! reads (`parseTime`, `loc`, …) or that are not applied (`readTimeout`, `writeTimeout`)
//! are named in a warning when the input is built.

mod perf_schema;
mod replication;
mod schema;

use super::{gathered_all, Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::{FieldValue, Metric};
use crate::options::GoDuration;
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.mysql]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct MysqlConfig {
    /// DSNs; `tcp(127.0.0.1:3306)/` when empty.
    pub servers: Vec<String>,
    /// Also `SHOW GLOBAL VARIABLES` (default true).
    pub gather_global_variables: bool,
    /// Threads by state and connections by user.
    pub gather_process_list: bool,
    /// `information_schema.INNODB_METRICS`.
    pub gather_innodb_metrics: bool,
    /// The size and number of the binary logs.
    pub gather_binary_logs: bool,
    /// MariaDB's forms of the queries that differ (`INNODB_METRICS.ENABLED`,
    /// `SHOW ALL SLAVES STATUS`).
    pub mariadb_dialect: bool,
    /// `2` (Telegraf's current names and types) or `1` (its older ones, and its default when
    /// the option is left out).
    pub metric_version: u8,
    /// `SHOW GLOBAL VARIABLES` at most this often (empty or under 1 s: every gather).
    pub interval_slow: GoDuration,
    /// `SHOW SLAVE STATUS` as `slave_*` fields of `mysql`.
    pub gather_slave_status: bool,
    /// Every replication channel (tag `channel`), not only the first.
    pub gather_all_slave_channels: bool,
    /// `information_schema.USER_STATISTICS` (MariaDB and Percona, with `userstat` on).
    pub gather_user_statistics: bool,
    /// Auto-increment columns: their current and largest possible value.
    pub gather_info_schema_auto_inc: bool,
    /// Rows and sizes of every table (`information_schema.TABLES`).
    pub gather_table_schema: bool,
    /// The databases `gather_table_schema` reads; every user database when empty.
    pub table_schema_databases: Vec<String>,
    /// `performance_schema.table_io_waits_summary_by_table`.
    pub gather_table_io_waits: bool,
    /// `performance_schema.table_io_waits_summary_by_index_usage`.
    pub gather_index_io_waits: bool,
    /// `performance_schema.table_lock_waits_summary_by_table`.
    pub gather_table_lock_waits: bool,
    /// `performance_schema.events_waits_summary_global_by_event_name`.
    pub gather_event_waits: bool,
    /// `performance_schema.file_summary_by_event_name`.
    pub gather_file_events_stats: bool,
    /// `performance_schema.events_statements_summary_by_digest`.
    pub gather_perf_events_statements: bool,
    /// Characters of each statement digest's text kept (tag `digest_text`).
    pub perf_events_statements_digest_text_limit: u32,
    /// The statement digests reported, slowest first.
    pub perf_events_statements_limit: u32,
    /// Only digests seen in the last this many seconds.
    pub perf_events_statements_time_limit: u32,
    /// `performance_schema.events_statements_summary_by_account_by_event_name`.
    pub gather_perf_sum_per_acc_per_event: bool,
    /// The events `gather_perf_sum_per_acc_per_event` reads; all when empty.
    pub perf_summary_events: Vec<String>,
    /// The CA that signs the servers' certificates, for DSNs with `tls=custom`.
    pub tls_ca: Option<String>,
    /// The client's certificate, for `tls=custom`.
    pub tls_cert: Option<String>,
    /// The client's key, for `tls=custom`.
    pub tls_key: Option<String>,
    /// With `tls=custom`: accept any server certificate.
    pub insecure_skip_verify: bool,
}

impl Default for MysqlConfig {
    fn default() -> Self {
        MysqlConfig {
            servers: Vec::new(),
            gather_global_variables: true,
            gather_process_list: false,
            gather_innodb_metrics: false,
            gather_binary_logs: false,
            mariadb_dialect: false,
            metric_version: 1,
            interval_slow: GoDuration::default(),
            gather_slave_status: false,
            gather_all_slave_channels: false,
            gather_user_statistics: false,
            gather_info_schema_auto_inc: false,
            gather_table_schema: false,
            table_schema_databases: Vec::new(),
            gather_table_io_waits: false,
            gather_index_io_waits: false,
            gather_table_lock_waits: false,
            gather_event_waits: false,
            gather_file_events_stats: false,
            gather_perf_events_statements: false,
            perf_events_statements_digest_text_limit: 120,
            perf_events_statements_limit: 250,
            perf_events_statements_time_limit: 86400,
            gather_perf_sum_per_acc_per_event: false,
            perf_summary_events: Vec::new(),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            insecure_skip_verify: false,
        }
    }
}

/// A parsed DSN: where to connect and the `server` tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Dsn {
    /// User.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// `host:port` for TCP.
    pub tcp: Option<(String, u16)>,
    /// The unix socket's path.
    pub socket: Option<String>,
    /// The database (`/db`).
    pub database: Option<String>,
    /// The `tls` parameter.
    pub tls: DsnTls,
    /// The `timeout` parameter: how long connecting may take.
    pub connect_timeout: std::time::Duration,
    /// The `maxAllowedPacket` parameter.
    pub max_allowed_packet: Option<usize>,
    /// The `allowCleartextPasswords` parameter.
    pub cleartext_passwords: bool,
    /// Statements run on connecting: `SET NAMES` for `charset`/`collation`, `SET name=value`
    /// for session variables.
    pub init: Vec<String>,
    /// Parameters accepted but without effect here, with why, for a warning.
    pub without_effect: Vec<String>,
}

/// Why one server's gather failed.
#[derive(Debug, thiserror::Error)]
enum ServerError {
    /// The server or the driver refused something.
    #[error(transparent)]
    Mysql(#[from] mysql_async::Error),
    /// Connecting took longer than the DSN's `timeout`.
    #[error("connecting timed out after {0} (the DSN's timeout)")]
    ConnectTimeout(GoDuration),
}

/// The longest one server's gather may take.
const GATHER_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

/// Telegraf's connection timeout where the DSN sets none.
const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Parameters of the Go driver that do not change what an agent reading status sees.
const NO_EFFECT_PARAMS: &[&str] = &[
    "allowAllFiles",
    "allowNativePasswords",
    "allowOldPasswords",
    "checkConnLiveness",
    "clientFoundRows",
    "columnsWithAlias",
    "connectionAttributes",
    "interpolateParams",
    "loc",
    "multiStatements",
    "parseTime",
    "rejectReadOnly",
    "serverPubKey",
];

/// What a DSN's `tls` parameter asks for, as the Go driver reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DsnTls {
    /// `false`, or no parameter: plain TCP.
    #[default]
    Off,
    /// `true`: TLS, the server's certificate checked against the built-in roots.
    Verify,
    /// `skip-verify`, and `preferred` (which the Go driver also does not verify; here TLS is
    /// then required, not only used when the server offers it).
    SkipVerify,
    /// `custom`: TLS with the input's `tls_ca`, `tls_cert`, `tls_key`, `insecure_skip_verify`.
    Custom,
}

impl Dsn {
    /// Parses `[user[:password]@][protocol[(address)]]/[dbname][?params]`.
    pub fn parse(dsn: &str) -> Result<Dsn, String> {
        let (auth, rest) = match dsn.rfind('@') {
            Some(at) => (Some(&dsn[..at]), &dsn[at + 1..]),
            None => (None, dsn),
        };
        let (user, password) = match auth.map(|a| a.split_once(':')) {
            Some(Some((u, p))) => (Some(u.to_string()), Some(p.to_string())),
            Some(None) => (auth.map(str::to_string), None),
            None => (None, None),
        };
        let slash = rest
            .rfind('/')
            .ok_or_else(|| format!("DSN {}: missing the slash before the database", mask(dsn)))?;
        let (address, db) = (&rest[..slash], &rest[slash + 1..]);
        let (db, params) = db.split_once('?').unwrap_or((db, ""));
        let mut tls = DsnTls::Off;
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        let mut max_allowed_packet = None;
        let mut cleartext_passwords = false;
        let (mut charset, mut collation) = (None, None);
        let mut init = Vec::new();
        let mut without_effect = Vec::new();
        let bad = |key: &str, value: &str, want: &str| {
            format!("DSN {}: {key}={value:?}: {want}", mask(dsn))
        };
        let flag = |key: &str, value: &str| match value {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(bad(key, value, "true or false")),
        };
        for (key, value) in form_urlencoded::parse(params.as_bytes()) {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "tls" => {
                    tls = match value {
                        "false" => DsnTls::Off,
                        "true" => DsnTls::Verify,
                        "skip-verify" | "preferred" => DsnTls::SkipVerify,
                        "custom" => DsnTls::Custom,
                        _ => {
                            return Err(bad(
                                key,
                                value,
                                "true, false, skip-verify, preferred or custom",
                            ))
                        }
                    }
                }
                "timeout" => {
                    connect_timeout = GoDuration::parse(value)
                        .map_err(|e| bad(key, value, &e))?
                        .0;
                }
                "maxAllowedPacket" => {
                    let n: usize = value
                        .parse()
                        .map_err(|_| bad(key, value, "a number of bytes"))?;
                    // 0: the server's max_allowed_packet, which the driver then asks for.
                    max_allowed_packet = (n > 0).then_some(n);
                }
                "allowCleartextPasswords" => cleartext_passwords = flag(key, value)?,
                "charset" => charset = value.split(',').next().map(str::to_string),
                "collation" => collation = Some(value.to_string()),
                "readTimeout" | "writeTimeout" => without_effect.push(format!(
                    "{key} (not applied to each read or write; a server's whole gather is bounded at {} s)",
                    GATHER_BOUND.as_secs()
                )),
                "allowFallbackToPlaintext" => without_effect.push(format!(
                    "{key} (tls=preferred requires TLS here)"
                )),
                _ if NO_EFFECT_PARAMS.contains(&key) => without_effect.push(format!(
                    "{key} (changes nothing for an agent that reads status)"
                )),
                // Anything else is a session variable, set as the driver sets it.
                _ => {
                    if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                        return Err(bad(key, value, "a session variable's name is letters, digits and _"));
                    }
                    init.push(format!("SET {key}={value}"));
                }
            }
        }
        match (charset, collation) {
            (Some(cs), Some(co)) => init.insert(0, format!("SET NAMES {cs} COLLATE {co}")),
            (Some(cs), None) => init.insert(0, format!("SET NAMES {cs}")),
            (None, Some(co)) => init.insert(0, format!("SET collation_connection = '{co}'")),
            (None, None) => {}
        }
        let (protocol, addr) = match address.split_once('(') {
            Some((p, a)) => (
                p,
                a.strip_suffix(')')
                    .ok_or_else(|| format!("DSN {}: unclosed address parenthesis", mask(dsn)))?,
            ),
            None => (address, ""),
        };
        let (tcp, socket) = match protocol {
            "" | "tcp" => {
                let addr = if addr.is_empty() {
                    "127.0.0.1:3306"
                } else {
                    addr
                };
                let (host, port) = match addr.rsplit_once(':') {
                    Some((h, p)) => (
                        h.trim_matches(['[', ']']).to_string(),
                        p.parse::<u16>()
                            .map_err(|_| format!("DSN {}: bad port {p:?}", mask(dsn)))?,
                    ),
                    None => (addr.to_string(), 3306),
                };
                (Some((host, port)), None)
            }
            "unix" => (None, Some(addr.to_string())),
            other => return Err(format!("DSN {}: protocol {other:?}", mask(dsn))),
        };
        Ok(Dsn {
            user: user.filter(|u| !u.is_empty()),
            password,
            tcp,
            socket,
            database: (!db.is_empty()).then(|| db.to_string()),
            tls,
            connect_timeout,
            max_allowed_packet,
            cleartext_passwords,
            init,
            without_effect,
        })
    }

    /// The `server` tag: `host:port`, or the socket path.
    pub fn server(&self) -> String {
        match (&self.tcp, &self.socket) {
            (Some((h, p)), _) => format!("{h}:{p}"),
            (None, Some(s)) => s.clone(),
            _ => String::new(),
        }
    }

    /// Connection options; the TLS settings of `c` apply to `tls=custom`.
    fn opts(&self, c: &MysqlConfig) -> mysql_async::Opts {
        let ssl = match self.tls {
            DsnTls::Off => None,
            DsnTls::Verify => Some(mysql_async::SslOpts::default()),
            DsnTls::SkipVerify => Some(
                mysql_async::SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            DsnTls::Custom => {
                let path = |p: &String| std::path::PathBuf::from(p);
                let identity = c
                    .tls_cert
                    .as_ref()
                    .zip(c.tls_key.as_ref())
                    .map(|(cert, key)| {
                        mysql_async::ClientIdentity::new(path(cert).into(), path(key).into())
                    });
                Some(
                    mysql_async::SslOpts::default()
                        .with_root_certs(c.tls_ca.iter().map(|ca| path(ca).into()).collect())
                        .with_client_identity(identity)
                        .with_danger_accept_invalid_certs(c.insecure_skip_verify)
                        .with_danger_skip_domain_validation(c.insecure_skip_verify),
                )
            }
        };
        let mut b = mysql_async::OptsBuilder::default()
            .ssl_opts(ssl)
            .user(self.user.clone())
            .pass(self.password.clone())
            .db_name(self.database.clone())
            .max_allowed_packet(self.max_allowed_packet)
            .enable_cleartext_plugin(self.cleartext_passwords)
            .init(self.init.clone())
            .prefer_socket(false);
        if let Some((host, port)) = &self.tcp {
            b = b.ip_or_hostname(host.clone()).tcp_port(*port);
        }
        if let Some(socket) = &self.socket {
            b = b.socket(Some(socket.clone()));
        }
        b.into()
    }
}

/// A DSN with its password hidden, for messages.
fn mask(dsn: &str) -> String {
    match (dsn.find(':'), dsn.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => format!("{}:***{}", &dsn[..colon], &dsn[at..]),
        _ => dsn.to_string(),
    }
}

/// Status variable prefixes and the names `metric_version = 1` gives them.
const V1_PREFIXES: &[(&str, &str)] = &[
    ("Aborted_", "aborted_"),
    ("Bytes_", "bytes_"),
    ("Com_", "commands_"),
    ("Created_", "created_"),
    ("Handler_", "handler_"),
    ("Innodb_", "innodb_"),
    ("Key_", "key_"),
    ("Open_", "open_"),
    ("Opened_", "opened_"),
    ("Qcache_", "qcache_"),
    ("Table_", "table_"),
    ("Tokudb_", "tokudb_"),
    ("Threads_", "threads_"),
    ("Access_", "access_"),
    ("Aria__", "aria_"),
    ("Binlog__", "binlog_"),
    ("Busy_", "busy_"),
    ("Connection_", "connection_"),
    ("Delayed_", "delayed_"),
    ("Empty_", "empty_"),
    ("Executed_", "executed_"),
    ("Feature_", "feature_"),
    ("Flush_", "flush_"),
    ("Last_", "last_"),
    ("Master_", "master_"),
    ("Max_", "max_"),
    ("Memory_", "memory_"),
    ("Not_", "not_"),
    ("Performance_", "performance_"),
    ("Prepared_", "prepared_"),
    ("Rows_", "rows_"),
    ("Rpl_", "rpl_"),
    ("Select_", "select_"),
    ("Slave_", "slave_"),
    ("Slow_", "slow_"),
    ("Sort_", "sort_"),
    ("Subquery_", "subquery_"),
    ("Tc_", "tc_"),
    ("Threadpool_", "threadpool_"),
    ("wsrep_", "wsrep_"),
    ("Uptime_", "uptime_"),
];

/// A global status variable as `metric_version = 1` reports it: renamed by `V1_PREFIXES`
/// (an integer, 0 when the value is none, as Go's `Atoi` leaves it), or one of six counters
/// by name; `None` for the rest.
pub fn status_v1(key: &str, value: &str) -> Option<(String, FieldValue)> {
    if let Some((prefix, renamed)) = V1_PREFIXES.iter().find(|(p, _)| key.starts_with(p)) {
        let n = value.parse::<i64>().unwrap_or(0);
        return Some((
            format!("{renamed}{}", &key[prefix.len()..]),
            FieldValue::Int(n),
        ));
    }
    let name = match key {
        "Queries" | "Questions" | "Slow_queries" | "Connections" | "Syncs" | "Uptime" => {
            key.to_lowercase()
        }
        _ => return None,
    };
    value
        .parse::<i64>()
        .ok()
        .map(|n| (name, FieldValue::Int(n)))
}

/// A global variable as `metric_version = 1` types it: `YES`/`ON` 1, `NO`/`OFF` 0, an integer,
/// a float, or the text; `None` for an empty value.
pub fn variable_v1(value: &str) -> Option<FieldValue> {
    Some(match value {
        "" => return None,
        v if v.eq_ignore_ascii_case("yes") || v == "ON" => FieldValue::Int(1),
        v if v.eq_ignore_ascii_case("no") || v == "OFF" => FieldValue::Int(0),
        v => match (v.parse::<i64>(), crate::parsers::parse_go_float(v)) {
            (Ok(i), _) => FieldValue::Int(i),
            (_, Some(f)) => FieldValue::Float(f),
            _ => FieldValue::Str(v.to_string()),
        },
    })
}

/// A status or variable value as Telegraf's `metric_version = 2` types it; `None` for empty.
pub fn convert(key: &str, value: &str) -> Option<FieldValue> {
    if value.is_empty() {
        return None;
    }
    if matches!(
        key,
        "ssl_ctx_verify_depth" | "ssl_verify_depth" | "wsrep_local_index"
    ) {
        return value.parse::<u64>().ok().map(FieldValue::UInt);
    }
    if let Ok(i) = value.parse::<i64>() {
        return Some(FieldValue::Int(i));
    }
    if let Some(f) = crate::parsers::parse_go_float(value) {
        return Some(FieldValue::Float(f));
    }
    Some(match value {
        v if v.eq_ignore_ascii_case("yes") || v == "ON" => FieldValue::Int(1),
        v if v.eq_ignore_ascii_case("no") || v == "OFF" => FieldValue::Int(0),
        v => FieldValue::Str(v.to_string()),
    })
}

/// Builds the input; every DSN must parse.
pub fn build(c: &MysqlConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    if !matches!(c.metric_version, 1 | 2) {
        return Err(InputError::Settings(format!(
            "metric_version {}: 1 or 2",
            c.metric_version
        )));
    }
    let servers = match c.servers.is_empty() {
        true => vec!["tcp(127.0.0.1:3306)/".to_string()],
        false => c.servers.clone(),
    };
    let dsns: Vec<Dsn> = servers
        .iter()
        .map(|s| Dsn::parse(s).map_err(InputError::Settings))
        .collect::<Result<_, _>>()?;
    for (dsn, text) in dsns.iter().zip(&servers) {
        for param in &dsn.without_effect {
            tracing::warn!("mysql: DSN {}: parameter {param}", mask(text));
        }
    }
    Ok(Box::new(Mysql {
        dsns,
        config: c.clone(),
        variables_read: None,
    }))
}

struct Mysql {
    dsns: Vec<Dsn>,
    config: MysqlConfig,
    /// When the global variables were last read.
    variables_read: Option<std::time::Instant>,
}

/// The thread states Telegraf counts in `mysql_process_list` (each a `threads_<state>` field,
/// spaces as `_`, zero when no thread is in it).
const THREAD_STATES: &[&str] = &[
    "after create",
    "altering table",
    "analyzing",
    "checking permissions",
    "checking table",
    "cleaning up",
    "closing tables",
    "converting heap to myisam",
    "copying to tmp table",
    "creating sort index",
    "creating table",
    "creating tmp table",
    "deleting",
    "executing",
    "execution of init_command",
    "end",
    "freeing items",
    "flushing tables",
    "fulltext initialization",
    "idle",
    "init",
    "killed",
    "waiting for lock",
    "logging slow query",
    "login",
    "manage keys",
    "opening tables",
    "optimizing",
    "preparing",
    "reading from net",
    "removing duplicates",
    "removing tmp table",
    "reopen tables",
    "repair by sorting",
    "repair done",
    "repair with keycache",
    "replication master",
    "rolling back",
    "searching rows for update",
    "sending data",
    "sorting for group",
    "sorting for order",
    "sorting index",
    "sorting result",
    "statistics",
    "updating",
    "waiting for tables",
    "waiting for table flush",
    "waiting on cond",
    "writing to net",
    "other",
];

/// The state a thread in `command` and `state` counts under, as Telegraf maps them.
fn thread_state(command: &str, state: &str) -> &'static str {
    let command = command.to_lowercase().replace('_', " ");
    let state = state.to_lowercase().replace('_', " ");
    if let Some(known) = THREAD_STATES.iter().find(|s| **s == state) {
        return known;
    }
    let mapped = match state.as_str() {
        "user sleep" => Some("idle"),
        "creating index"
        | "committing alter table to storage engine"
        | "discard or import tablespace"
        | "rename"
        | "setup"
        | "renaming result table"
        | "preparing for alter table" => Some("altering table"),
        "copying to group table" | "copy to tmp table" => Some("copying to tmp table"),
        "query end" => Some("end"),
        "update" | "updating main table" | "updating reference tables" => Some("updating"),
        "system lock" | "user lock" | "table lock" => Some("waiting for lock"),
        "deleting from main table" | "deleting from reference tables" => Some("deleting"),
        _ => None,
    };
    if let Some(m) = mapped {
        return m;
    }
    match command.as_str() {
        _ if state.contains("waiting for") && state.contains("lock") => "waiting for lock",
        "sleep" if state.is_empty() => "idle",
        "query" => "executing",
        "binlog dump" => "replication master",
        _ => "other",
    }
}

/// A cell as text (`None` for NULL), whichever protocol carried it.
fn cell_text(row: &mysql_async::Row, i: usize) -> Option<String> {
    use mysql_async::Value;
    match row.as_ref(i)? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A numeric cell as a float, as Telegraf scans counters and timers (NULL, or text that is no
/// number, is 0).
fn cell_f64(row: &mysql_async::Row, i: usize) -> f64 {
    cell_text(row, i)
        .and_then(|t| t.trim().parse::<f64>().ok())
        .unwrap_or_default()
}

impl Mysql {
    /// Everything the options ask of one server; `variables` says whether the global
    /// variables are due (`interval_slow`).
    async fn server(
        &self,
        dsn: &Dsn,
        time: i64,
        variables: bool,
    ) -> Result<Vec<Metric>, ServerError> {
        let connecting = mysql_async::Conn::new(dsn.opts(&self.config));
        let mut conn = tokio::time::timeout(dsn.connect_timeout, connecting)
            .await
            .map_err(|_| ServerError::ConnectTimeout(GoDuration(dsn.connect_timeout)))??;
        let mut out = Vec::new();
        let c = &self.config;
        let v1 = c.metric_version < 2;
        let mut queries = vec![("mysql", "SHOW GLOBAL STATUS")];
        if c.gather_global_variables && variables {
            queries.push(("mysql_variables", "SHOW GLOBAL VARIABLES"));
        }
        if c.gather_innodb_metrics {
            queries.push((
                "mysql_innodb",
                match c.mariadb_dialect {
                    true => "SELECT NAME, COUNT FROM information_schema.INNODB_METRICS WHERE ENABLED = 1",
                    false => "SELECT NAME, COUNT FROM information_schema.INNODB_METRICS WHERE status = 'enabled'",
                },
            ));
        }
        let metric = |name: &str| Metric::new(name, time).with_tag("server", dsn.server());
        for (name, query) in queries {
            let rows: Vec<(String, Option<String>)> = conn.query(query).await?;
            let mut m = metric(name);
            for (key, value) in rows {
                let text = value.unwrap_or_default();
                if v1 && name == "mysql" {
                    if let Some((field, v)) = status_v1(&key, &text) {
                        m.add_field(field, v);
                    }
                    continue;
                }
                let key = key.to_lowercase();
                if name == "mysql_variables" && key.contains("version") {
                    // Telegraf keeps the version variables as tags as well.
                    m.tags.insert(key.clone(), text.clone());
                }
                let typed = match v1 && name == "mysql_variables" {
                    true => variable_v1(&text),
                    false => convert(&key, &text),
                };
                if let Some(v) = typed {
                    m.add_field(key, v);
                }
            }
            out.push(m);
        }
        if c.gather_binary_logs {
            let rows: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await?;
            let sizes: Vec<u64> = rows
                .into_iter()
                .map(|r| r.get::<Option<u64>, _>(1).flatten().unwrap_or_default())
                .collect();
            let mut m = metric("mysql");
            m.add_field("binary_size_bytes", FieldValue::UInt(sizes.iter().sum()));
            m.add_field("binary_files_count", FieldValue::UInt(sizes.len() as u64));
            out.push(m);
        }
        if c.gather_process_list {
            let rows: Vec<(String, String, u64)> = conn
                .query(
                    "SELECT COALESCE(command, ''), COALESCE(state, ''), count(*) \
                     FROM information_schema.processlist WHERE ID != connection_id() \
                     GROUP BY command, state ORDER BY null",
                )
                .await?;
            let mut counts: std::collections::BTreeMap<&str, u64> =
                THREAD_STATES.iter().map(|s| (*s, 0)).collect();
            for (command, state, n) in rows {
                *counts.entry(thread_state(&command, &state)).or_default() += n;
            }
            let mut m = metric(match v1 {
                true => "mysql_info_schema",
                false => "mysql_process_list",
            });
            for (state, n) in counts {
                m.add_field(
                    format!("threads_{}", state.replace(' ', "_")),
                    FieldValue::UInt(n),
                );
            }
            out.push(m);
            let users: Vec<(String, i64)> = conn
                .query("SELECT user, sum(1) AS connections FROM INFORMATION_SCHEMA.PROCESSLIST GROUP BY user")
                .await?;
            for (user, connections) in users {
                let mut m = metric("mysql_users").with_tag("user", user);
                m.add_field("connections", FieldValue::Int(connections));
                out.push(m);
            }
        }
        let metric = &metric;
        if c.gather_user_statistics {
            out.extend(schema::user_statistics(&mut conn, metric).await?);
        }
        if c.gather_slave_status {
            out.extend(replication::slave_status(&mut conn, c, metric).await?);
        }
        if c.gather_info_schema_auto_inc {
            out.extend(schema::auto_increments(&mut conn, v1, metric).await?);
        }
        if c.gather_perf_sum_per_acc_per_event {
            out.extend(perf_schema::per_account_per_event(&mut conn, c, metric).await?);
        }
        if c.gather_table_io_waits {
            out.extend(perf_schema::table_io_waits(&mut conn, metric).await?);
        }
        if c.gather_index_io_waits {
            out.extend(perf_schema::index_io_waits(&mut conn, metric).await?);
        }
        if c.gather_table_lock_waits {
            out.extend(perf_schema::table_lock_waits(&mut conn, metric).await?);
        }
        if c.gather_event_waits {
            out.extend(perf_schema::event_waits(&mut conn, metric).await?);
        }
        if c.gather_file_events_stats {
            out.extend(perf_schema::file_events(&mut conn, metric).await?);
        }
        if c.gather_perf_events_statements {
            out.extend(perf_schema::events_statements(&mut conn, c, metric).await?);
        }
        if c.gather_table_schema {
            out.extend(schema::tables(&mut conn, c, metric).await?);
        }
        conn.disconnect().await?;
        Ok(out)
    }
}

impl Input for Mysql {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            // The variables are read at most every `interval_slow` (of at least a second).
            let slow = self.config.interval_slow.0;
            let variables = slow < std::time::Duration::from_secs(1)
                || self.variables_read.is_none_or(|at| at.elapsed() >= slow);
            if variables {
                self.variables_read = Some(std::time::Instant::now());
            }
            for dsn in &self.dsns {
                let run = self.server(dsn, acc.time, variables);
                match tokio::time::timeout(GATHER_BOUND, run).await {
                    Ok(Ok(metrics)) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Ok(Err(e)) => errors.push(format!("server {}: {e}", dsn.server())),
                    Err(_) => errors.push(format!("server {}: timed out", dsn.server())),
                }
            }
            gathered_all("mysql", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsns_as_the_go_driver_reads_them() {
        let d = Dsn::parse("root:s3:cret@tcp(db.example:3307)/app?tls=false").unwrap();
        assert_eq!(d.user.as_deref(), Some("root"));
        assert_eq!(d.password.as_deref(), Some("s3:cret"));
        assert_eq!(d.server(), "db.example:3307");
        assert_eq!(d.database.as_deref(), Some("app"));
        let local = Dsn::parse("tcp(127.0.0.1:3306)/").unwrap();
        assert_eq!(
            (local.user.clone(), local.server()),
            (None, "127.0.0.1:3306".into())
        );
        assert_eq!(d.tls, DsnTls::Off);
        for (param, tls) in [
            ("?tls=true", DsnTls::Verify),
            ("?timeout=5s&tls=skip-verify", DsnTls::SkipVerify),
            ("?tls=preferred", DsnTls::SkipVerify),
            ("?tls=custom", DsnTls::Custom),
            ("", DsnTls::Off),
        ] {
            assert_eq!(Dsn::parse(&format!("u@tcp(h:1)/{param}")).unwrap().tls, tls);
        }
        let e = Dsn::parse("u:pw@tcp(h:1)/?tls=maybe").unwrap_err();
        assert!(e.contains("maybe") && !e.contains("pw"), "{e}");
        let unix = Dsn::parse("telegraf@unix(/run/mysqld/mysqld.sock)/").unwrap();
        assert_eq!(unix.server(), "/run/mysqld/mysqld.sock");
        assert_eq!(Dsn::parse("/").unwrap().server(), "127.0.0.1:3306");
        let e = Dsn::parse("root:pw@tcp(h:notaport)/").unwrap_err();
        assert!(e.contains("notaport") && !e.contains("pw"), "{e}");
        assert!(Dsn::parse("no slash here").is_err());
        assert!(Dsn::parse("u@udp(h)/").is_err());
    }

    #[test]
    fn dsn_parameters_beyond_tls() {
        let d = Dsn::parse("u@tcp(h:1)/").unwrap();
        assert_eq!(d.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert!(d.init.is_empty() && d.without_effect.is_empty());
        let d = Dsn::parse(
            "u:pw@tcp(h:1)/db?timeout=1m30s&maxAllowedPacket=65536&allowCleartextPasswords=true\
             &sql_mode=%27ANSI%27&charset=latin1,utf8mb4&collation=latin1_bin\
             &parseTime=true&readTimeout=30s&autocommit=1",
        )
        .unwrap();
        assert_eq!(d.connect_timeout, std::time::Duration::from_secs(90));
        assert_eq!(d.max_allowed_packet, Some(65536));
        assert!(d.cleartext_passwords);
        assert_eq!(
            d.init,
            [
                "SET NAMES latin1 COLLATE latin1_bin",
                "SET sql_mode='ANSI'",
                "SET autocommit=1"
            ]
        );
        assert_eq!(d.without_effect.len(), 2, "{:?}", d.without_effect);
        assert!(d.without_effect[0].starts_with("parseTime"));
        assert!(d.without_effect[1].starts_with("readTimeout"));
        for bad in [
            "timeout=soon",
            "maxAllowedPacket=-1",
            "allowCleartextPasswords=maybe",
            "x%3BDROP=1",
        ] {
            let e = Dsn::parse(&format!("u:pw@tcp(h:1)/?{bad}")).unwrap_err();
            assert!(!e.contains("pw@") && e.contains("u:***"), "{e}");
        }
        let d = Dsn::parse("u@tcp(h:1)/?collation=utf8mb4_bin&maxAllowedPacket=0").unwrap();
        assert_eq!(d.init, ["SET collation_connection = 'utf8mb4_bin'"]);
        assert_eq!(d.max_allowed_packet, None);
    }

    /// A server that accepts but never greets: connecting gives up after the DSN's timeout.
    #[tokio::test]
    async fn connecting_is_bounded_by_the_dsn_timeout() {
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let dsn = Dsn::parse(&format!("u@tcp(127.0.0.1:{port})/?timeout=200ms")).unwrap();
        let input = Mysql {
            dsns: vec![],
            config: MysqlConfig::default(),
            variables_read: None,
        };
        let e = input.server(&dsn, 0, false).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "connecting timed out after 200ms (the DSN's timeout)"
        );
    }

    #[test]
    fn version_1_names_and_types_as_telegraf_had_them() {
        assert_eq!(
            status_v1("Com_select", "7"),
            Some(("commands_select".into(), FieldValue::Int(7)))
        );
        assert_eq!(
            status_v1("Innodb_buffer_pool_pages_data", "x"),
            Some(("innodb_buffer_pool_pages_data".into(), FieldValue::Int(0)))
        );
        assert_eq!(
            status_v1("Uptime", "42"),
            Some(("uptime".into(), FieldValue::Int(42)))
        );
        assert_eq!(status_v1("Ssl_cipher", "x"), None);
        assert_eq!(variable_v1("ON"), Some(FieldValue::Int(1)));
        assert_eq!(variable_v1("0.5"), Some(FieldValue::Float(0.5)));
        assert_eq!(
            variable_v1("utf8mb4"),
            Some(FieldValue::Str("utf8mb4".into()))
        );
        assert_eq!(variable_v1(""), None);
        let fx = crate::inputs::testing::fixture(&[]);
        let bad = |t: &str| {
            let c: MysqlConfig = toml::from_str(t).unwrap();
            build(&c, &fx.ctx()).is_err()
        };
        assert!(bad("metric_version = 3"));
        assert!(!bad("metric_version = 1"));
        assert_eq!(
            MysqlConfig::default().metric_version,
            1,
            "Telegraf's default"
        );
    }

    #[test]
    fn thread_states_as_telegraf_counts_them() {
        assert_eq!(thread_state("Sleep", ""), "idle");
        assert_eq!(thread_state("Query", "Sending data"), "sending data");
        assert_eq!(thread_state("Query", "query end"), "end");
        assert_eq!(
            thread_state("Query", "Waiting for table metadata lock"),
            "waiting for lock"
        );
        assert_eq!(thread_state("Query", "starting"), "executing");
        assert_eq!(thread_state("Binlog_Dump", "x"), "replication master");
        assert_eq!(thread_state("Daemon", "InnoDB purge worker"), "other");
        assert_eq!(THREAD_STATES.len(), 51);
    }

    #[test]
    fn values_typed_as_telegrafs_version_2() {
        assert_eq!(convert("uptime", "42"), Some(FieldValue::Int(42)));
        assert_eq!(convert("x", "0.5"), Some(FieldValue::Float(0.5)));
        assert_eq!(convert("x", "ON"), Some(FieldValue::Int(1)));
        assert_eq!(convert("x", "no"), Some(FieldValue::Int(0)));
        assert_eq!(
            convert("ssl_verify_depth", "18446744073709551615"),
            Some(FieldValue::UInt(u64::MAX))
        );
        assert_eq!(
            convert("x", "TLSv1.2"),
            Some(FieldValue::Str("TLSv1.2".into()))
        );
        assert_eq!(convert("x", ""), None);
    }
}
