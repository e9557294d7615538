//! `inputs.postgresql`: PostgreSQL's own statistics views, `pg_stat_database` (one metric per
//! database) and `pg_stat_bgwriter`, read through `tokio-postgres` as Telegraf reads them:
//! measurement `postgresql`, tags `server` (the connection string without its secrets) and
//! `db`, every column a field with its SQL type (integers, floats, names), `stats_reset` and
//! other times left out. Each gather connects anew, so `max_lifetime` and
//! `prepared_statements` have nothing to act on: they are warned about as unknown.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::LazyLock;
use tokio_postgres::types::Type;

/// Options of `[[inputs.postgresql]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct PostgresqlConfig {
    /// A libpq connection string (`host=localhost user=postgres sslmode=disable`) or URI
    /// (`postgres://user:pass@host:5432/db?sslmode=disable`); `host=localhost sslmode=disable`
    /// when empty.
    pub address: String,
    /// The `server` tag instead of the sanitized address.
    pub outputaddress: String,
    /// Only these databases (all when empty).
    pub databases: Vec<String>,
    /// All databases but these.
    pub ignored_databases: Vec<String>,
}

/// Builds the input; the address must parse.
pub fn build(c: &PostgresqlConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let address = match c.address.trim() {
        "" => "host=localhost sslmode=disable".to_string(),
        a => a.to_string(),
    };
    let mut config = tokio_postgres::Config::from_str(&address)
        .map_err(|e| InputError::Settings(format!("address: {e}")))?;
    config.connect_timeout(std::time::Duration::from_secs(5));
    let server = match c.outputaddress.is_empty() {
        true => sanitized(&address).map_err(InputError::Settings)?,
        false => c.outputaddress.clone(),
    };
    let quote = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("'{}'", n.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",")
    };
    let query = match (c.databases.is_empty(), c.ignored_databases.is_empty()) {
        (true, true) => "SELECT * FROM pg_stat_database".to_string(),
        (_, false) => format!(
            "SELECT * FROM pg_stat_database WHERE datname NOT IN ({})",
            quote(&c.ignored_databases)
        ),
        (false, true) => format!(
            "SELECT * FROM pg_stat_database WHERE datname IN ({})",
            quote(&c.databases)
        ),
    };
    Ok(Box::new(Postgresql {
        config,
        server,
        query,
    }))
}

struct Postgresql {
    config: tokio_postgres::Config,
    server: String,
    query: String,
}

/// What Telegraf strips from the `server` tag.
static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(password|sslcert|sslkey|sslmode|sslrootcert)=\S+ ?")
        .unwrap_or_else(|e| unreachable!("{e}"))
});

/// The `server` tag: a URI as sorted `key=value` pairs, then without passwords and TLS
/// settings, as Telegraf writes it.
pub fn sanitized(address: &str) -> Result<String, String> {
    let canonical = match address.starts_with("postgres://") || address.starts_with("postgresql://")
    {
        true => {
            let u = reqwest::Url::parse(address).map_err(|e| format!("address: {e}"))?;
            let escape = |v: &str| {
                v.replace('\\', "\\\\")
                    .replace(' ', "\\ ")
                    .replace('\'', "\\'")
            };
            let mut pairs: Vec<String> = Vec::new();
            let mut add = |k: &str, v: &str| {
                if !v.is_empty() {
                    pairs.push(format!("{k}={}", escape(v)));
                }
            };
            add("user", u.username());
            add("password", u.password().unwrap_or_default());
            add("host", u.host_str().unwrap_or_default());
            if let Some(port) = u.port() {
                add("port", &port.to_string());
            }
            add("dbname", u.path().trim_start_matches('/'));
            for (k, v) in u.query_pairs() {
                add(&k, &v);
            }
            pairs.sort();
            pairs.join(" ")
        }
        false => address.to_string(),
    };
    Ok(SECRETS.replace_all(&canonical, "").into_owned())
}

/// One row as a `postgresql` metric: every column with a type Telegraf reports, `db` from
/// `datname` (`postgres` for rows without one).
fn row_metric(row: &tokio_postgres::Row, server: &str, time: i64) -> Metric {
    let mut m = Metric::new("postgresql", time).with_tag("server", server);
    let mut db = "postgres".to_string();
    for (i, column) in row.columns().iter().enumerate() {
        let name = column.name();
        if name == "stats_reset" {
            continue;
        }
        let t = column.type_();
        if *t == Type::INT2 {
            if let Ok(Some(v)) = row.try_get::<_, Option<i16>>(i) {
                m.add_field(name, i64::from(v));
            }
        } else if *t == Type::INT4 {
            if let Ok(Some(v)) = row.try_get::<_, Option<i32>>(i) {
                m.add_field(name, i64::from(v));
            }
        } else if *t == Type::INT8 {
            if let Ok(Some(v)) = row.try_get::<_, Option<i64>>(i) {
                m.add_field(name, v);
            }
        } else if *t == Type::OID {
            if let Ok(Some(v)) = row.try_get::<_, Option<u32>>(i) {
                m.add_field(name, i64::from(v));
            }
        } else if *t == Type::FLOAT4 {
            if let Ok(Some(v)) = row.try_get::<_, Option<f32>>(i) {
                m.add_field(name, f64::from(v));
            }
        } else if *t == Type::FLOAT8 {
            if let Ok(Some(v)) = row.try_get::<_, Option<f64>>(i) {
                m.add_field(name, v);
            }
        } else if *t == Type::BOOL {
            if let Ok(Some(v)) = row.try_get::<_, Option<bool>>(i) {
                m.add_field(name, v);
            }
        } else if [Type::NAME, Type::TEXT, Type::VARCHAR].contains(t) {
            if let Ok(Some(v)) = row.try_get::<_, Option<String>>(i) {
                if name == "datname" {
                    db = v.clone();
                }
                m.add_field(name, v);
            }
        }
    }
    m.tags.insert("db".into(), db);
    m
}

impl Input for Postgresql {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let fail = |e: tokio_postgres::Error| InputError::Command {
                command: format!("postgresql {}", self.server),
                message: e.to_string(),
            };
            let (client, connection) = self
                .config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(fail)?;
            let driver = tokio::spawn(connection);
            let result = async {
                for query in [self.query.as_str(), "SELECT * FROM pg_stat_bgwriter"] {
                    for row in client.query(query, &[]).await? {
                        acc.push(row_metric(&row, &self.server, acc.time));
                    }
                }
                Ok::<(), tokio_postgres::Error>(())
            }
            .await;
            drop(client);
            driver.abort();
            result.map_err(fail)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_tag_has_no_secrets() {
        assert_eq!(
            sanitized("host=localhost user=postgres password=s3cret sslmode=disable").unwrap(),
            "host=localhost user=postgres "
        );
        assert_eq!(
            sanitized("postgres://me:pw@db.example:5433/app?sslmode=require&application_name=x")
                .unwrap(),
            "application_name=x dbname=app host=db.example port=5433 user=me"
        );
    }

    #[test]
    fn bad_addresses_are_refused_when_built() {
        let fx = crate::inputs::testing::fixture(&[]);
        let c = PostgresqlConfig {
            address: "host=localhost port=notaport".into(),
            ..PostgresqlConfig::default()
        };
        assert!(build(&c, &fx.ctx())
            .err()
            .unwrap()
            .to_string()
            .contains("address"));
    }
}
