//! `inputs.mysql`: MySQL's and MariaDB's `SHOW GLOBAL STATUS` (measurement `mysql`) and
//! `SHOW GLOBAL VARIABLES` (`mysql_variables`), read through `mysql_async` with Telegraf's
//! `metric_version = 2` names and types: every variable lower-cased, integers as integers,
//! decimals as floats, `ON`/`YES` as 1 and `OFF`/`NO` as 0, other text as strings; tag
//! `server` (the DSN's address). Servers are Go MySQL driver DSNs, as Telegraf takes them
//! (`user:password@tcp(127.0.0.1:3306)/`, `user@unix(/run/mysqld/mysqld.sock)/`).

use super::{gathered_all, Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::{FieldValue, Metric};
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
    /// `2` (Telegraf's current names and types); `1` is refused by name.
    pub metric_version: u8,
}

impl Default for MysqlConfig {
    fn default() -> Self {
        MysqlConfig {
            servers: Vec::new(),
            gather_global_variables: true,
            metric_version: 2,
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
        let db = db.split('?').next().unwrap_or_default();
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

    fn opts(&self) -> mysql_async::Opts {
        let mut b = mysql_async::OptsBuilder::default()
            .user(self.user.clone())
            .pass(self.password.clone())
            .db_name(self.database.clone())
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
    if c.metric_version != 2 {
        return Err(InputError::Settings(format!(
            "metric_version {}: only 2 is implemented by telegraf-rs",
            c.metric_version
        )));
    }
    let servers = match c.servers.is_empty() {
        true => vec!["tcp(127.0.0.1:3306)/".to_string()],
        false => c.servers.clone(),
    };
    let dsns = servers
        .iter()
        .map(|s| Dsn::parse(s).map_err(InputError::Settings))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Mysql {
        dsns,
        variables: c.gather_global_variables,
    }))
}

struct Mysql {
    dsns: Vec<Dsn>,
    variables: bool,
}

impl Mysql {
    async fn server(&self, dsn: &Dsn, time: i64) -> Result<Vec<Metric>, mysql_async::Error> {
        let mut conn = mysql_async::Conn::new(dsn.opts()).await?;
        let mut out = Vec::new();
        let mut queries = vec![("mysql", "SHOW GLOBAL STATUS")];
        if self.variables {
            queries.push(("mysql_variables", "SHOW GLOBAL VARIABLES"));
        }
        for (name, query) in queries {
            let rows: Vec<(String, Option<String>)> = conn.query(query).await?;
            let mut m = Metric::new(name, time).with_tag("server", dsn.server());
            for (key, value) in rows {
                let key = key.to_lowercase();
                if let Some(v) = value.as_deref().and_then(|v| convert(&key, v)) {
                    m.add_field(key, v);
                }
            }
            out.push(m);
        }
        conn.disconnect().await?;
        Ok(out)
    }
}

impl Input for Mysql {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for dsn in &self.dsns {
                let run = self.server(dsn, acc.time);
                match tokio::time::timeout(std::time::Duration::from_secs(10), run).await {
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
        let unix = Dsn::parse("telegraf@unix(/run/mysqld/mysqld.sock)/").unwrap();
        assert_eq!(unix.server(), "/run/mysqld/mysqld.sock");
        assert_eq!(Dsn::parse("/").unwrap().server(), "127.0.0.1:3306");
        let e = Dsn::parse("root:pw@tcp(h:notaport)/").unwrap_err();
        assert!(e.contains("notaport") && !e.contains("pw"), "{e}");
        assert!(Dsn::parse("no slash here").is_err());
        assert!(Dsn::parse("u@udp(h)/").is_err());
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
