//! Where a write goes: the parameters of `/write` (1.x) and `/api/v2/write` (2.x).

use lineproto::Precision;

/// The target of a 1.x `/write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// `db=`.
    pub database: String,
    /// `rp=` ("" = the database's default).
    pub retention_policy: String,
    /// `precision=`: the unit of the body's timestamps (`None`: nanoseconds, not sent).
    pub precision: Option<Precision>,
    /// `consistency=` (`any`, `one`, `quorum`, `all`; `None` = not sent; InfluxDB's own
    /// subscriber sends it empty). Meaningful to clusters.
    pub consistency: Option<String>,
}

impl Write {
    /// A write to `database`, its default retention policy, nanosecond timestamps.
    pub fn new(database: impl Into<String>) -> Self {
        Write {
            database: database.into(),
            retention_policy: String::new(),
            precision: None,
            consistency: None,
        }
    }

    /// Sets the retention policy.
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = rp.into();
        self
    }

    /// Sets the timestamps' unit.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = Some(precision);
        self
    }

    /// Sets the consistency level.
    pub fn consistency(mut self, consistency: impl Into<String>) -> Self {
        self.consistency = Some(consistency.into());
        self
    }

    /// The query parameters of the request.
    pub(crate) fn params(&self) -> Vec<(&'static str, &str)> {
        let mut params = vec![("db", self.database.as_str())];
        if !self.retention_policy.is_empty() {
            params.push(("rp", &self.retention_policy));
        }
        if let Some(p) = self.precision {
            params.push(("precision", p.as_str()));
        }
        if let Some(c) = &self.consistency {
            params.push(("consistency", c));
        }
        params
    }
}

/// The target of a 2.x `/api/v2/write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteV2 {
    /// `org=` (ignored by 1.x servers and influx-rs).
    pub org: String,
    /// `bucket=`: a bucket, or `db/rp` on 1.x servers and influx-rs.
    pub bucket: String,
    /// `precision=` (`None`: nanoseconds, not sent).
    pub precision: Option<Precision>,
}

impl WriteV2 {
    /// A write to `bucket` of `org`.
    pub fn new(org: impl Into<String>, bucket: impl Into<String>) -> Self {
        WriteV2 {
            org: org.into(),
            bucket: bucket.into(),
            precision: None,
        }
    }

    /// The query parameters of the request.
    pub(crate) fn params(&self) -> Vec<(&'static str, &str)> {
        let mut params = vec![("org", self.org.as_str()), ("bucket", &self.bucket)];
        if let Some(p) = self.precision {
            params.push(("precision", p.as_str()));
        }
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_what_is_set() {
        assert_eq!(Write::new("db").params(), vec![("db", "db")]);
        let w = Write::new("db")
            .retention_policy("rp")
            .precision(Precision::Seconds)
            .consistency("any");
        assert_eq!(
            w.params(),
            vec![
                ("db", "db"),
                ("rp", "rp"),
                ("precision", "s"),
                ("consistency", "any")
            ]
        );
        assert_eq!(
            WriteV2::new("o", "db/rp").params(),
            vec![("org", "o"), ("bucket", "db/rp")]
        );
    }
}
