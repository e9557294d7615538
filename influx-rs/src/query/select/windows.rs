//! `GROUP BY time(width[, offset])` windows, aligned as InfluxDB 1.x aligns them: on multiples
//! of the width since the epoch, shifted by the offset, and with `tz('…')` on the zone's local
//! clock (a `1d` window starts at local midnight; around a daylight-saving change it is an hour
//! shorter or longer).

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

/// The windows of one query.
#[derive(Debug, Clone, Copy)]
pub(super) struct Windows {
    width: i64,
    offset: i64,
    tz: Option<Tz>,
}

/// The zone's offset from UTC at instant `t` (ns), in ns.
fn zone_offset(tz: Tz, t: i64) -> i64 {
    let secs = t.div_euclid(1_000_000_000);
    let nanos = t.rem_euclid(1_000_000_000) as u32;
    tz.timestamp_opt(secs, nanos).single().map_or(0, |dt| {
        i64::from(dt.offset().fix().local_minus_utc()) * 1_000_000_000
    })
}

impl Windows {
    /// Windows of `width` ns shifted by `offset` ns, on the clock of `tz` when given.
    pub(super) fn new(width: i64, offset: i64, tz: Option<Tz>) -> Windows {
        Windows { width, offset, tz }
    }

    /// The nominal width of a window, ns.
    pub(super) fn width(&self) -> i64 {
        self.width
    }

    /// The start of the window holding `t` (InfluxDB's `IteratorOptions.Window`).
    pub(super) fn start(&self, t: i64) -> i64 {
        let t = t - self.offset;
        let zone = self.tz.map_or(0, |tz| zone_offset(tz, t));
        let mut start = t - (t + zone).rem_euclid(self.width);
        // The zone's offset at the window's start may differ from the one at `t`.
        if let Some(tz) = self.tz {
            let shift = zone - zone_offset(tz, start);
            if shift != 0 && shift.abs() < self.width {
                start += shift;
            }
        }
        start + self.offset
    }

    /// The start of the window after the one starting at `start`.
    pub(super) fn after(&self, start: i64) -> i64 {
        let next = self.start(start.saturating_add(self.width));
        if next > start {
            next
        } else {
            // A window lengthened by a daylight-saving change: an hour more reaches the next.
            self.start(start.saturating_add(self.width + 3_600_000_000_000))
        }
    }

    /// How many windows [`Windows::list`] would give (within an hour's shift of a time
    /// zone), without making them: what the query's limits are checked against first.
    pub(super) fn count(&self, from: i64, to: i64) -> u64 {
        let first = self.start(from);
        if to < first {
            return 0;
        }
        u64::try_from((to - first) / self.width).map_or(0, |n| n.saturating_add(1))
    }

    /// The starts of the windows from the one holding `from` to the one holding `to`. Callers
    /// charge [`Windows::count`] to the query's limits first.
    pub(super) fn list(&self, from: i64, to: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut b = self.start(from);
        while b <= to {
            out.push(b);
            let next = self.after(b);
            if next <= b {
                break;
            }
            b = next;
        }
        out
    }
}

/// A zone named in `tz('…')`, or InfluxDB's error.
pub(crate) fn zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unable to find time zone {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn windows_follow_the_local_clock() {
        let utc = Windows::new(DAY, 0, None);
        assert_eq!(utc.start(DAY + 5), DAY);
        assert_eq!(utc.start(-5), -DAY);
        // Chicago is UTC-6 in winter: a day starts at 06:00 UTC.
        let chicago = Windows::new(DAY, 0, Some(zone("America/Chicago").unwrap()));
        let jan2 = 1_577_923_200_000_000_000; // 2020-01-02T00:00:00Z
        assert_eq!(chicago.start(jan2), jan2 - DAY + 6 * HOUR);
        // 2020-03-08 has 23 hours there (the clocks go forward at 02:00).
        let mar8 = chicago.start(1_583_625_600_000_000_000 + 18 * HOUR); // 2020-03-08T18:00:00Z
        assert_eq!(chicago.after(mar8) - mar8, 23 * HOUR);
        let nov1 = chicago.start(1_604_188_800_000_000_000 + 12 * HOUR); // 2020-11-01, 25 h
        assert_eq!(chicago.after(nov1) - nov1, 25 * HOUR);
        assert_eq!(chicago.list(jan2, jan2 + 2 * DAY).len(), 3);
        assert_eq!(chicago.count(jan2, jan2 + 2 * DAY), 3);
        assert_eq!(utc.count(DAY, DAY - 1), 0);
        // A billion billion windows are counted, not made.
        assert_eq!(
            Windows::new(1, 0, None).count(0, i64::MAX),
            i64::MAX as u64 + 1
        );
        assert_eq!(
            zone("Nowhere/X").unwrap_err(),
            "unable to find time zone Nowhere/X"
        );
    }
}
