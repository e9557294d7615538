//! `inputs.netstat`: how many TCP sockets are in each state and how many datagram sockets
//! exist (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`, `unix`), as Telegraf counts them through
//! gopsutil: one `netstat` metric, fields `tcp_<state>` and `udp_socket`.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.netstat]]` (it has none).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct NetstatConfig {}

/// Builds the input.
pub fn build(_: &NetstatConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Netstat {
        host: ctx.host.clone(),
    }))
}

struct Netstat {
    host: HostPaths,
}

/// The field of each kernel TCP state (`st` column of `/proc/net/tcp`).
const STATES: &[(&str, &str)] = &[
    ("01", "tcp_established"),
    ("02", "tcp_syn_sent"),
    ("03", "tcp_syn_recv"),
    ("04", "tcp_fin_wait1"),
    ("05", "tcp_fin_wait2"),
    ("06", "tcp_time_wait"),
    ("07", "tcp_close"),
    ("08", "tcp_close_wait"),
    ("09", "tcp_last_ack"),
    ("0A", "tcp_listen"),
    ("0B", "tcp_closing"),
];

impl SyncInput for Netstat {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let mut counts = vec![0i64; STATES.len()];
        for file in ["net/tcp", "net/tcp6"] {
            // A kernel without IPv6 has no tcp6.
            let Ok(text) = self.host.read_proc(file) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let state = line.split_ascii_whitespace().nth(3).unwrap_or_default();
                if let Some(i) = STATES
                    .iter()
                    .position(|(code, _)| code.eq_ignore_ascii_case(state))
                {
                    counts[i] += 1;
                }
            }
        }
        let mut udp = 0i64;
        for file in ["net/udp", "net/udp6"] {
            if let Ok(text) = self.host.read_proc(file) {
                udp += text
                    .lines()
                    .skip(1)
                    .filter(|l| !l.trim().is_empty())
                    .count() as i64;
            }
        }
        // gopsutil counts datagram unix sockets with the UDP ones.
        if let Ok(text) = self.host.read_proc("net/unix") {
            udp += text
                .lines()
                .skip(1)
                .filter(|l| l.split_ascii_whitespace().nth(4) == Some("0002"))
                .count() as i64;
        }
        let mut m = acc.metric("netstat");
        for ((_, field), count) in STATES.iter().zip(counts) {
            m.add_field(*field, count);
        }
        m.add_field("tcp_none", 0i64);
        m.add_field("udp_socket", udp);
        acc.push(m);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn counts_states_and_datagram_sockets() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n   1: 0100007F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 2\n";
        let udp = "  sl  local_address rem_address   st\n   0: 00000000:0044 00000000:0000 07 0\n";
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\nffff: 00000002 00000000 00010000 0001 01 1 /run/a\nffff: 00000002 00000000 00000000 0002 01 2 /run/b\n";
        let fx = fixture(&[
            ("proc/net/tcp", tcp),
            ("proc/net/tcp6", tcp),
            ("proc/net/udp", udp),
            ("proc/net/unix", unix),
        ]);
        let mut input = build(&NetstatConfig::default(), &fx.ctx()).unwrap();
        let m = gather_with(&mut input).remove(0);
        assert_eq!(m.field("tcp_listen"), Some(&FieldValue::Int(2)));
        assert_eq!(m.field("tcp_established"), Some(&FieldValue::Int(2)));
        assert_eq!(m.field("tcp_time_wait"), Some(&FieldValue::Int(0)));
        assert_eq!(m.field("udp_socket"), Some(&FieldValue::Int(2)));
    }
}
