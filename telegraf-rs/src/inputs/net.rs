//! `inputs.net`: per-interface traffic counters from `/proc/net/dev`, link speed from `/sys`,
//! and the protocol counters of `/proc/net/snmp` as `net,interface=all`.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use globset::GlobSet;
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.net]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct NetConfig {
    /// Interface names or globs; when set, down and loopback interfaces are reported too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// Leave out the `interface=all` protocol counters.
    pub ignore_protocol_stats: bool,
}

/// Builds the input.
pub fn build(config: &NetConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let interfaces = super::glob_set("interfaces", &config.interfaces)?;
    Ok(Box::new(Net {
        config: config.clone(),
        interfaces,
        host: ctx.host.clone(),
    }))
}

struct Net {
    config: NetConfig,
    interfaces: Option<GlobSet>,
    host: HostPaths,
}

const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;

impl Net {
    /// Without an explicit list: interfaces that are up and not loopback. An interface whose
    /// flags cannot be read (another namespace) is kept.
    fn wanted(&self, name: &str) -> bool {
        if let Some(set) = &self.interfaces {
            return set.is_match(name);
        }
        if self.host.proc_overridden {
            return true;
        }
        let flags = super::read(&self.host.sys.join(format!("class/net/{name}/flags")))
            .ok()
            .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok());
        match flags {
            Some(f) => f & IFF_UP != 0 && f & IFF_LOOPBACK == 0,
            None => name != "lo",
        }
    }
}

fn parse_error(message: impl Into<String>) -> InputError {
    InputError::Parse {
        what: "/proc/net/dev".into(),
        message: message.into(),
    }
}

impl SyncInput for Net {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let dev = self.host.read_proc("net/dev")?;
        for line in dev.lines().skip(2) {
            let Some((name, counters)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if !self.wanted(name) {
                continue;
            }
            let values: Vec<u64> = counters
                .split_ascii_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e| parse_error(format!("{line:?}: {e}")))?;
            if values.len() < 16 {
                return Err(parse_error(format!("{line:?}: fewer than 16 counters")));
            }
            let speed = super::read(&self.host.sys.join(format!("class/net/{name}/speed")))
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .unwrap_or(-1);
            acc.push(
                acc.metric("net")
                    .with_tag("interface", name)
                    .with_field("bytes_sent", values[8])
                    .with_field("bytes_recv", values[0])
                    .with_field("packets_sent", values[9])
                    .with_field("packets_recv", values[1])
                    .with_field("err_in", values[2])
                    .with_field("err_out", values[10])
                    .with_field("drop_in", values[3])
                    .with_field("drop_out", values[11])
                    .with_field("speed", speed),
            );
        }
        if !self.config.ignore_protocol_stats {
            if let Ok(snmp) = self.host.read_proc("net/snmp") {
                let mut m = acc.metric("net").with_tag("interface", "all");
                let lines: Vec<&str> = snmp.lines().collect();
                for pair in lines.chunks_exact(2) {
                    let (Some((proto, names)), Some((_, values))) =
                        (pair[0].split_once(':'), pair[1].split_once(':'))
                    else {
                        continue;
                    };
                    let proto = proto.to_lowercase();
                    for (name, value) in names
                        .split_ascii_whitespace()
                        .zip(values.split_ascii_whitespace())
                    {
                        if let Ok(v) = value.parse::<i64>() {
                            m.add_field(format!("{proto}_{}", name.to_lowercase()), v);
                        }
                    }
                }
                acc.push(m);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    const DEV: &str = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n";
    const SNMP: &str =
        "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoMin MaxConn CurrEstab\nTcp: 200 -1 7\n";

    #[test]
    fn interfaces_and_protocol_stats() {
        let fx = fixture(&[
            ("proc/net/dev", DEV),
            ("proc/net/snmp", SNMP),
            ("sys/class/net/eth0/speed", "1000\n"),
        ]);
        let config = NetConfig {
            interfaces: vec!["eth*".into()],
            ..NetConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 2, "{metrics:?}");
        let eth = &metrics[0];
        assert_eq!(eth.tags["interface"], "eth0");
        assert_eq!(eth.field("bytes_sent"), Some(&FieldValue::UInt(2000)));
        assert_eq!(eth.field("drop_out"), Some(&FieldValue::UInt(4)));
        assert_eq!(eth.field("speed"), Some(&FieldValue::Int(1000)));
        let all = &metrics[1];
        assert_eq!(all.tags["interface"], "all");
        assert_eq!(all.field("tcp_maxconn"), Some(&FieldValue::Int(-1)));
        assert_eq!(all.field("ip_defaultttl"), Some(&FieldValue::Int(64)));
    }

    #[test]
    fn speed_is_minus_one_when_unknown() {
        let fx = fixture(&[("proc/net/dev", DEV)]);
        let config = NetConfig {
            ignore_protocol_stats: true,
            ..NetConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 2);
        assert!(metrics
            .iter()
            .all(|m| m.field("speed") == Some(&FieldValue::Int(-1))));
    }
}
