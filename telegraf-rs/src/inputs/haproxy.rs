//! `inputs.haproxy`: HAProxy's statistics CSV, read from its stats page (`…;csv`) or its
//! runtime API socket (`show stat`), one `haproxy` metric per frontend, backend and server —
//! tags `server` (the address read), `proxy`, `sv`, `type`; the numeric columns as unsigned
//! fields with Telegraf's renames (`act` → `active_servers`, `hrsp_2xx` →
//! `http_response.2xx`, …), the few text columns (`status`, `check_status`, `mode`, …) as
//! strings.

use super::{gathered_all, Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Options of `[[inputs.haproxy]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct HaproxyConfig {
    /// Stats page URLs (`http://host:1936/haproxy?stats`), socket paths (`socket:` prefix
    /// optional, globs allowed) or `tcp://host:port` runtime API addresses; empty: the stats
    /// page at `http://127.0.0.1:1936/haproxy?stats`.
    pub servers: Vec<String>,
    /// Basic auth user for stats pages.
    pub username: String,
    /// Basic auth password for stats pages.
    pub password: String,
    /// Keeps HAProxy's column names (`pxname`, `act`, `hrsp_2xx`, …) instead of Telegraf's.
    pub keep_field_names: bool,
    /// How long one server may take to answer (default 5 s).
    pub timeout: Option<GoDuration>,
}

/// Builds the input.
pub fn build(c: &HaproxyConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let timeout = c.timeout.map_or(std::time::Duration::from_secs(5), |t| t.0);
    let servers = match c.servers.is_empty() {
        true => vec!["http://127.0.0.1:1936/haproxy?stats".to_string()],
        false => c.servers.clone(),
    };
    Ok(Box::new(Haproxy {
        servers,
        pages: super::StatusPages::new(timeout)?.with_basic_auth(&c.username, &c.password),
        keep_field_names: c.keep_field_names,
        timeout,
    }))
}

struct Haproxy {
    servers: Vec<String>,
    pages: super::StatusPages,
    keep_field_names: bool,
    timeout: std::time::Duration,
}

/// Where one configured server is read from.
#[derive(Debug, PartialEq)]
enum Endpoint {
    /// A stats page, already ending in `;csv`; the tag is its `host:port`.
    Page { url: String, host: String },
    /// A runtime API socket.
    Unix(String),
    /// A runtime API on TCP.
    Tcp(String),
}

/// The endpoints of the configured servers: pages get `/;csv` appended (HAProxy reads it from
/// the query string, as Telegraf sends it), socket globs expand to what exists (a pattern
/// matching nothing is kept as it is, so its failure is reported).
fn endpoints(servers: &[String]) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for server in servers {
        if server.starts_with("http") {
            let url = match server.ends_with(";csv") {
                true => server.clone(),
                false => format!("{server}/;csv"),
            };
            let host = reqwest::Url::parse(server)
                .ok()
                .map(|u| match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default();
            out.push(Endpoint::Page { url, host });
        } else if let Some(addr) = server.strip_prefix("tcp://") {
            out.push(Endpoint::Tcp(addr.to_string()));
        } else {
            let path = server.strip_prefix("socket:").unwrap_or(server);
            let found = super::glob_paths(path);
            match found.is_empty() {
                true => out.push(Endpoint::Unix(path.to_string())),
                false => out.extend(
                    found
                        .into_iter()
                        .map(|p| Endpoint::Unix(p.to_string_lossy().into_owned())),
                ),
            }
        }
    }
    out
}

/// Telegraf's names for HAProxy's columns (unless `keep_field_names`).
fn renamed(column: &str) -> &str {
    match column {
        "pxname" => "proxy",
        "svname" => "sv",
        "act" => "active_servers",
        "bck" => "backup_servers",
        "cli_abrt" => "cli_abort",
        "srv_abrt" => "srv_abort",
        "hrsp_1xx" => "http_response.1xx",
        "hrsp_2xx" => "http_response.2xx",
        "hrsp_3xx" => "http_response.3xx",
        "hrsp_4xx" => "http_response.4xx",
        "hrsp_5xx" => "http_response.5xx",
        "hrsp_other" => "http_response.other",
        other => other,
    }
}

/// The `type` column's values.
const TYPES: [&str; 4] = ["frontend", "backend", "server", "listener"];

/// The metrics of one statistics CSV (`# pxname,svname,…` header, one row per proxy or
/// server), each tagged `server` = `source`. Empty cells are left out; a number column that
/// does not parse is skipped; rows of the wrong width and unknown `type`s are errors.
pub fn parse_stats(
    csv_text: &str,
    source: &str,
    keep_field_names: bool,
    time: i64,
) -> Result<Vec<Metric>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("empty answer".into()),
    };
    let mut columns: Vec<String> = header.iter().map(str::to_string).collect();
    match columns
        .first_mut()
        .and_then(|c| c.strip_prefix("# ").map(str::to_string))
    {
        Some(first) if !first.is_empty() => columns[0] = first,
        _ => return Err("did not receive standard haproxy headers".into()),
    }
    let mut metrics = Vec::new();
    for (n, row) in records.enumerate() {
        let row = row.map_err(|e| format!("row {}: {e}", n + 1))?;
        if row.len() != columns.len() {
            return Err(format!(
                "number of columns does not match number of headers. headers={} columns={}",
                columns.len(),
                row.len()
            ));
        }
        let mut m = Metric::new("haproxy", time).with_tag("server", source);
        for (column, value) in columns.iter().zip(row.iter()) {
            if value.is_empty() {
                continue;
            }
            let name = match keep_field_names {
                true => column.as_str(),
                false => renamed(column),
            };
            match column.as_str() {
                "pxname" | "svname" => {
                    m.tags.insert(name.to_string(), value.to_string());
                }
                "type" => {
                    let kind = value
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| TYPES.get(i))
                        .ok_or_else(|| format!("received unknown type value: {value:?}"))?;
                    m.tags.insert(name.to_string(), kind.to_string());
                }
                "check_desc" | "agent_desc" => {}
                "status" | "check_status" | "last_chk" | "mode" | "tracked" | "agent_status"
                | "last_agt" | "addr" | "cookie" => m.add_field(name, value.to_string()),
                "lastsess" => {
                    if let Ok(v) = value.parse::<i64>() {
                        m.add_field(name, v);
                    }
                }
                _ => {
                    if let Ok(v) = value.parse::<u64>() {
                        m.add_field(name, v);
                    }
                }
            }
        }
        metrics.push(m);
    }
    Ok(metrics)
}

/// Sends `show stat` to a runtime API and reads the answer until HAProxy closes.
async fn show_stat<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<String> {
    stream.write_all(b"show stat\n").await?;
    let mut text = String::new();
    stream
        .take(64 * 1024 * 1024)
        .read_to_string(&mut text)
        .await?;
    Ok(text)
}

impl Haproxy {
    /// The CSV of one endpoint and the `server` tag its metrics get.
    async fn read(&self, endpoint: &Endpoint) -> Result<(String, String), InputError> {
        let fail = |address: &str, e: std::io::Error| InputError::Command {
            command: format!("show stat on {address}"),
            message: e.to_string(),
        };
        let answer = |address: &str, r: Result<std::io::Result<String>, _>| match r {
            Ok(Ok(text)) => Ok((text, address.to_string())),
            Ok(Err(e)) => Err(fail(address, e)),
            Err(_) => Err(fail(address, std::io::ErrorKind::TimedOut.into())),
        };
        match endpoint {
            Endpoint::Page { url, host } => Ok((self.pages.get(url).await?, host.clone())),
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(|e| fail(path, e))?;
                answer(
                    path,
                    tokio::time::timeout(self.timeout, show_stat(stream)).await,
                )
            }
            Endpoint::Tcp(addr) => {
                let connect = tokio::net::TcpStream::connect(addr.as_str());
                let stream = tokio::time::timeout(self.timeout, connect)
                    .await
                    .map_err(|_| fail(addr, std::io::ErrorKind::TimedOut.into()))?
                    .map_err(|e| fail(addr, e))?;
                answer(
                    addr,
                    tokio::time::timeout(self.timeout, show_stat(stream)).await,
                )
            }
        }
    }
}

impl Input for Haproxy {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for endpoint in endpoints(&self.servers) {
                let parsed = self.read(&endpoint).await.and_then(|(text, source)| {
                    parse_stats(&text, &source, self.keep_field_names, acc.time).map_err(
                        |message| InputError::Parse {
                            what: source.clone(),
                            message,
                        },
                    )
                });
                match parsed {
                    Ok(metrics) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            gathered_all("haproxy", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    /// The start of HAProxy 2.6's `show stat` (trailing commas as it writes them).
    const STATS: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,lastsess,last_chk,mode,check_desc,\n\
web,FRONTEND,,,1,3,262120,17,2430,12093,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,2,,,,0,16,0,1,0,0,,0,2,17,,,,,http,,\n\
app,s1,0,0,0,1,,9,1170,5952,,0,,0,0,0,0,UP,1,1,0,0,0,103,0,,1,3,1,,9,,2,0,,1,L4OK,,0,0,9,0,0,0,0,,,,9,0,0,6,,http,Layer4 check passed,\n\
app,BACKEND,0,0,0,1,26212,9,1170,5952,0,0,,0,0,0,0,UP,1,1,0,,0,103,0,,1,3,0,,9,,1,0,,1,,,,0,9,0,0,0,0,,,,9,0,0,6,,http,,\n";

    #[test]
    fn one_metric_per_row_with_telegraf_names_and_types() {
        let metrics = parse_stats(STATS, "127.0.0.1:1936", false, 7).unwrap();
        assert_eq!(metrics.len(), 3);
        let s1 = &metrics[1];
        let tags: Vec<_> = s1.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            tags,
            ["proxy=app", "server=127.0.0.1:1936", "sv=s1", "type=server"]
        );
        assert_eq!(s1.field("stot"), Some(&FieldValue::UInt(9)));
        assert_eq!(s1.field("active_servers"), Some(&FieldValue::UInt(1)));
        assert_eq!(s1.field("http_response.2xx"), Some(&FieldValue::UInt(9)));
        assert_eq!(s1.field("status"), Some(&FieldValue::Str("UP".into())));
        assert_eq!(
            s1.field("check_status"),
            Some(&FieldValue::Str("L4OK".into()))
        );
        assert_eq!(s1.field("lastsess"), Some(&FieldValue::Int(6)));
        assert_eq!(s1.field("check_desc"), None);
        assert_eq!(s1.field("qlimit"), None, "empty cells are left out");
        assert_eq!(metrics[0].tags["type"], "frontend");
        assert_eq!(metrics[2].tags["type"], "backend");
        let kept = parse_stats(STATS, "x", true, 7).unwrap();
        assert_eq!(kept[1].tags["pxname"], "app");
        assert_eq!(kept[1].field("hrsp_2xx"), Some(&FieldValue::UInt(9)));
    }

    #[test]
    fn answers_that_are_not_haproxy_stats_are_errors() {
        assert!(parse_stats("<html>", "x", false, 1)
            .unwrap_err()
            .contains("standard haproxy headers"));
        let short = "# pxname,svname,type\nweb,FRONTEND\n";
        assert!(parse_stats(short, "x", false, 1)
            .unwrap_err()
            .contains("headers=3 columns=2"));
        let bad_type = "# pxname,svname,type\nweb,FRONTEND,9\n";
        assert!(parse_stats(bad_type, "x", false, 1)
            .unwrap_err()
            .contains("unknown type"));
    }

    #[test]
    fn servers_become_pages_sockets_and_tcp_addresses() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.sock", "b.sock"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let glob = format!("socket:{}/*.sock", dir.path().display());
        let got = endpoints(&[
            "http://lb:1936/haproxy?stats".into(),
            "http://lb/stats;csv".into(),
            glob,
            "/run/none/admin.sock".into(),
            "tcp://127.0.0.1:9999".into(),
        ]);
        assert_eq!(
            got[0],
            Endpoint::Page {
                url: "http://lb:1936/haproxy?stats/;csv".into(),
                host: "lb:1936".into()
            }
        );
        assert_eq!(
            got[1],
            Endpoint::Page {
                url: "http://lb/stats;csv".into(),
                host: "lb".into()
            }
        );
        assert_eq!(
            got[2],
            Endpoint::Unix(format!("{}/a.sock", dir.path().display()))
        );
        assert_eq!(got[4], Endpoint::Unix("/run/none/admin.sock".into()));
        assert_eq!(got[5], Endpoint::Tcp("127.0.0.1:9999".into()));
    }
}
