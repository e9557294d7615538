//! The write pipeline between HTTP and the engine: body → points → engine → InfluxDB's answer.

use crate::storage::{Engine, EngineError, Point, Value, WriteSummary};
use compact_str::CompactString;
use lineproto::{parse_lines, FieldValue, Precision};

/// Longest series key InfluxDB accepts.
const MAX_KEY_LEN: usize = 65535;

/// A body split into storable points and rejected lines.
#[derive(Debug, Default)]
pub struct ParsedBody {
    /// Points to store.
    pub points: Vec<Point>,
    /// `unable to parse '…': …` messages, one per bad line.
    pub parse_errors: Vec<String>,
    /// Points dropped before storage (reserved names), with the first reason.
    pub dropped: usize,
    /// Why the first dropped point was dropped.
    pub first_drop: Option<String>,
}

/// Parses a body in `precision`; lines without a timestamp get `now` truncated to it.
pub fn parse_body(body: &[u8], precision: Precision, now: i64) -> ParsedBody {
    let mut out = ParsedBody::default();
    let default_time = precision.truncate(now);
    for line in parse_lines(body) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(line = e.line_number(), column = e.column(), error = %e, "rejected line");
                out.parse_errors.push(e.to_string());
                continue;
            }
        };
        if let Some(size) = oversized_key(&line) {
            out.parse_errors.push(format!(
                "unable to parse '{}': max key length exceeded: {size} > {MAX_KEY_LEN}",
                String::from_utf8_lossy(line.raw),
            ));
            continue;
        }
        let time = match line.timestamp {
            None => default_time,
            Some(ts) => match precision.to_nanos(ts) {
                Some(ns) => ns,
                None => {
                    out.parse_errors.push(format!(
                        "unable to parse '{}': time outside range {} - {}",
                        String::from_utf8_lossy(line.raw),
                        lineproto::MIN_NANOS,
                        lineproto::MAX_NANOS
                    ));
                    continue;
                }
            },
        };
        let measurement = CompactString::from(line.measurement.as_str());
        if line.tags.iter().any(|(k, _)| *k == "time") {
            drop_point(
                &mut out,
                format!("invalid tag key: input tag \"time\" on measurement \"{measurement}\" is invalid"),
            );
            continue;
        }
        let mut fields = Vec::with_capacity(line.fields.len());
        for (k, v) in &line.fields {
            let name = k.as_str();
            if name == "time" {
                continue;
            }
            let value = match *v {
                FieldValue::Float(f) => Value::Float(f),
                FieldValue::Integer(i) => Value::Integer(i),
                FieldValue::UInteger(u) => Value::Unsigned(u),
                FieldValue::Boolean(b) => Value::Boolean(b),
                FieldValue::String(s) => Value::String(s.as_str().into_owned()),
            };
            fields.push((CompactString::from(name), value));
        }
        if fields.is_empty() {
            drop_point(
                &mut out,
                format!("invalid field name: input field \"time\" on measurement \"{measurement}\" is invalid"),
            );
            continue;
        }
        let series_key = lineproto::series_key::of_line(&line);
        out.points.push(Point {
            measurement,
            series_key,
            time,
            fields,
        });
    }
    out
}

/// The size InfluxDB finds too long, if any: the key as written (measurement and tags), then
/// the key of each field's storage column (key, a 4-byte separator, field key as written).
fn oversized_key(line: &lineproto::Line<'_>) -> Option<usize> {
    let key = line.key.len();
    if key > MAX_KEY_LEN {
        return Some(key);
    }
    line.fields
        .iter()
        .map(|(k, _)| key + 4 + k.raw().len())
        .find(|&size| size > MAX_KEY_LEN)
}

fn drop_point(out: &mut ParsedBody, reason: String) {
    out.dropped += 1;
    out.first_drop.get_or_insert(reason);
}

/// What to answer a write request.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteResponse {
    /// 204.
    NoContent,
    /// 400 with this error message.
    BadRequest(String),
}

/// Stores a parsed body and words the answer as InfluxDB does: storage rejections take
/// precedence as `partial write: <reason> dropped=N`; otherwise parse errors are reported,
/// as `partial write: … dropped=0` when other lines were written.
/// Also returns the retention policy written to (empty when nothing was stored).
pub fn store(
    engine: &Engine,
    db: &str,
    rp: &str,
    body: &ParsedBody,
) -> Result<(WriteResponse, String), EngineError> {
    let summary = if body.points.is_empty() {
        if body.parse_errors.is_empty() && body.dropped == 0 {
            // An empty body still has to name an existing database and policy.
            engine.catalog().resolve_policy(db, rp)?;
        }
        Default::default()
    } else {
        engine.write(db, rp, &body.points)?
    };
    Ok(answer(body, summary))
}

/// The answer to a write whose points the engine stored as `summary` says (here, or on every
/// node of a cluster): 204, or InfluxDB's partial-write and parse-error messages; and the
/// retention policy written to.
pub fn answer(body: &ParsedBody, summary: WriteSummary) -> (WriteResponse, String) {
    let dropped = summary.dropped + body.dropped;
    let policy = summary.policy;
    if dropped > 0 {
        let reason = body
            .first_drop
            .clone()
            .or(summary.first_error)
            .unwrap_or_default();
        let message = format!("partial write: {reason} dropped={dropped}");
        return (WriteResponse::BadRequest(message), policy);
    }
    if !body.parse_errors.is_empty() {
        let errors = body.parse_errors.join("\n");
        let message = if summary.written == 0 {
            errors
        } else {
            format!("partial write: {errors} dropped=0")
        };
        return (WriteResponse::BadRequest(message), policy);
    }
    (WriteResponse::NoContent, policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_time_names() {
        let b = parse_body(
            b"m,time=1 v=1\nm time=1\nm time=1,v=2 5",
            Precision::Nanoseconds,
            0,
        );
        assert_eq!(b.dropped, 2);
        assert_eq!(b.points.len(), 1);
        assert_eq!(b.points[0].fields.len(), 1);
        assert!(b.first_drop.unwrap().starts_with("invalid tag key"));
    }

    #[test]
    fn precision_and_default_time() {
        let b = parse_body(b"m v=1 2\nm v=1", Precision::Seconds, 3_500_000_000);
        assert_eq!(b.points[0].time, 2_000_000_000);
        assert_eq!(b.points[1].time, 3_000_000_000);
        let b = parse_body(b"m v=1 99999999999", Precision::Hours, 0);
        assert_eq!(
            b.parse_errors,
            vec!["unable to parse 'm v=1 99999999999': time outside range -9223372036854775806 - 9223372036854775806"]
        );
    }

    #[test]
    fn series_keys_are_canonical() {
        let b = parse_body(b"m,b=2,a=1 v=1 1", Precision::Nanoseconds, 0);
        assert_eq!(b.points[0].series_key, b"m,a=1,b=2");
    }
}
