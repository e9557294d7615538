//! `inputs.apache`: Apache httpd's `mod_status` page in its machine form (`?auto`) — every
//! numeric `Key: value` line as a float field named by the key without spaces
//! (`TotalAccesses`, `BusyWorkers`, `ReqPerSec`, …) and the scoreboard counted by state
//! (`scboard_waiting`, `scboard_sending`, …) — tagged `server` and `port`, as Telegraf does.

use super::{
    gathered_all, url_tags, Accumulator, BuildContext, GatherFuture, Input, InputError, StatusPages,
};
use crate::metric::Metric;
use crate::options::GoDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options of `[[inputs.apache]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ApacheConfig {
    /// The `server-status?auto` URLs.
    pub urls: Vec<String>,
    /// Basic auth user.
    pub username: String,
    /// Basic auth password.
    pub password: String,
    /// How long a request may take.
    pub response_timeout: GoDuration,
}

impl Default for ApacheConfig {
    fn default() -> Self {
        ApacheConfig {
            urls: vec!["http://localhost/server-status?auto".into()],
            username: String::new(),
            password: String::new(),
            response_timeout: GoDuration::secs(5),
        }
    }
}

/// Builds the input; every URL must be readable.
pub fn build(c: &ApacheConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let urls = c
        .urls
        .iter()
        .map(|u| url_tags(u).map(|tags| (u.clone(), tags)))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Apache {
        urls,
        pages: StatusPages::new(c.response_timeout.0)?.with_basic_auth(&c.username, &c.password),
    }))
}

struct Apache {
    urls: Vec<(String, BTreeMap<String, String>)>,
    pages: StatusPages,
}

/// The scoreboard's characters and the field counting each.
const SCOREBOARD: &[(char, &str)] = &[
    ('_', "scboard_waiting"),
    ('S', "scboard_starting"),
    ('R', "scboard_reading"),
    ('W', "scboard_sending"),
    ('K', "scboard_keepalive"),
    ('D', "scboard_dnslookup"),
    ('C', "scboard_closing"),
    ('L', "scboard_logging"),
    ('G', "scboard_finishing"),
    ('I', "scboard_idle_cleanup"),
    ('.', "scboard_open"),
];

/// The fields of a `server-status?auto` page added to `m`; lines whose value is not a number
/// (`ServerVersion`, `CurrentTime`, …) are skipped as Telegraf skips them. A page without a
/// single `Key: value` line (an HTML page: `?auto` forgotten) is an error.
pub fn parse_status(text: &str, mut m: Metric) -> Result<Metric, String> {
    let mut pairs = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        pairs += 1;
        let key: String = key.chars().filter(|c| *c != ' ').collect();
        let value = value.trim();
        if key == "Scoreboard" {
            for (state, field) in SCOREBOARD {
                m.add_field(*field, value.chars().filter(|c| c == state).count() as f64);
            }
        } else if let Ok(v) = value.parse::<f64>() {
            m.add_field(key, v);
        }
    }
    match pairs {
        0 => Err("no \"Key: value\" lines (is the URL's ?auto missing?)".into()),
        _ => Ok(m),
    }
}

impl Input for Apache {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors = Vec::new();
            for (url, tags) in &self.urls {
                let mut m = acc.metric("apache");
                m.tags = tags.clone();
                let parsed = self.pages.get(url).await.and_then(|text| {
                    parse_status(&text, m).map_err(|message| InputError::Parse {
                        what: url.clone(),
                        message,
                    })
                });
                match parsed {
                    Ok(m) => acc.push(m),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            gathered_all("apache", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{gather_error, gather_with, serve_http};
    use crate::metric::FieldValue;

    /// Telegraf's documented sample page (Apache 2.4, event MPM).
    const PAGE: &str = "localhost\nServerVersion: Apache/2.4.57 (Debian)\nServerMPM: event\n\
        Total Accesses: 129811861\nTotal kBytes: 5213701865\nCPULoad: 6.51929\nUptime: 941553\n\
        ReqPerSec: 137.87\nBytesPerSec: 5670240\nBytesPerReq: 41127.4\nBusyWorkers: 270\n\
        IdleWorkers: 630\nConnsTotal: 1451\nConnsAsyncWriting: 32\nConnsAsyncKeepAlive: 945\n\
        ConnsAsyncClosing: 205\nScoreboard: WW_____W_RW_R_W__RRR____WR_W___WW________W_WW_W_____R__R_WR__WRWR_RRRW___R_RWW__WWWRW__R_RW___W_RR____WRWR_R__RR_.....\n";

    #[test]
    fn status_page_fields_are_floats_named_without_spaces() {
        let m = parse_status(PAGE, Metric::new("apache", 1)).unwrap();
        assert_eq!(
            m.field("TotalAccesses"),
            Some(&FieldValue::Float(129_811_861.0))
        );
        assert_eq!(m.field("CPULoad"), Some(&FieldValue::Float(6.51929)));
        assert_eq!(
            m.field("ConnsAsyncClosing"),
            Some(&FieldValue::Float(205.0))
        );
        assert_eq!(m.field("ServerVersion"), None);
        assert_eq!(m.field("scboard_open"), Some(&FieldValue::Float(5.0)));
        assert_eq!(m.field("scboard_sending"), Some(&FieldValue::Float(27.0)));
        assert_eq!(m.field("scboard_reading"), Some(&FieldValue::Float(26.0)));
        assert_eq!(m.field("scboard_waiting"), Some(&FieldValue::Float(60.0)));
        assert_eq!(m.field("scboard_keepalive"), Some(&FieldValue::Float(0.0)));
        assert!(parse_status("<html><body>x</body></html>", Metric::new("apache", 1)).is_err());
    }

    #[test]
    fn gathers_each_url_and_names_the_one_that_failed() {
        let good = serve_http(200, PAGE, 1);
        let bad = serve_http(404, "not found", 1);
        let config = ApacheConfig {
            urls: vec![format!("{good}/server-status?auto")],
            ..ApacheConfig::default()
        };
        let fx = crate::inputs::testing::fixture(&[]);
        let mut input = build(&config, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].tags["server"], "127.0.0.1");
        let config = ApacheConfig {
            urls: vec![format!("{bad}/server-status?auto")],
            ..ApacheConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let (err, acc) = gather_error(&mut input);
        assert!(err.contains("404") && err.contains(&bad), "{err}");
        assert!(acc.metrics.is_empty());
    }
}
