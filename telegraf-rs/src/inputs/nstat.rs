//! `inputs.nstat`: the kernel's network counters of `/proc/net/netstat`, `/proc/net/snmp` and
//! `/proc/net/snmp6` as `nstat` metrics tagged `name` (`netstat`, `snmp`, `snmp6`), one field
//! per counter (`TcpExtSyncookiesSent`, `IpInReceives`, `Ip6InReceives`); zeros only with
//! `dump_zeros`.

use super::{Accumulator, BuildContext, Input, InputError, SyncInput};
use crate::metric::Metric;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Options of `[[inputs.nstat]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct NstatConfig {
    /// Path of `netstat` (default `$HOST_PROC/net/netstat`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub proc_net_netstat: String,
    /// Path of `snmp`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub proc_net_snmp: String,
    /// Path of `snmp6`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub proc_net_snmp6: String,
    /// Report counters that are zero too.
    pub dump_zeros: bool,
}

/// Builds the input.
pub fn build(c: &NstatConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let path = |given: &str, name: &str| match given {
        "" => ctx.host.proc.join("net").join(name),
        given => PathBuf::from(given),
    };
    Ok(Box::new(Nstat {
        netstat: path(&c.proc_net_netstat, "netstat"),
        snmp: path(&c.proc_net_snmp, "snmp"),
        snmp6: path(&c.proc_net_snmp6, "snmp6"),
        dump_zeros: c.dump_zeros,
    }))
}

struct Nstat {
    netstat: PathBuf,
    snmp: PathBuf,
    snmp6: PathBuf,
    dump_zeros: bool,
}

fn bad(path: &std::path::Path, message: String) -> InputError {
    InputError::Parse {
        what: path.display().to_string(),
        message,
    }
}

impl Nstat {
    /// `Prefix: Name1 Name2` lines each followed by `Prefix: 1 2`.
    fn paired_lines(
        &self,
        path: &std::path::Path,
        text: &str,
        m: &mut Metric,
    ) -> Result<(), InputError> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        for pair in lines.chunks(2) {
            let [names, values] = pair else {
                return Err(bad(path, "a header line without its values".into()));
            };
            let names: Vec<&str> = names.split_ascii_whitespace().collect();
            let values: Vec<&str> = values.split_ascii_whitespace().collect();
            let prefix = names.first().map_or("", |p| p.trim_end_matches(':'));
            for (name, value) in names.iter().zip(&values).skip(1) {
                let v: i64 = value
                    .parse()
                    .map_err(|e| bad(path, format!("{prefix}{name} {value:?}: {e}")))?;
                if self.dump_zeros || v != 0 {
                    m.add_field(format!("{prefix}{name}"), v);
                }
            }
        }
        Ok(())
    }

    /// `Name value` lines.
    fn name_value_lines(&self, text: &str, m: &mut Metric) {
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            if let (Some(name), Some(Ok(v))) = (words.next(), words.next().map(str::parse::<i64>)) {
                if self.dump_zeros || v != 0 {
                    m.add_field(name, v);
                }
            }
        }
    }
}

impl SyncInput for Nstat {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        for (path, name) in [(&self.netstat, "netstat"), (&self.snmp, "snmp")] {
            let text = super::read(path)?;
            let mut m = acc.metric("nstat").with_tag("name", name);
            self.paired_lines(path, &text, &mut m)?;
            acc.push(m);
        }
        // Without IPv6 there is no snmp6.
        if let Ok(text) = super::read_text(&self.snmp6) {
            let mut m = acc.metric("nstat").with_tag("name", "snmp6");
            self.name_value_lines(&text, &mut m);
            acc.push(m);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn three_files_with_and_without_zeros() {
        let fx = fixture(&[
            (
                "proc/net/netstat",
                "TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 3 0\nIpExt: InNoRoutes\nIpExt: 7\n",
            ),
            (
                "proc/net/snmp",
                "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: MaxConn\nTcp: -1\n",
            ),
            (
                "proc/net/snmp6",
                "Ip6InReceives                   	12\nIp6InHdrErrors                  	0\n",
            ),
        ]);
        let mut input = build(&NstatConfig::default(), &fx.ctx()).unwrap();
        let ms = gather_with(&mut input);
        assert_eq!(ms[0].tags["name"], "netstat");
        assert_eq!(
            ms[0].field("TcpExtSyncookiesSent"),
            Some(&FieldValue::Int(3))
        );
        assert_eq!(ms[0].field("TcpExtSyncookiesRecv"), None);
        assert_eq!(ms[0].field("IpExtInNoRoutes"), Some(&FieldValue::Int(7)));
        assert_eq!(ms[1].field("TcpMaxConn"), Some(&FieldValue::Int(-1)));
        assert_eq!(ms[2].tags["name"], "snmp6");
        assert_eq!(ms[2].field("Ip6InReceives"), Some(&FieldValue::Int(12)));
        let config = NstatConfig {
            dump_zeros: true,
            ..NstatConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let ms = gather_with(&mut input);
        assert_eq!(
            ms[0].field("TcpExtSyncookiesRecv"),
            Some(&FieldValue::Int(0))
        );
        assert_eq!(ms[2].field("Ip6InHdrErrors"), Some(&FieldValue::Int(0)));
    }
}
