//! A parser for the Prometheus text exposition format (version 0.0.4): `# TYPE` lines and
//! samples `name{label="value",…} value [timestamp_ms]`.

use std::collections::BTreeMap;

/// A metric family's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// `_bucket{le=…}`, `_sum`, `_count`.
    Histogram,
    /// `{quantile=…}`, `_sum`, `_count`.
    Summary,
    /// No `# TYPE` line.
    Untyped,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's own name (`http_requests_total`, `latency_bucket`).
    pub name: String,
    /// Labels, sorted.
    pub labels: BTreeMap<String, String>,
    /// The value (`NaN`, `+Inf` allowed).
    pub value: f64,
    /// Milliseconds since the epoch, when given.
    pub timestamp_ms: Option<i64>,
}

/// Samples grouped under their family, in the order families appear.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The family name (`latency` for `latency_bucket`).
    pub name: String,
    /// Its type.
    pub kind: Kind,
    /// Its samples.
    pub samples: Vec<Sample>,
}

/// A line that is not valid exposition text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct TextError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// Parses `text` into families.
pub fn parse(text: &str) -> Result<Vec<Family>, TextError> {
    let mut types: BTreeMap<String, Kind> = BTreeMap::new();
    let mut families: Vec<Family> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |reason: &str| TextError {
            line: i + 1,
            reason: format!("{reason}: {line:?}"),
        };
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let name = words.next().ok_or_else(|| err("TYPE without a name"))?;
                let kind = match words.next() {
                    Some("counter") => Kind::Counter,
                    Some("gauge") => Kind::Gauge,
                    Some("histogram") => Kind::Histogram,
                    Some("summary") => Kind::Summary,
                    Some("untyped") | None => Kind::Untyped,
                    Some(other) => return Err(err(&format!("unknown type {other:?}"))),
                };
                types.insert(name.to_string(), kind);
            }
            continue;
        }
        let sample = parse_sample(line).map_err(|r| err(&r))?;
        let (family, kind) = family_of(&sample.name, &types);
        match families.last_mut() {
            Some(f) if f.name == family => f.samples.push(sample),
            _ => families.push(Family {
                name: family,
                kind,
                samples: vec![sample],
            }),
        }
    }
    Ok(families)
}

/// The family a sample belongs to: `x_bucket`, `x_sum`, `x_count` belong to histogram or
/// summary `x` when `x` was declared so.
fn family_of(name: &str, types: &BTreeMap<String, Kind>) -> (String, Kind) {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some(kind @ (Kind::Histogram | Kind::Summary)) = types.get(base) {
                if suffix != "_bucket" || *kind == Kind::Histogram {
                    return (base.to_string(), *kind);
                }
            }
        }
    }
    (
        name.to_string(),
        types.get(name).copied().unwrap_or(Kind::Untyped),
    )
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .char_indices()
        .find(|&(i, c)| !is_name_char(c, i == 0))
        .map(|(i, _)| i)
        .unwrap_or(line.len());
    if name_end == 0 {
        return Err("missing metric name".into());
    }
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, remaining) = parse_labels(after)?;
        labels = parsed;
        rest = remaining;
    }
    let mut parts = rest.split_whitespace();
    let value = parts.next().ok_or("missing value")?;
    let value = parse_value(value).ok_or_else(|| format!("invalid value {value:?}"))?;
    let timestamp_ms = match parts.next() {
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| format!("invalid timestamp {t:?}"))?,
        ),
        None => None,
    };
    if parts.next().is_some() {
        return Err("unexpected text after the timestamp".into());
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// Reads `a="x",b="y"}` and returns the labels and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s.find('=').ok_or("label without '='")?;
        let key = s[..eq].trim();
        if key.is_empty()
            || !key
                .chars()
                .enumerate()
                .all(|(i, c)| is_name_char(c, i == 0) && c != ':')
        {
            return Err(format!("invalid label name {key:?}"));
        }
        s = s[eq + 1..].trim_start();
        let body = s.strip_prefix('"').ok_or("label value must be quoted")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.insert(key.to_string(), value);
        s = body[end + 1..].trim_start();
        if let Some(rest) = s.strip_prefix(',') {
            s = rest;
        } else if !s.starts_with('}') {
            return Err("expected ',' or '}' after a label".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# TYPE latency histogram
latency_bucket{le="0.05"} 24054
latency_bucket{le="+Inf"} 144320
latency_sum 53423
latency_count 144320
# TYPE rpc summary
rpc{quantile="0.5"} 4773
rpc_sum 1.7560473e+07
rpc_count 2693
temp{path="C:\\dir\"x\""} NaN
"#;

    #[test]
    fn families_and_samples() {
        let f = parse(TEXT).unwrap();
        let kinds: Vec<(&str, Kind, usize)> = f
            .iter()
            .map(|f| (f.name.as_str(), f.kind, f.samples.len()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("http_requests_total", Kind::Counter, 2),
                ("latency", Kind::Histogram, 4),
                ("rpc", Kind::Summary, 3),
                ("temp", Kind::Untyped, 1)
            ]
        );
        assert_eq!(f[0].samples[1].labels["code"], "400");
        assert_eq!(f[0].samples[1].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(f[1].samples[1].labels["le"], "+Inf");
        assert_eq!(parse("x +Inf").unwrap()[0].samples[0].value, f64::INFINITY);
        assert_eq!(f[3].samples[0].labels["path"], "C:\\dir\"x\"");
        assert!(f[3].samples[0].value.is_nan());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("ok 1\nbad{x=1} 2\n").unwrap_err().line, 2);
        assert!(parse("x abc").is_err());
        assert!(parse("x{a=\"b\" 1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn printed_samples_read_back(
            name in "[a-z_][a-z0-9_]{0,10}",
            labels in proptest::collection::btree_map("[a-z_][a-z0-9_]{0,6}", "[ -~]{0,10}", 0..4),
            value in -1e12f64..1e12,
        ) {
            let body: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))).collect();
            let line = format!("{name}{{{}}} {value}\n", body.join(","));
            let f = parse(&line).unwrap();
            proptest::prop_assert_eq!(&f[0].samples[0].labels, &labels);
            proptest::prop_assert_eq!(f[0].samples[0].value, value);
        }
    }
}
