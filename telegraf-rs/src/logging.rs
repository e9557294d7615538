//! Log lines in Telegraf's shape, so habits (and greps for `E!`) carry over:
//! `2024-01-01T00:00:00Z E! [outputs.influxdb] message key=value`.

use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter.
#[derive(Debug, Default, Clone, Copy)]
pub struct TelegrafFormat;

/// Collects an event's message, its plugin (`input`/`output` fields) and the other fields.
#[derive(Default)]
struct Fields {
    message: String,
    plugin: Option<String>,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_text(field, format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_text(field, value.to_string());
    }
}

impl Fields {
    fn record_text(&mut self, field: &Field, text: String) {
        match field.name() {
            "message" => self.message = text,
            "input" => self.plugin = Some(format!("inputs.{text}")),
            "output" => self.plugin = Some(format!("outputs.{text}")),
            name => self.rest.push((name.to_string(), text)),
        }
    }
}

/// Telegraf's level letters.
fn letter(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "E!",
        Level::WARN => "W!",
        Level::INFO => "I!",
        _ => "D!",
    }
}

impl<S, N> FormatEvent<S, N> for TelegrafFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let source = fields.plugin.unwrap_or_else(|| "agent".to_string());
        write!(
            writer,
            "{time} {} [{source}] {}",
            letter(event.metadata().level()),
            fields.message
        )?;
        for (k, v) in fields.rest {
            write!(writer, " {k}={v}")?;
        }
        writeln!(writer)
    }
}
