//! `data_format = "collectd"`: collectd's binary network protocol (what its `network` plugin
//! sends, usually to UDP port 25826), as Telegraf reads it: each value list becomes, with
//! `collectd_parse_multivalue = "split"` (the default), one metric per value named
//! `<plugin>_<data source>` with a float field `value`, or with `"join"` one metric named
//! `<plugin>` with a field per data source; tags `host`, `instance` (plugin instance), `type`
//! and `type_instance`. Data source names come from `collectd_typesdb` files (collectd's
//! `types.db`); without one a single value is `value` and several are numbered from 0.
//!
//! Security as collectd's network plugin has it ([`security`]): with `collectd_auth_file`,
//! signatures are checked and encrypted parts decrypted; `collectd_security_level` `sign`
//! accepts only signed or encrypted value lists, `encrypt` only encrypted ones, `none` (the
//! default) all of them.

pub mod security;

use super::ParserConfig;
use crate::metric::Metric;
use security::{AuthFile, Level};
use std::collections::HashMap;
use std::sync::Arc;

/// The collectd parser's settings.
#[derive(Debug, Clone)]
pub struct CollectdParser {
    /// type → data source names, from the types.db files.
    types: Arc<HashMap<String, Vec<String>>>,
    join: bool,
    security: Security,
}

/// What a packet must be to be read, and the keys to check it with.
#[derive(Debug, Clone)]
pub struct Security {
    /// The level value lists must reach.
    pub level: Level,
    /// Users and passwords (none: signatures are not checked, encrypted parts not read).
    pub auth: Option<AuthFile>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            level: Level::None,
            auth: None,
        }
    }
}

/// One value list of a packet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueList {
    /// Host.
    pub host: String,
    /// Time, ns since the epoch.
    pub time: i64,
    /// Plugin.
    pub plugin: String,
    /// Plugin instance.
    pub plugin_instance: String,
    /// Type (a types.db entry).
    pub kind: String,
    /// Type instance.
    pub type_instance: String,
    /// The values, as floats (counters, gauges, derives and absolutes alike).
    pub values: Vec<f64>,
}

/// Reads the `type name:KIND:min:max, …` lines of a types.db text.
pub fn parse_types_db(text: &str) -> HashMap<String, Vec<String>> {
    let mut types = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, sources)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let names = sources
            .split(',')
            .filter_map(|s| s.trim().split(':').next())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        types.insert(name.to_string(), names);
    }
    types
}

/// Decodes one packet into the value lists `security` accepts; a malformed part, a signature
/// that does not hold or a part that does not decrypt is an error naming it, and so is a packet
/// whose every value list falls short of the security level.
pub fn decode(packet: &[u8], security: &Security) -> Result<Vec<ValueList>, String> {
    let mut read = Reading {
        security,
        lists: Vec::new(),
        refused: 0,
    };
    read.packet(packet, Level::None, 0)?;
    if read.lists.is_empty() && read.refused > 0 {
        return Err(format!(
            "{} value lists refused: collectd_security_level {:?} needs them {}",
            read.refused,
            security.level,
            match security.level {
                Level::Encrypt => "encrypted",
                _ => "signed or encrypted",
            }
        ));
    }
    Ok(read.lists)
}

/// One packet being read.
struct Reading<'s> {
    security: &'s Security,
    lists: Vec<ValueList>,
    /// Value lists below the security level.
    refused: usize,
}

impl Reading<'_> {
    /// Reads the parts of `packet` (or of a decrypted part, `depth` 1), its value lists as
    /// trusted as `trust`.
    fn packet(&mut self, packet: &[u8], mut trust: Level, depth: usize) -> Result<(), String> {
        let mut state = ValueList::default();
        let mut at = 0;
        while at < packet.len() {
            let header = packet
                .get(at..at + 4)
                .ok_or_else(|| format!("part header cut short at byte {at}"))?;
            let kind = u16::from_be_bytes([header[0], header[1]]);
            let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if len < 4 || at + len > packet.len() {
                return Err(format!(
                    "part of type {kind:#06x} at byte {at} has a bad length {len}"
                ));
            }
            let body = &packet[at + 4..at + len];
            let text = || -> Result<String, String> {
                let end = body.iter().position(|b| *b == 0).ok_or_else(|| {
                    format!("string part {kind:#06x} at byte {at} is not NUL-ended")
                })?;
                Ok(String::from_utf8_lossy(&body[..end]).into_owned())
            };
            let number = || -> Result<u64, String> {
                body.try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| format!("numeric part {kind:#06x} at byte {at} is not 8 bytes"))
            };
            match kind {
                0x0000 => state.host = text()?,
                0x0001 => {
                    state.time = i64::try_from(number()?)
                        .ok()
                        .and_then(|s| s.checked_mul(1_000_000_000))
                        .ok_or("time out of range")?
                }
                0x0008 => {
                    // 2^-30 seconds; the fraction rounded to the nearest nanosecond, as
                    // collectd.org/cdtime (Telegraf's reader) does.
                    let hr = number()?;
                    let nanos = ((u128::from(hr & 0x3fff_ffff) * 1_000_000_000) + (1 << 29)) >> 30;
                    state.time = i64::try_from(u128::from(hr >> 30) * 1_000_000_000 + nanos)
                        .map_err(|_| "time out of range")?;
                }
                0x0002 => state.plugin = text()?,
                0x0003 => state.plugin_instance = text()?,
                0x0004 => state.kind = text()?,
                0x0005 => state.type_instance = text()?,
                0x0006 => {
                    let count = usize::from(u16::from_be_bytes(
                        body.get(..2)
                            .and_then(|b| b.try_into().ok())
                            .ok_or("values part without a count")?,
                    ));
                    if body.len() != 2 + count * 9 {
                        return Err(format!(
                            "values part at byte {at}: {count} values need {} bytes, it has {}",
                            2 + count * 9,
                            body.len()
                        ));
                    }
                    let kinds = &body[2..2 + count];
                    let data = &body[2 + count..];
                    let mut values = Vec::with_capacity(count);
                    for (i, k) in kinds.iter().enumerate() {
                        let raw: [u8; 8] = data[i * 8..i * 8 + 8]
                            .try_into()
                            .map_err(|_| "value cut short")?;
                        values.push(match k {
                            0 | 3 => u64::from_be_bytes(raw) as f64,
                            1 => f64::from_le_bytes(raw),
                            2 => i64::from_be_bytes(raw) as f64,
                            other => return Err(format!("unknown value type {other}")),
                        });
                    }
                    match trust >= self.security.level {
                        true => self.lists.push(ValueList {
                            values,
                            ..state.clone()
                        }),
                        false => self.refused += 1,
                    }
                }
                0x0200 => match &self.security.auth {
                    // A signature over the user name and every part after it.
                    Some(auth) => {
                        security::verify(body, &packet[at + len..], auth)?;
                        trust = trust.max(Level::Sign);
                    }
                    // Without keys it is taken as it is, or not at all.
                    None if self.security.level == Level::None => {}
                    None => {
                        return Err("a signed packet, but no collectd_auth_file to check it".into())
                    }
                },
                0x0210 => {
                    let Some(auth) = &self.security.auth else {
                        return Err(
                            "an encrypted packet, but no collectd_auth_file to read it".into()
                        );
                    };
                    if depth > 0 {
                        return Err("an encrypted part inside an encrypted part".into());
                    }
                    let plaintext = security::decrypt(body, auth)?;
                    self.packet(&plaintext, Level::Encrypt, depth + 1)?;
                }
                _ => {
                    // Interval (0x0007/0x0009), notifications (0x0100/0x0101) and unknown parts
                    // are skipped, as collectd's own readers do.
                }
            }
            at += len;
        }
        Ok(())
    }
}

impl CollectdParser {
    /// Reads the types.db files and the auth file; a level above `none` needs the auth file.
    pub fn new(config: &ParserConfig) -> Result<Self, String> {
        let level = Level::parse(&config.collectd_security_level)?;
        let auth = match config.collectd_auth_file.as_str() {
            "" => None,
            path => Some(AuthFile::open(path)?),
        };
        if level > Level::None && auth.is_none() {
            return Err(format!(
                "collectd_security_level {:?} needs collectd_auth_file",
                config.collectd_security_level
            ));
        }
        let join = match config.collectd_parse_multivalue.as_str() {
            "" | "split" => false,
            "join" => true,
            other => {
                return Err(format!(
                    "collectd_parse_multivalue {other:?}: split or join"
                ))
            }
        };
        let mut types = HashMap::new();
        for file in &config.collectd_typesdb {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("collectd_typesdb: {file}: {e}"))?;
            types.extend(parse_types_db(&text));
        }
        Ok(CollectdParser {
            types: Arc::new(types),
            join,
            security: Security { level, auth },
        })
    }

    fn source_name(&self, list: &ValueList, i: usize) -> String {
        match self.types.get(&list.kind).and_then(|names| names.get(i)) {
            Some(name) => name.clone(),
            None if list.values.len() == 1 => "value".into(),
            None => i.to_string(),
        }
    }

    /// Parses one packet; value lists without a time get `now`.
    pub fn parse(&self, body: &[u8], now: i64) -> Result<Vec<Metric>, String> {
        let mut out = Vec::new();
        for list in decode(body, &self.security)? {
            let time = match list.time {
                0 => now,
                t => t,
            };
            let mut tags = std::collections::BTreeMap::new();
            for (k, v) in [
                ("host", &list.host),
                ("instance", &list.plugin_instance),
                ("type", &list.kind),
                ("type_instance", &list.type_instance),
            ] {
                if !v.is_empty() {
                    tags.insert(k.to_string(), v.clone());
                }
            }
            if self.join {
                let mut m = Metric::new(list.plugin.clone(), time);
                m.tags = tags;
                for (i, v) in list.values.iter().enumerate() {
                    m.add_field(self.source_name(&list, i), *v);
                }
                out.push(m);
                continue;
            }
            for (i, v) in list.values.iter().enumerate() {
                let mut m = Metric::new(
                    format!("{}_{}", list.plugin, self.source_name(&list, i)),
                    time,
                );
                m.tags = tags.clone();
                m.add_field("value", *v);
                out.push(m);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metric::FieldValue;
    use proptest::prelude::*;

    /// Encodes value lists as collectd's network plugin does (gauges only).
    pub(crate) fn encode(lists: &[ValueList]) -> Vec<u8> {
        let mut out = Vec::new();
        let string = |out: &mut Vec<u8>, kind: u16, s: &str| {
            out.extend(kind.to_be_bytes());
            out.extend(((s.len() + 5) as u16).to_be_bytes());
            out.extend(s.as_bytes());
            out.push(0);
        };
        for l in lists {
            string(&mut out, 0x0000, &l.host);
            out.extend([0, 8, 0, 12]);
            // As collectd.org/cdtime's newNano: seconds shifted, the fraction rounded.
            let ns = l.time.unsigned_abs();
            let fraction = (((ns % 1_000_000_000) << 30) + 500_000_000) / 1_000_000_000;
            let hr = ((ns / 1_000_000_000) << 30) | fraction;
            out.extend(hr.to_be_bytes());
            string(&mut out, 0x0002, &l.plugin);
            string(&mut out, 0x0003, &l.plugin_instance);
            string(&mut out, 0x0004, &l.kind);
            string(&mut out, 0x0005, &l.type_instance);
            out.extend([0, 6]);
            out.extend(((6 + l.values.len() * 9) as u16).to_be_bytes());
            out.extend((l.values.len() as u16).to_be_bytes());
            out.extend(std::iter::repeat_n(1u8, l.values.len()));
            for v in &l.values {
                out.extend(v.to_le_bytes());
            }
        }
        out
    }

    fn parser(options: &str) -> CollectdParser {
        CollectdParser::new(&toml::from_str(options).unwrap()).unwrap()
    }

    /// A load value list as collectd 5 sends it: host, high-resolution time, interval,
    /// plugin, type, and three gauges.
    fn load_packet() -> Vec<u8> {
        let mut p = vec![0, 0, 0, 10];
        p.extend(b"host1\0");
        p.extend([0, 8, 0, 12]);
        p.extend((1_700_000_000u64 << 30).to_be_bytes());
        p.extend([0, 9, 0, 12]);
        p.extend((10u64 << 30).to_be_bytes());
        p.extend([0, 2, 0, 9]);
        p.extend(b"load\0");
        p.extend([0, 4, 0, 9]);
        p.extend(b"load\0");
        p.extend([0, 6, 0, 33, 0, 3, 1, 1, 1]);
        for v in [0.5f64, 0.25, 0.125] {
            p.extend(v.to_le_bytes());
        }
        p
    }

    #[test]
    fn split_and_joined_with_and_without_types_db() {
        let types = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            types.path(),
            "# collectd types\nload\t\tshortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\n",
        )
        .unwrap();
        let typed = parser(&format!("collectd_typesdb = [{:?}]", types.path()));
        let out = typed.parse(&load_packet(), 0).unwrap();
        let names: Vec<&str> = out.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["load_shortterm", "load_midterm", "load_longterm"]);
        assert_eq!(out[1].field("value"), Some(&FieldValue::Float(0.25)));
        assert_eq!(out[0].tags["host"], "host1");
        assert_eq!(out[0].tags["type"], "load");
        assert!(!out[0].tags.contains_key("instance"));
        assert_eq!(out[0].time, 1_700_000_000_000_000_000);
        let untyped = parser("").parse(&load_packet(), 0).unwrap();
        assert_eq!(untyped[2].name, "load_2");
        let joined = parser(&format!(
            "collectd_typesdb = [{:?}]\ncollectd_parse_multivalue = \"join\"",
            types.path()
        ))
        .parse(&load_packet(), 0)
        .unwrap();
        assert_eq!(joined.len(), 1);
        assert_eq!(joined[0].name, "load");
        assert_eq!(joined[0].field("longterm"), Some(&FieldValue::Float(0.125)));
    }

    /// A parser with `level` and an auth file holding `alice: w0nderl4nd`.
    fn secured(level: &str, dir: &std::path::Path) -> CollectdParser {
        let auth = dir.join("auth");
        std::fs::write(&auth, "# users\nalice: w0nderl4nd\nbob:x\n").unwrap();
        parser(&format!(
            "collectd_security_level = {level:?}\ncollectd_auth_file = {:?}\n",
            auth.display()
        ))
    }

    #[test]
    fn signatures_and_encryption_as_collectds_network_plugin_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let plain = load_packet();
        let signed = security::sign(&plain, "alice", "w0nderl4nd");
        let encrypted = security::encrypt(&plain, "alice", "w0nderl4nd", [7; 16]);
        let wrong_key = security::sign(&plain, "alice", "guess");
        let stranger = security::encrypt(&plain, "mallory", "w0nderl4nd", [7; 16]);
        let count = |p: &CollectdParser, b: &[u8]| p.parse(b, 1).map(|m| m.len());
        let none = secured("none", dir.path());
        let sign = secured("sign", dir.path());
        let encrypt = secured("encrypt", dir.path());
        let all = count(&none, &plain).unwrap();
        assert!(all > 0);
        for (packet, what) in [
            (&plain, "plain"),
            (&signed, "signed"),
            (&encrypted, "encrypted"),
        ] {
            assert_eq!(count(&none, packet), Ok(all), "{what} with none");
        }
        assert!(count(&sign, &plain).unwrap_err().contains("refused"));
        assert_eq!(count(&sign, &signed), Ok(all));
        assert_eq!(count(&sign, &encrypted), Ok(all));
        assert!(count(&encrypt, &signed).unwrap_err().contains("encrypted"));
        assert_eq!(count(&encrypt, &encrypted), Ok(all));
        // A wrong key or an unknown user is an error naming why, at any level.
        assert!(count(&none, &wrong_key)
            .unwrap_err()
            .contains("does not match"));
        assert!(count(&encrypt, &stranger).unwrap_err().contains("mallory"));
        // A changed byte breaks the signature, or the checksum of the decrypted part.
        let mut tampered = signed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(count(&sign, &tampered).is_err());
        let mut tampered = encrypted.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(count(&encrypt, &tampered).unwrap_err().contains("decrypt"));
        // Without an auth file, a signature is not checked at level none; levels above need one.
        assert_eq!(count(&parser(""), &signed), Ok(all));
        assert!(count(&parser(""), &encrypted)
            .unwrap_err()
            .contains("collectd_auth_file"));
        let err =
            CollectdParser::new(&toml::from_str("collectd_security_level = \"sign\"").unwrap())
                .unwrap_err();
        assert!(err.contains("collectd_auth_file"), "{err}");
        assert!(CollectdParser::new(
            &toml::from_str("collectd_auth_file = \"/nonexistent/auth\"").unwrap()
        )
        .unwrap_err()
        .contains("/nonexistent/auth"));
    }

    #[test]
    fn malformed_packets_and_settings_are_errors() {
        let mut short = load_packet();
        short.truncate(short.len() - 3);
        assert!(decode(&short, &Security::default())
            .unwrap_err()
            .contains("bad length"));
        assert!(decode(&[0, 0, 0, 2], &Security::default())
            .unwrap_err()
            .contains("bad length"));
        assert!(decode(&[0, 0, 0, 5, b'x'], &Security::default())
            .unwrap_err()
            .contains("NUL"));
        assert!(decode(&[2, 0x10, 0, 4], &Security::default())
            .unwrap_err()
            .contains("encrypted"));
        assert!(CollectdParser::new(
            &toml::from_str("collectd_security_level = \"secret\"").unwrap()
        )
        .unwrap_err()
        .contains("secret"));
        assert!(CollectdParser::new(
            &toml::from_str("collectd_typesdb = [\"/nonexistent\"]").unwrap()
        )
        .unwrap_err()
        .contains("/nonexistent"));
    }

    proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&b, &Security::default());
        }

        #[test]
        fn encoded_lists_decode_back(
            host in "[a-z]{1,10}",
            plugin in "[a-z]{1,10}",
            values in proptest::collection::vec(-1e12f64..1e12, 1..5),
            time in 0i64..4_000_000_000_000_000_000,
        ) {
            let list = ValueList {
                host, time, plugin, plugin_instance: "0".into(),
                kind: "gauge".into(), type_instance: "x".into(), values,
            };
            prop_assert_eq!(decode(&encode(std::slice::from_ref(&list)), &Security::default()).unwrap(), vec![list]);
        }
    }
}
