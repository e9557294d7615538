//! `kapacitor-rs.toml`: Kapacitor's sections and keys (kebab-case), defaults that run against
//! `http://localhost:8086` with no file, and overrides from `KAPACITOR_RS_<SECTION>_<KEY>`
//! variables (array tables indexed: `KAPACITOR_RS_INFLUXDB_0_URLS_0`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct Config {
    /// The name the store uses to reach this server (subscription destinations).
    pub hostname: String,
    /// Where tasks, alert state and the server id live.
    pub data_dir: PathBuf,
    /// `[http]`
    pub http: HttpConfig,
    /// `[[influxdb]]`
    pub influxdb: Vec<InfluxDbConfig>,
    /// `[smtp]`
    pub smtp: SmtpConfig,
    /// `[slack]`
    pub slack: SlackConfig,
    /// `[logging]`
    pub logging: LoggingConfig,
    /// `[load]`
    pub load: LoadConfig,
    /// `[alert-history]`
    pub alert_history: AlertHistoryConfig,
    /// `[sandbox]`: what scripts may reach on this machine (not in Kapacitor).
    pub sandbox: SandboxConfig,
    /// `[auth]`: Kapacitor's internal users.
    pub auth: AuthConfig,
}

/// `[auth]`: Kapacitor's internal authorizations. With `enabled`, users exist (from
/// `[[auth.users]]` and the `/kapacitor/v1/users` API); `[http] auth-enabled` then demands
/// their credentials on every endpoint but ping, health and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct AuthConfig {
    /// Turn the users on.
    pub enabled: bool,
    /// bcrypt cost of the hashes made for new passwords (4…31).
    pub bcrypt_cost: u32,
    /// Users defined here (fixed: the API cannot change them). Not in Kapacitor, whose first
    /// admin must be made through the API while auth is off.
    pub users: Vec<ConfigUser>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            bcrypt_cost: 10,
            users: Vec::new(),
        }
    }
}

/// One `[[auth.users]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigUser {
    /// Login name.
    pub name: String,
    /// The password (hashed at start); or give `password-hash`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// A bcrypt hash of the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_hash: String,
    /// `admin` or `normal`.
    #[serde(rename = "type")]
    pub kind: UserType,
    /// A normal user's permissions: `api`, `config_api`, `write_points`, `all`, `none`.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// `[sandbox]`: the programs `.exec()` may run and the directories `.log()` may write to.
/// Both empty by default, so a task can run nothing and write no file: a deliberate
/// difference from Kapacitor, where anyone who may define a task may run any command and
/// write any file the daemon can.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SandboxConfig {
    /// Absolute paths of the programs `.exec()` may run, exactly as the script names them.
    pub exec_allowed: Vec<PathBuf>,
    /// Directories under which `.log()` may append its files.
    pub log_allowed_dirs: Vec<PathBuf>,
}

impl SandboxConfig {
    /// Why `.exec(program, …)` is refused, if it is.
    pub fn check_exec(&self, program: &str) -> Result<(), String> {
        if self.exec_allowed.iter().any(|p| p.as_os_str() == program) {
            return Ok(());
        }
        Err(format!(
            "exec of {program:?} is not allowed: kapacitor-rs runs only the programs listed in [sandbox] exec-allowed (none by default)"
        ))
    }

    /// Why `.log(path)` is refused, if it is: `path` must lie under an allowed directory,
    /// with no `..` to climb out of it.
    pub fn check_log(&self, path: &std::path::Path) -> Result<(), String> {
        let climbs = path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
        if !climbs && self.log_allowed_dirs.iter().any(|d| path.starts_with(d)) {
            return Ok(());
        }
        Err(format!(
            "log to {} is not allowed: kapacitor-rs writes only under the directories listed in [sandbox] log-allowed-dirs (none by default)",
            path.display()
        ))
    }
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct HttpConfig {
    /// Listen address (`:9092` means every interface).
    pub bind_address: String,
    /// Log each request.
    pub log_enabled: bool,
    /// Demand credentials of an `[auth]` user on every endpoint but ping, health, metrics.
    pub auth_enabled: bool,
    /// Key of the JWTs accepted as `Authorization: Bearer …`; empty refuses them.
    pub shared_secret: String,
}

/// One `[[influxdb]]` store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct InfluxDbConfig {
    /// Use it.
    pub enabled: bool,
    /// Its name (`cluster` in scripts).
    pub name: String,
    /// The default store.
    pub default: bool,
    /// URLs; the first is used.
    pub urls: Vec<String>,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// HTTP timeout of writes and queries (`0s`: 30s).
    pub timeout: String,
    /// Do not register subscriptions.
    pub disable_subscriptions: bool,
    /// `http` (only).
    pub subscription_protocol: String,
    /// How often subscriptions are checked.
    pub subscriptions_sync_interval: String,
    /// How long to keep trying to reach the store at start.
    pub startup_timeout: String,
    /// Host name in subscription destinations ("" = `hostname`).
    pub kapacitor_hostname: String,
    /// Port in subscription destinations (0 = the HTTP port).
    pub http_port: u16,
    /// Databases (and their policies) to subscribe to; empty = all.
    pub subscriptions: BTreeMap<String, Vec<String>>,
    /// Databases (and policies) never subscribed to.
    pub excluded_subscriptions: BTreeMap<String, Vec<String>>,
}

/// `[smtp]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SmtpConfig {
    /// Send e-mail.
    pub enabled: bool,
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login (empty: none).
    pub username: String,
    /// Password.
    pub password: String,
    /// Sender.
    pub from: String,
    /// Default recipients.
    pub to: Vec<String>,
    /// Accept any certificate (with `starttls`/`tls`).
    pub no_verify: bool,
    /// Upgrade the connection with STARTTLS (required).
    pub starttls: bool,
    /// Connect with TLS from the start (port 465).
    pub tls: bool,
    /// Send every alert by e-mail, named in the script or not.
    pub global: bool,
    /// With `global`: only state changes.
    pub state_changes_only: bool,
}

/// `[slack]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct SlackConfig {
    /// Use it.
    pub enabled: bool,
    /// Incoming-webhook URL.
    pub url: String,
    /// Default channel.
    pub channel: String,
    /// Default username.
    pub username: String,
    /// Default icon.
    pub icon_emoji: String,
}

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct LoggingConfig {
    /// `STDERR`, `STDOUT` or a path.
    pub file: String,
    /// `DEBUG`, `INFO`, `WARN`, `ERROR`.
    pub level: String,
}

/// `[load]`: TICKscripts defined and enabled at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct LoadConfig {
    /// Load them.
    pub enabled: bool,
    /// Directory whose `tasks/*.tick` (or `*.tick`) are loaded.
    pub dir: PathBuf,
}

/// `[alert-history]`: every alert event also written to the store, where Chronograf's alert
/// history reads it (unless the task writes there itself, as Chronograf's rules do).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct AlertHistoryConfig {
    /// Write it.
    pub enabled: bool,
    /// Database.
    pub database: String,
    /// Retention policy.
    pub retention_policy: String,
    /// Measurement.
    pub measurement: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".into(),
            data_dir: "/var/lib/kapacitor-rs".into(),
            http: HttpConfig::default(),
            influxdb: vec![InfluxDbConfig::default()],
            smtp: SmtpConfig::default(),
            slack: SlackConfig::default(),
            logging: LoggingConfig::default(),
            load: LoadConfig::default(),
            alert_history: AlertHistoryConfig::default(),
            sandbox: SandboxConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind_address: ":9092".into(),
            log_enabled: true,
            auth_enabled: false,
            shared_secret: String::new(),
        }
    }
}

impl Default for InfluxDbConfig {
    fn default() -> Self {
        InfluxDbConfig {
            enabled: true,
            name: "default".into(),
            default: true,
            urls: vec!["http://localhost:8086".into()],
            username: String::new(),
            password: String::new(),
            timeout: "0s".into(),
            disable_subscriptions: false,
            subscription_protocol: "http".into(),
            subscriptions_sync_interval: "1m0s".into(),
            startup_timeout: "5m0s".into(),
            kapacitor_hostname: String::new(),
            http_port: 0,
            subscriptions: BTreeMap::new(),
            excluded_subscriptions: BTreeMap::from([(
                "_kapacitor".to_string(),
                vec!["autogen".to_string()],
            )]),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            enabled: false,
            host: "localhost".into(),
            port: 25,
            username: String::new(),
            password: String::new(),
            from: "kapacitor@localhost".into(),
            to: Vec::new(),
            no_verify: false,
            starttls: false,
            tls: false,
            global: false,
            state_changes_only: false,
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            file: "STDERR".into(),
            level: "INFO".into(),
        }
    }
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            enabled: false,
            dir: "/etc/kapacitor-rs/load".into(),
        }
    }
}

impl Default for AlertHistoryConfig {
    fn default() -> Self {
        AlertHistoryConfig {
            enabled: true,
            database: "chronograf".into(),
            retention_policy: "autogen".into(),
            measurement: "alerts".into(),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Bad TOML or a bad value.
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or `environment`).
        path: String,
        /// What is wrong, with line and key.
        message: String,
    },
}

impl Config {
    /// Defaults, then `file` (when given), then `KAPACITOR_RS_*` from `env`.
    pub fn load(
        file: Option<&std::path::Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut tree =
            toml::Value::try_from(Config::default()).map_err(|e| ConfigError::Invalid {
                path: "defaults".into(),
                message: e.to_string(),
            })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let given: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Invalid {
                        path: path.display().to_string(),
                        message: e.to_string().replace('\n', " "),
                    })?;
            // Parsing the file alone first reports unknown keys with their place.
            let _: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: path.display().to_string(),
                message: e.to_string().replace('\n', " "),
            })?;
            merge(&mut tree, toml::Value::Table(given));
        }
        apply_env(&mut tree, "KAPACITOR_RS", env);
        tree.try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                path: "environment".into(),
                message: e.to_string(),
            })
    }

    /// The store used for queries and writes.
    pub fn default_store(&self) -> Option<&InfluxDbConfig> {
        self.influxdb
            .iter()
            .filter(|i| i.enabled)
            .find(|i| i.default)
            .or_else(|| self.influxdb.iter().find(|i| i.enabled))
    }

    /// The HTTP port of `bind-address`.
    pub fn http_port(&self) -> u16 {
        self.http
            .bind_address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(9092)
    }
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_table() && v.is_table() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// Replaces every leaf whose variable (`PREFIX_SECTION_KEY`, `-` as `_`, upper case, array
/// elements by index) is set.
fn apply_env(value: &mut toml::Value, name: &str, env: &[(String, String)]) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                apply_env(
                    v,
                    &format!("{name}_{}", k.replace('-', "_").to_uppercase()),
                    env,
                );
            }
        }
        toml::Value::Array(items)
            if items.iter().all(toml::Value::is_table) && !items.is_empty() =>
        {
            for (i, v) in items.iter_mut().enumerate() {
                apply_env(v, &format!("{name}_{i}"), env);
            }
        }
        leaf => {
            let Some((_, raw)) = env.iter().find(|(k, _)| k == name) else {
                if let toml::Value::Array(items) = leaf {
                    for (i, item) in items.iter_mut().enumerate() {
                        if let Some((_, raw)) =
                            env.iter().find(|(k, _)| *k == format!("{name}_{i}"))
                        {
                            *item = toml::Value::String(raw.clone());
                        }
                    }
                }
                return;
            };
            *leaf = match leaf {
                toml::Value::Boolean(_) => {
                    toml::Value::Boolean(matches!(raw.as_str(), "true" | "TRUE" | "1"))
                }
                toml::Value::Integer(_) => raw
                    .parse()
                    .map(toml::Value::Integer)
                    .unwrap_or(toml::Value::String(raw.clone())),
                toml::Value::Array(_) => toml::Value::Array(
                    raw.split(',')
                        .map(|s| toml::Value::String(s.trim().to_string()))
                        .collect(),
                ),
                _ => toml::Value::String(raw.clone()),
            };
        }
    }
}

/// What a user may do, by Kapacitor's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Nothing.
    None,
    /// The tasks, replays and alerts API.
    Api,
    /// The configuration API.
    ConfigApi,
    /// Writing points (`/write`, `/kapacitor/v1/write`).
    WritePoints,
    /// Everything a normal user can be given.
    All,
}

/// Kapacitor's user types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// May do everything, users included.
    Admin,
    /// May do what its permissions say.
    Normal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "hostname = \"kap\"\n[smtp]\nenabled = true\nport = 2525\n[[influxdb]]\nurls = [\"http://store:8086\"]\n").unwrap();
        let env = vec![
            ("KAPACITOR_RS_SMTP_HOST".to_string(), "mail".to_string()),
            (
                "KAPACITOR_RS_INFLUXDB_0_URLS_0".to_string(),
                "http://other:8086".to_string(),
            ),
            (
                "KAPACITOR_RS_HTTP_BIND_ADDRESS".to_string(),
                "127.0.0.1:9999".to_string(),
            ),
        ];
        let c = Config::load(Some(&path), &env).unwrap();
        assert_eq!(c.hostname, "kap");
        assert!(c.smtp.enabled);
        assert_eq!((c.smtp.host.as_str(), c.smtp.port), ("mail", 2525));
        assert_eq!(c.influxdb[0].urls, ["http://other:8086"]);
        assert_eq!(c.http_port(), 9999);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "[smtp]\nhots = \"x\"\n").unwrap();
        let e = Config::load(Some(&path), &[]).unwrap_err().to_string();
        assert!(e.contains("hots"), "{e}");
    }

    #[test]
    fn the_shipped_example_is_the_defaults_documented() {
        let text = include_str!("../../deploy/kapacitor-rs.toml");
        let parsed: Config = toml::from_str(text).unwrap();
        let defaults = Config::default();
        assert_eq!(
            toml::to_string(&parsed.smtp).unwrap(),
            toml::to_string(&defaults.smtp).unwrap()
        );
        assert_eq!(parsed.http.bind_address, defaults.http.bind_address);
    }
}
