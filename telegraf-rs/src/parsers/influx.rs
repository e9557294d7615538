//! `data_format = "influx"`: line protocol with nanosecond timestamps; a line without one
//! takes the time of arrival.

use crate::metric::{from_line, Metric};

/// Parses every line of `body`; the first bad line is the error, naming its number.
pub fn parse(body: &[u8], now: i64) -> Result<Vec<Metric>, String> {
    lineproto::parse_lines(body)
        .map(|line| {
            line.map(|l| from_line(&l, lineproto::Precision::Nanoseconds, now))
                .map_err(|e| format!("line {}: {e}", e.line_number))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_for_missing_timestamps_and_bad_lines_reported() {
        let ms = parse(b"a v=1 7\nb v=2\n", 99).unwrap();
        assert_eq!((ms[0].time, ms[1].time), (7, 99));
        let err = parse(b"a v=1\n\n# note\nbad\n", 0).unwrap_err();
        assert!(
            err.starts_with("line 4: ") && err.contains("missing fields"),
            "{err}"
        );
    }
}
