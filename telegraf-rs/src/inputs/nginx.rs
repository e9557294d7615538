//! `inputs.nginx`: nginx's `stub_status` page — connections (`active`, `accepts`, `handled`),
//! `requests` and the `reading`/`writing`/`waiting` states — tagged `server` and `port`.

use super::{
    gathered_all, url_tags, Accumulator, BuildContext, GatherFuture, Input, InputError, StatusPages,
};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.nginx]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct NginxConfig {
    /// The `stub_status` URLs.
    pub urls: Vec<String>,
    /// How long a request may take.
    pub response_timeout: GoDuration,
}

impl Default for NginxConfig {
    fn default() -> Self {
        NginxConfig {
            urls: vec!["http://localhost/server_status".into()],
            response_timeout: GoDuration::secs(5),
        }
    }
}

/// Builds the input; every URL must be readable.
pub fn build(c: &NginxConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let urls = c
        .urls
        .iter()
        .map(|u| url_tags(u).map(|tags| (u.clone(), tags)))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Nginx {
        urls,
        pages: StatusPages::new(c.response_timeout.0)?,
    }))
}

struct Nginx {
    urls: Vec<(String, std::collections::BTreeMap<String, String>)>,
    pages: StatusPages,
}

/// The numbers of a `stub_status` page, as a `nginx` metric.
pub fn parse_stub_status(text: &str, mut m: Metric) -> Result<Metric, String> {
    let mut lines = text.lines();
    let active = lines
        .next()
        .and_then(|l| l.strip_prefix("Active connections:"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or("no \"Active connections\" line")?;
    m.add_field("active", active);
    lines.next();
    let counts: Vec<i64> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("accepts/handled/requests: {e}"))?;
    let [accepts, handled, requests] = counts[..] else {
        return Err("expected accepts, handled and requests".into());
    };
    m.add_field("accepts", accepts);
    m.add_field("handled", handled);
    m.add_field("requests", requests);
    let states: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    for pair in states.chunks(2) {
        if let [key, value] = pair {
            let value: i64 = value.parse().map_err(|e| format!("{key} {value:?}: {e}"))?;
            m.add_field(key.trim_end_matches(':').to_lowercase(), value);
        }
    }
    Ok(m)
}

impl Input for Nginx {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for (url, tags) in &self.urls {
                let mut m = acc.metric("nginx");
                m.tags = tags.clone();
                let parsed = self.pages.get(url).await.and_then(|text| {
                    parse_stub_status(&text, m).map_err(|message| InputError::Parse {
                        what: url.clone(),
                        message,
                    })
                });
                match parsed {
                    Ok(m) => acc.push(m),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            gathered_all("nginx", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    #[test]
    fn stub_status_page() {
        let page = "Active connections: 291 \nserver accepts handled requests\n 16630948 16630946 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n";
        let m = parse_stub_status(page, Metric::new("nginx", 1)).unwrap();
        assert_eq!(m.field("active"), Some(&FieldValue::Int(291)));
        assert_eq!(m.field("handled"), Some(&FieldValue::Int(16_630_946)));
        assert_eq!(m.field("requests"), Some(&FieldValue::Int(31_070_465)));
        assert_eq!(m.field("writing"), Some(&FieldValue::Int(179)));
        assert_eq!(m.field("waiting"), Some(&FieldValue::Int(106)));
        assert!(parse_stub_status("<html>", Metric::new("nginx", 1)).is_err());
    }

    #[test]
    fn url_tags_with_default_ports() {
        let tags = url_tags("https://web.example/status").unwrap();
        assert_eq!(
            (tags["server"].as_str(), tags["port"].as_str()),
            ("web.example", "443")
        );
        assert!(url_tags("not a url").is_err());
    }
}
