//! One statsd line: `bucket:value|type[|@rate][|#tag:value,…]`, several `value|type` after
//! one bucket allowed (`bucket:1|c:2|c`), DataDog tags (`|#…`) when enabled.

/// The statsd types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `c`: summed over the interval.
    Counter,
    /// `g`: the last value (or a running sum of `+n`/`-n`).
    Gauge,
    /// `s`: how many distinct values.
    Set,
    /// `ms`: statistics of the values.
    Timing,
    /// `h`: a timing under another name.
    Histogram,
    /// `d`: DataDog's distribution, kept as a timing.
    Distribution,
}

impl Kind {
    /// The `metric_type` tag Telegraf gives it.
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Set => "set",
            Kind::Timing => "timing",
            Kind::Histogram => "histogram",
            Kind::Distribution => "distribution",
        }
    }
}

/// One value of a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The bucket as written, with any `,k=v` tags.
    pub bucket: &'a str,
    /// The type.
    pub kind: Kind,
    /// The value as written.
    pub value: &'a str,
    /// `+n`/`-n` on a gauge or counter.
    pub additive: bool,
    /// `@rate`, when given.
    pub rate: Option<f64>,
}

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} in statsd line {line:?}")]
pub struct LineError {
    /// What is wrong.
    pub reason: &'static str,
    /// The line (cut to 200 bytes).
    pub line: String,
}

/// The DataDog tags of a line (`|#a:b,c`), and the line without them.
pub fn split_datadog_tags(line: &str) -> (String, Vec<(&str, &str)>) {
    let mut rest = Vec::new();
    let mut tags = Vec::new();
    for segment in line.split('|') {
        match segment.strip_prefix('#') {
            Some(list) => {
                for tag in list.split(',').filter(|t| !t.is_empty()) {
                    // A tag without a value is `true`: InfluxDB has no empty tags.
                    tags.push(tag.split_once(':').unwrap_or((tag, "true")));
                }
            }
            None => rest.push(segment),
        }
    }
    (rest.join("|"), tags)
}

/// The samples of one line (without DataDog tags).
pub fn parse_line(line: &str) -> Result<Vec<Sample<'_>>, LineError> {
    let fail = |reason| LineError {
        reason,
        line: line.chars().take(200).collect(),
    };
    let mut bits = line.split(':');
    let bucket = bits.next().unwrap_or_default();
    if bucket.is_empty() {
        return Err(fail("no bucket"));
    }
    let mut samples = Vec::new();
    for bit in bits {
        let mut pipes = bit.split('|');
        let value = pipes.next().unwrap_or_default();
        let kind = match pipes.next() {
            Some("c") => Kind::Counter,
            Some("g") => Kind::Gauge,
            Some("s") => Kind::Set,
            Some("ms") => Kind::Timing,
            Some("h") => Kind::Histogram,
            Some("d") => Kind::Distribution,
            Some(_) => return Err(fail("unknown metric type")),
            None => return Err(fail("no metric type")),
        };
        // A rate that does not read is ignored, as Telegraf does.
        let rate = pipes
            .next()
            .and_then(|r| r.strip_prefix('@'))
            .and_then(|r| r.parse::<f64>().ok())
            .filter(|r| r.is_finite() && *r > 0.0);
        let additive = value.starts_with(['+', '-']);
        if additive && !matches!(kind, Kind::Gauge | Kind::Counter) {
            return Err(fail("a sign on a value that is not a gauge or counter"));
        }
        if value.is_empty() {
            return Err(fail("no value"));
        }
        samples.push(Sample {
            bucket,
            kind,
            value,
            additive,
            rate,
        });
    }
    if samples.is_empty() {
        return Err(fail("no value"));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_of_every_type() {
        let s = parse_line("users.current.den001.myapp:32|g").unwrap();
        assert_eq!(
            (s[0].bucket, s[0].kind, s[0].value),
            ("users.current.den001.myapp", Kind::Gauge, "32")
        );
        let s = parse_line("deploys.test.myservice:1|c|@0.1").unwrap();
        assert_eq!(s[0].rate, Some(0.1));
        let s = parse_line("a:1|c:2|ms:x|s").unwrap();
        assert_eq!(s.len(), 3);
        assert!(parse_line("a:-1|g").unwrap()[0].additive);
        assert!(parse_line("a:-1|ms").is_err());
        assert!(parse_line("a:1|q").is_err());
        assert!(parse_line("a").is_err());
        assert!(parse_line(":1|c").is_err());
    }

    #[test]
    fn datadog_tags_come_off_first() {
        let (line, tags) =
            split_datadog_tags("users.online:1|c|@0.5|#country:china,environment:production,beta");
        assert_eq!(line, "users.online:1|c|@0.5");
        assert_eq!(
            tags,
            [
                ("country", "china"),
                ("environment", "production"),
                ("beta", "true")
            ]
        );
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,60}") {
            let (rest, _) = split_datadog_tags(&line);
            let _ = parse_line(&rest);
        }

        #[test]
        fn written_lines_read_back(bucket in "[a-z][a-z.]{0,10}", value in 0f64..1e6, rate in 0.01f64..1.0) {
            let line = format!("{bucket}:{value}|ms|@{rate}");
            let s = parse_line(&line).unwrap();
            prop_assert_eq!(s[0].bucket, bucket.as_str());
            prop_assert_eq!(s[0].value.parse::<f64>().unwrap(), value);
            prop_assert_eq!(s[0].rate, Some(rate));
        }
    }
}
