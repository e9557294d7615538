//! Go-style durations (`"10s"`, `"1m30s"`, `"500ms"`) as Telegraf writes them in its config.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// A duration read from a config value. Strings use Go's units (`ns`, `us`/`µs`, `ms`, `s`,
/// `m`, `h`, combinable); bare numbers are seconds, as Telegraf accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    /// Seconds as a duration.
    pub const fn secs(s: u64) -> Self {
        GoDuration(Duration::from_secs(s))
    }

    /// Parses `"1m30s"`-style text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || t == "0" {
            return Ok(GoDuration(Duration::ZERO));
        }
        let mut rest = t;
        let mut total = 0f64;
        while !rest.is_empty() {
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("invalid duration {text:?}: missing unit"))?;
            if num_end == 0 {
                return Err(format!("invalid duration {text:?}"));
            }
            let number: f64 = rest[..num_end]
                .parse()
                .map_err(|_| format!("invalid duration {text:?}"))?;
            rest = &rest[num_end..];
            let unit_end = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let nanos_per = match &rest[..unit_end] {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "d" => 86400e9,
                unit => return Err(format!("invalid duration {text:?}: unknown unit {unit:?}")),
            };
            total += number * nanos_per;
            rest = &rest[unit_end..];
        }
        if !total.is_finite() || total > u64::MAX as f64 {
            return Err(format!("invalid duration {text:?}: too large"));
        }
        Ok(GoDuration(Duration::from_nanos(total as u64)))
    }
}

impl fmt::Display for GoDuration {
    /// The shortest whole-unit form: `"10s"`, `"1m"`, `"250ms"`, `"0s"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.as_nanos();
        for (unit, per) in [
            ("h", 3_600_000_000_000u128),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
        ] {
            if n != 0 && n.is_multiple_of(per) {
                return write!(f, "{}{unit}", n / per);
            }
        }
        if n == 0 {
            return f.write_str("0s");
        }
        write!(f, "{n}ns")
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"10s\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
                u64::try_from(v)
                    .map(GoDuration::secs)
                    .map_err(|_| E::custom("a duration must not be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
                Ok(GoDuration::secs(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<GoDuration, E> {
                Duration::try_from_secs_f64(v)
                    .map(GoDuration)
                    .map_err(|_| E::custom("invalid duration"))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_units() {
        let d = |s: &str| GoDuration::parse(s).unwrap().0;
        assert_eq!(d("10s"), Duration::from_secs(10));
        assert_eq!(d("1m30s"), Duration::from_secs(90));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("1.5h"), Duration::from_secs(5400));
        assert_eq!(d("0s"), Duration::ZERO);
        assert_eq!(d("2us"), Duration::from_micros(2));
        assert!(GoDuration::parse("10").is_err());
        assert!(GoDuration::parse("10x").is_err());
        assert!(GoDuration::parse("s").is_err());
    }

    #[test]
    fn prints_back() {
        for s in ["10s", "1m", "250ms", "0s", "2h", "90s", "7ns"] {
            assert_eq!(GoDuration::parse(s).unwrap().to_string(), s);
        }
    }

    proptest::proptest! {
        #[test]
        fn print_then_parse_is_identity(n in 0u64..10_000_000_000_000) {
            let d = GoDuration(Duration::from_nanos(n));
            proptest::prop_assert_eq!(GoDuration::parse(&d.to_string()).unwrap(), d);
        }
    }
}
