//! `inputs.redis`: each server's `INFO ALL` as Telegraf reads it — measurement `redis` (tags
//! `server`/`port` or `socket`, and `replication_role`), `redis_keyspace` per database,
//! `redis_cmdstat` per command, `redis_errorstat` per error, `redis_replication` per replica
//! — plus the values of configured `commands`.

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::{now_nanos, FieldValue, Metric};
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[inputs.redis]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `tcp://[user:password@]host[:port]` or `unix:///path/to/redis.sock`.
    pub servers: Vec<String>,
    /// Password, when the URL has none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// ACL user name, when the URL has none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Extra commands whose answers become fields of `redis_commands`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<RedisCommand>,
    /// Connection and answer timeout.
    pub timeout: GoDuration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            servers: vec!["tcp://localhost:6379".into()],
            password: String::new(),
            username: String::new(),
            commands: Vec::new(),
            timeout: GoDuration::secs(5),
        }
    }
}

/// One `[[inputs.redis.commands]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct RedisCommand {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// The field its answer goes to.
    pub field: String,
    /// `string`, `integer` or `float` (default).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub r#type: String,
}

/// One server: how to reach it and the tags naming it.
struct Server {
    client: redis::Client,
    tags: BTreeMap<String, String>,
    label: String,
}

/// Builds the input; a URL that cannot be read is an error naming it.
pub fn build(c: &RedisConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let servers = c
        .servers
        .iter()
        .map(|s| server(s, c))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Redis {
        servers,
        commands: c.commands.clone(),
        timeout: c.timeout.0,
    }))
}

fn server(url: &str, c: &RedisConfig) -> Result<Server, InputError> {
    let bad = |why: String| InputError::Settings(format!("servers: {url:?}: {why}"));
    let mut tags = BTreeMap::new();
    let with_scheme = match url.contains("://") {
        true => url.to_string(),
        false => format!("tcp://{url}"),
    };
    let parsed = reqwest::Url::parse(&with_scheme).map_err(|e| bad(e.to_string()))?;
    let credential = |given: &str, option: &str| match given {
        "" => option.to_string(),
        given => given.to_string(),
    };
    let user = credential(parsed.username(), &c.username);
    let password = credential(parsed.password().unwrap_or_default(), &c.password);
    // The redis crate's own URL forms: redis://user:password@host:port and
    // redis+unix:///path?user=…&pass=….
    let mut target = match parsed.scheme() {
        "unix" => {
            tags.insert("socket".to_string(), parsed.path().to_string());
            let mut t = reqwest::Url::parse("redis+unix:///").map_err(|e| bad(e.to_string()))?;
            t.set_path(parsed.path());
            {
                let mut query = t.query_pairs_mut();
                if !user.is_empty() {
                    query.append_pair("user", &user);
                }
                if !password.is_empty() {
                    query.append_pair("pass", &password);
                }
            }
            t
        }
        "tcp" | "tcp4" | "tcp6" => {
            let host = parsed
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| bad("no host".into()))?;
            let port = parsed.port().unwrap_or(6379);
            tags.insert("server".to_string(), host.to_string());
            tags.insert("port".to_string(), port.to_string());
            reqwest::Url::parse(&format!("redis://{host}:{port}/"))
                .map_err(|e| bad(e.to_string()))?
        }
        other => return Err(bad(format!("unknown scheme {other:?} (tcp or unix)"))),
    };
    if target.scheme() == "redis" {
        let ok = target.set_username(&user).is_ok()
            && target
                .set_password(
                    Some(&password)
                        .filter(|p| !p.is_empty())
                        .map(|p| p.as_str()),
                )
                .is_ok();
        if !ok {
            return Err(bad("credentials cannot be used".into()));
        }
    }
    let client = redis::Client::open(target.as_str()).map_err(|e| bad(e.to_string()))?;
    Ok(Server {
        client,
        tags,
        label: url.to_string(),
    })
}

struct Redis {
    servers: Vec<Server>,
    commands: Vec<RedisCommand>,
    timeout: std::time::Duration,
}

/// Fields Telegraf keeps as floats whatever the text looks like.
const FLOAT_FIELDS: &[&str] = &[
    "mem_fragmentation_ratio",
    "allocator_frag_ratio",
    "allocator_rss_ratio",
    "rss_overhead_ratio",
    "used_cpu_sys",
    "used_cpu_user",
    "used_cpu_sys_children",
    "used_cpu_user_children",
    "used_cpu_sys_main_thread",
    "used_cpu_user_main_thread",
    "instantaneous_input_kbps",
    "instantaneous_output_kbps",
    "instantaneous_input_repl_kbps",
    "instantaneous_output_repl_kbps",
];

/// A value as Telegraf types INFO values: integer, else float, else string.
fn info_value(text: &str) -> FieldValue {
    if let Ok(i) = text.parse::<i64>() {
        return FieldValue::Int(i);
    }
    match crate::parsers::parse_go_float(text) {
        Some(f) => FieldValue::Float(f),
        None => FieldValue::Str(text.to_string()),
    }
}

/// `k=v,k=v` of the keyspace, commandstats and errorstats sections.
fn pairs(text: &str) -> impl Iterator<Item = (&str, FieldValue)> {
    text.split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k, info_value(v)))
}

/// The metrics of one `INFO ALL` answer, at `time`, with the server's `tags`.
pub fn info_metrics(
    info: &str,
    tags: &BTreeMap<String, String>,
    time: i64,
    now_secs: i64,
) -> Vec<Metric> {
    let mut section = "";
    let mut main = Metric::new("redis", time);
    main.tags = tags.clone();
    let mut others = Vec::new();
    let (mut hits, mut misses) = (0i64, 0i64);
    let sub = |name: &str, tag: (&str, &str), text: &str| {
        let mut m = Metric::new(name, time);
        m.tags = tags.clone();
        m.tags.insert(tag.0.to_string(), tag.1.to_string());
        for (k, v) in pairs(text) {
            m.add_field(k, v);
        }
        m
    };
    for line in info.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(header) = line.strip_prefix("# ") {
            section = header;
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if section == "Server"
            && !matches!(name, "lru_clock" | "uptime_in_seconds" | "redis_version")
        {
            continue;
        }
        if name.starts_with("master_replid") || name == "mem_allocator" || name.ends_with("_human")
        {
            continue;
        }
        match section {
            "Keyspace" => {
                others.push(sub("redis_keyspace", ("database", name), value));
                continue;
            }
            "Commandstats" => {
                let command = name.strip_prefix("cmdstat_").unwrap_or(name);
                others.push(sub("redis_cmdstat", ("command", command), value));
                continue;
            }
            "Errorstats" => {
                let error = name.strip_prefix("errorstat_").unwrap_or(name);
                let mut m = sub("redis_errorstat", ("err", error), "");
                if let Some((_, count)) = pairs(value).find(|(k, _)| *k == "count") {
                    m.add_field("total", count);
                }
                others.push(m);
                continue;
            }
            "Replication" if is_replica_line(name) => {
                let mut m = sub("redis_replication", ("replica_id", &name[5..]), value);
                for key in ["ip", "port"] {
                    if let Some(v) = m.remove_field(key) {
                        m.tags.insert(format!("replica_{key}"), v.to_text());
                    }
                }
                others.push(m);
                continue;
            }
            _ => {}
        }
        let field = match name {
            "uptime_in_seconds" => "uptime",
            "connected_clients" => "clients",
            other => other,
        };
        let text = value.trim_end_matches('%');
        let typed = info_value(text);
        match (&typed, name) {
            (FieldValue::Int(i), "keyspace_hits") => hits = *i,
            (FieldValue::Int(i), "keyspace_misses") => misses = *i,
            (FieldValue::Int(i), "rdb_last_save_time") => {
                main.add_field("rdb_last_save_time_elapsed", now_secs - i)
            }
            (FieldValue::Str(s), "role") => {
                main.tags.insert("replication_role".into(), s.clone());
                continue;
            }
            _ => {}
        }
        let typed = match typed {
            FieldValue::Int(i) if FLOAT_FIELDS.contains(&field) => FieldValue::Float(i as f64),
            other => other,
        };
        main.add_field(field, typed);
    }
    let hitrate = match hits + misses {
        0 => 0.0,
        total => hits as f64 / total as f64,
    };
    main.add_field("keyspace_hitrate", hitrate);
    let mut out = vec![main];
    out.extend(others);
    out
}

/// `slave0`, `slave12`: a replica's line in the Replication section.
fn is_replica_line(name: &str) -> bool {
    name.len() > 5 && name.starts_with("slave") && name[5..].bytes().all(|b| b.is_ascii_digit())
}

impl Redis {
    async fn gather_server(
        &self,
        server: &Server,
        acc: &mut Accumulator,
    ) -> Result<(), InputError> {
        let fail = |e: redis::RedisError| InputError::Command {
            command: format!("redis {}", server.label),
            message: e.to_string(),
        };
        let mut conn = tokio::time::timeout(
            self.timeout,
            server.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| InputError::Command {
            command: format!("redis {}", server.label),
            message: "timed out connecting".into(),
        })?
        .map_err(fail)?;
        let info: String = redis::cmd("INFO")
            .arg("ALL")
            .query_async(&mut conn)
            .await
            .map_err(fail)?;
        for m in info_metrics(&info, &server.tags, acc.time, now_nanos() / 1_000_000_000) {
            acc.push(m);
        }
        if self.commands.is_empty() {
            return Ok(());
        }
        let mut m = Metric::new("redis_commands", acc.time);
        m.tags = server.tags.clone();
        for c in &self.commands {
            let Some((name, args)) = c.command.split_first() else {
                continue;
            };
            let answer: redis::Value = redis::cmd(name)
                .arg(args)
                .query_async(&mut conn)
                .await
                .map_err(fail)?;
            let text = match answer {
                redis::Value::Int(i) => i.to_string(),
                redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                redis::Value::SimpleString(s) => s,
                redis::Value::Double(d) => d.to_string(),
                redis::Value::Nil => continue,
                other => format!("{other:?}"),
            };
            let value = match c.r#type.as_str() {
                "string" => FieldValue::Str(text),
                "integer" => {
                    FieldValue::Int(text.trim().parse().map_err(|_| InputError::Parse {
                        what: c.command.join(" "),
                        message: format!("{text:?} is not an integer"),
                    })?)
                }
                _ => FieldValue::Float(text.trim().parse().map_err(|_| InputError::Parse {
                    what: c.command.join(" "),
                    message: format!("{text:?} is not a float"),
                })?),
            };
            m.add_field(c.field.clone(), value);
        }
        acc.push(m);
        Ok(())
    }
}

impl Input for Redis {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for server in &self.servers {
                if let Err(e) = self.gather_server(server, acc).await {
                    errors.push(e.to_string());
                }
            }
            super::gathered_all("redis", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nuptime_in_seconds:12\r\n\r\n# Clients\r\nconnected_clients:3\r\n\r\n# Memory\r\nused_memory:1000\r\nused_memory_human:1K\r\nmem_fragmentation_ratio:2\r\nmem_allocator:jemalloc\r\n\r\n# Persistence\r\nrdb_last_save_time:100\r\n\r\n# Stats\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=5,lag=0\r\nmaster_replid:abc\r\n\r\n# CPU\r\nused_cpu_sys:0.5\r\n\r\n# Commandstats\r\ncmdstat_get:calls=4,usec=10,usec_per_call=2.50\r\n\r\n# Errorstats\r\nerrorstat_ERR:count=2\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=500\r\n";

    #[test]
    fn info_as_telegraf_reads_it() {
        let tags = BTreeMap::from([("server".to_string(), "h".to_string())]);
        let ms = info_metrics(INFO, &tags, 7, 150);
        let main = &ms[0];
        assert_eq!(main.name, "redis");
        assert_eq!(main.tags["replication_role"], "master");
        assert_eq!(
            main.field("redis_version"),
            Some(&FieldValue::Str("7.0.15".into()))
        );
        assert_eq!(main.field("redis_mode"), None);
        assert_eq!(main.field("uptime"), Some(&FieldValue::Int(12)));
        assert_eq!(main.field("clients"), Some(&FieldValue::Int(3)));
        assert_eq!(main.field("used_memory_human"), None);
        assert_eq!(main.field("mem_allocator"), None);
        assert_eq!(
            main.field("mem_fragmentation_ratio"),
            Some(&FieldValue::Float(2.0))
        );
        assert_eq!(
            main.field("rdb_last_save_time_elapsed"),
            Some(&FieldValue::Int(50))
        );
        assert_eq!(
            main.field("keyspace_hitrate"),
            Some(&FieldValue::Float(0.75))
        );
        assert_eq!(main.field("master_replid"), None);
        let by_name = |n: &str| ms.iter().find(|m| m.name == n).unwrap();
        let ks = by_name("redis_keyspace");
        assert_eq!(ks.tags["database"], "db0");
        assert_eq!(ks.field("keys"), Some(&FieldValue::Int(2)));
        let cmd = by_name("redis_cmdstat");
        assert_eq!(cmd.tags["command"], "get");
        assert_eq!(cmd.field("usec_per_call"), Some(&FieldValue::Float(2.5)));
        assert_eq!(
            by_name("redis_errorstat").field("total"),
            Some(&FieldValue::Int(2))
        );
        let rep = by_name("redis_replication");
        assert_eq!(rep.tags["replica_id"], "0");
        assert_eq!(rep.tags["replica_ip"], "10.0.0.2");
        assert_eq!(rep.field("lag"), Some(&FieldValue::Int(0)));
    }

    #[test]
    fn server_urls_become_tags() {
        let c = RedisConfig::default();
        let s = server("tcp://user:pw@10.1.2.3:6380", &c).unwrap();
        assert_eq!(s.tags["server"], "10.1.2.3");
        assert_eq!(s.tags["port"], "6380");
        let s = server("localhost", &c).unwrap();
        assert_eq!(s.tags["port"], "6379");
        let s = server("unix:///run/redis.sock", &c).unwrap();
        assert_eq!(s.tags["socket"], "/run/redis.sock");
        assert!(server("tcp://:x", &c).is_err());
    }
}
