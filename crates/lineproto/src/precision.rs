//! Timestamp precision of a write request and scaling to nanoseconds.

use std::fmt;
use std::str::FromStr;

/// Smallest timestamp InfluxDB accepts, in ns (1677-09-21T00:12:43.145224194Z).
pub const MIN_NANOS: i64 = -9_223_372_036_854_775_806;
/// Largest timestamp InfluxDB accepts, in ns (2262-04-11T23:47:16.854775806Z).
pub const MAX_NANOS: i64 = 9_223_372_036_854_775_806;

/// The unit of timestamps in a request body (`precision=` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// `n` / `ns` (the default).
    #[default]
    Nanoseconds,
    /// `u` / `us` / `µ`.
    Microseconds,
    /// `ms`.
    Milliseconds,
    /// `s`.
    Seconds,
    /// `m`.
    Minutes,
    /// `h`.
    Hours,
}

/// A `precision` value that names no unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid precision {0:?}")]
pub struct PrecisionError(pub String);

impl Precision {
    /// Nanoseconds in one unit.
    pub fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// Scales a timestamp in this unit to ns; `None` when it falls outside InfluxDB's range.
    pub fn to_nanos(self, ts: i64) -> Option<i64> {
        let ns = ts.checked_mul(self.nanos_per_unit())?;
        (MIN_NANOS..=MAX_NANOS).contains(&ns).then_some(ns)
    }

    /// Truncates a ns timestamp to this unit (used for the server's "now" of lines without time).
    pub fn truncate(self, ns: i64) -> i64 {
        let unit = self.nanos_per_unit();
        ns - ns.rem_euclid(unit)
    }

    /// The canonical short name (`ns`, `us`, `ms`, `s`, `m`, `h`).
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "ns",
            Precision::Microseconds => "us",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }
}

impl FromStr for Precision {
    type Err = PrecisionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "" | "n" | "ns" => Precision::Nanoseconds,
            "u" | "us" | "µ" => Precision::Microseconds,
            "ms" => Precision::Milliseconds,
            "s" => Precision::Seconds,
            "m" => Precision::Minutes,
            "h" => Precision::Hours,
            other => return Err(PrecisionError(other.to_string())),
        })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_checks_range() {
        assert_eq!(Precision::Seconds.to_nanos(2), Some(2_000_000_000));
        assert_eq!(Precision::Hours.to_nanos(i64::MAX / 2), None);
        assert_eq!(Precision::Nanoseconds.to_nanos(i64::MAX), None);
        assert_eq!(Precision::Nanoseconds.to_nanos(MAX_NANOS), Some(MAX_NANOS));
    }

    #[test]
    fn truncates_negative_times_downwards() {
        assert_eq!(Precision::Seconds.truncate(-1), -1_000_000_000);
        assert_eq!(Precision::Seconds.truncate(1_999_999_999), 1_000_000_000);
    }
}
