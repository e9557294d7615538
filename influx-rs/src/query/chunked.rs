//! `chunked=true` answers: the results as a stream of JSON objects, one per line, as InfluxDB
//! 1.x sends them. How a statement's result is cut depends on the statement ([`Chunking`]):
//! `SELECT`s (and the `SHOW`s 1.x runs as `SELECT`s) give one line per piece of a series of at
//! most `chunk_size` rows, `"partial": true` marking a series continued on the next line (on the
//! series) and a statement with more lines to come (on the result); `SHOW TAG KEYS/VALUES` give a
//! line per series; everything else one line. A statement without series is one line.
//!
//! [`LineWriter`] makes the lines as the series come: a `SELECT` hands its rows on a piece at a
//! time ([`super::sink`]), and each line goes out as soon as it is complete, so a statement's
//! whole result is never held.

use super::sink::{ResultSink, SeriesSink};
use super::{QueryError, Series};
use influxql::Statement;
use serde::Serialize;
use std::collections::BTreeMap;

/// How one statement's result is cut into lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Chunking {
    /// Series cut into pieces of `chunk_size` rows, with `partial` marks.
    Rows,
    /// A line per series, whole, without `partial` marks.
    SeriesLines,
    /// One line.
    Whole,
}

impl Chunking {
    /// How InfluxDB 1.x cuts the result of `stmt`.
    pub fn of(stmt: &Statement) -> Chunking {
        match stmt {
            Statement::Select(_) | Statement::ShowSeries(_) | Statement::ShowFieldKeys(_) => {
                Chunking::Rows
            }
            Statement::ShowTagKeys(_) | Statement::ShowTagValues(..) => Chunking::SeriesLines,
            _ => Chunking::Whole,
        }
    }
}

/// Rows per chunk when the request does not say (as InfluxDB).
pub const DEFAULT_CHUNK_SIZE: usize = 10_000;

#[derive(Serialize)]
struct Line<'a> {
    results: [LineResult<'a>; 1],
}

#[derive(Serialize)]
struct LineResult<'a> {
    statement_id: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    series: Vec<LineSeries<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    partial: bool,
}

#[derive(Serialize)]
struct LineSeries<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a BTreeMap<String, String>>,
    columns: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    values: &'a [Vec<serde_json::Value>],
    #[serde(skip_serializing_if = "is_false")]
    partial: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Rows a streamed `SELECT` gathers at least before it hands them on, however small the chunks:
/// fewer would read the same blocks again for every few rows.
const MIN_ROWS_PER_READ: usize = 4096;

/// Cuts the results of a query's statements into JSON lines as [`Chunking`] says, and hands
/// each line to `send` as soon as it is known to be complete: it holds one line's rows (the
/// last piece, whose `partial` marks depend on what comes next) and, for statements cut
/// otherwise than by rows (small `SHOW`s), their whole result.
pub struct LineWriter<F> {
    chunking: Vec<Chunking>,
    size: usize,
    send: F,
    statement: usize,
    /// Rows cut: the rows not yet sent, at most `size`, of the current series.
    pending: Option<Series>,
    /// Rows cut: a line of the statement was sent.
    sent: bool,
    /// Not cut by rows: the statement's series so far.
    whole: Vec<Series>,
}

impl<F: FnMut(String) -> Result<(), QueryError>> LineWriter<F> {
    /// Lines for statements cut as `chunking` says (by statement), of `chunk_size` rows (0:
    /// the default); `send` takes each line, newline included, and fails when the client
    /// went away.
    pub fn new(chunking: Vec<Chunking>, chunk_size: usize, send: F) -> Self {
        LineWriter {
            chunking,
            size: if chunk_size == 0 {
                DEFAULT_CHUNK_SIZE
            } else {
                chunk_size
            },
            send,
            statement: 0,
            pending: None,
            sent: false,
            whole: Vec::new(),
        }
    }

    fn how(&self) -> Chunking {
        self.chunking
            .get(self.statement)
            .copied()
            .unwrap_or(Chunking::Whole)
    }

    /// Sends one line of the current statement.
    fn line(
        &mut self,
        series: Vec<LineSeries<'_>>,
        error: Option<&str>,
        partial: bool,
    ) -> Result<(), QueryError> {
        let line = Line {
            results: [LineResult {
                statement_id: self.statement,
                series,
                error,
                partial,
            }],
        };
        let mut text =
            super::json::to_string(&line, false).map_err(|e| QueryError::Invalid(e.to_string()))?;
        text.push('\n');
        self.sent = true;
        (self.send)(text)
    }

    /// Sends the pending rows as a line: `continued` when their series goes on, `more` when
    /// the statement does.
    fn flush(&mut self, continued: bool, more: bool) -> Result<(), QueryError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let piece = LineSeries::of(&pending, &pending.values, continued);
        self.line(vec![piece], None, more)
    }
}

impl<F: FnMut(String) -> Result<(), QueryError>> SeriesSink for LineWriter<F> {
    fn series(&mut self, piece: Series, starts: bool) -> Result<(), QueryError> {
        if self.how() != Chunking::Rows {
            return self.whole.series(piece, starts);
        }
        let Series {
            name,
            tags,
            columns,
            values,
        } = piece;
        if starts || self.pending.is_none() {
            self.flush(false, true)?;
        }
        let mut pending = self.pending.take().unwrap_or(Series {
            name,
            tags,
            columns,
            values: Vec::new(),
        });
        for row in values {
            if pending.values.len() == self.size {
                let next = Series {
                    values: Vec::with_capacity(self.size.min(MIN_ROWS_PER_READ)),
                    name: pending.name.clone(),
                    tags: pending.tags.clone(),
                    columns: pending.columns.clone(),
                };
                self.pending = Some(std::mem::replace(&mut pending, next));
                self.flush(true, true)?;
            }
            pending.values.push(row);
        }
        self.pending = Some(pending);
        Ok(())
    }

    fn rows_per_read(&self) -> Option<usize> {
        Some(self.size.max(MIN_ROWS_PER_READ))
    }
}

impl<F: FnMut(String) -> Result<(), QueryError>> ResultSink for LineWriter<F> {
    fn start(&mut self, statement_id: usize) {
        self.statement = statement_id;
        self.pending = None;
        self.sent = false;
        self.whole.clear();
    }

    /// Sends what the statement still holds; a failure reaches the client as a last line with
    /// the error (after any rows already sent, which cannot be taken back).
    fn end(&mut self, _: usize, error: Option<String>) {
        // A client that went away is not told anything more.
        let _ = self.finish(error.as_deref());
    }
}

impl<F: FnMut(String) -> Result<(), QueryError>> LineWriter<F> {
    fn finish(&mut self, error: Option<&str>) -> Result<(), QueryError> {
        if let Some(error) = error {
            self.flush(true, true)?;
            self.whole.clear();
            return self.line(Vec::new(), Some(error), false);
        }
        match self.how() {
            Chunking::Rows if self.pending.is_some() => self.flush(false, false),
            Chunking::Rows if !self.sent => self.line(Vec::new(), None, false),
            Chunking::Rows => Ok(()),
            Chunking::SeriesLines if !self.whole.is_empty() => {
                let whole = std::mem::take(&mut self.whole);
                for s in &whole {
                    self.line(vec![LineSeries::of(s, &s.values, false)], None, false)?;
                }
                Ok(())
            }
            Chunking::SeriesLines | Chunking::Whole => {
                let whole = std::mem::take(&mut self.whole);
                let series = whole
                    .iter()
                    .map(|s| LineSeries::of(s, &s.values, false))
                    .collect();
                self.line(series, None, false)
            }
        }
    }
}

impl<'a> LineSeries<'a> {
    fn of(s: &'a Series, values: &'a [Vec<serde_json::Value>], partial: bool) -> Self {
        LineSeries {
            name: s.name.as_deref(),
            tags: s.tags.as_ref(),
            columns: &s.columns,
            values,
            partial,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(host: &str, rows: std::ops::Range<i64>) -> Series {
        Series {
            name: Some("c".into()),
            tags: Some([("h".to_string(), host.to_string())].into()),
            columns: vec!["time".into(), "v".into()],
            values: rows.map(|i| vec![i.into(), (i * 10).into()]).collect(),
        }
    }

    /// One statement's pieces (`(piece, starts)`) and its error.
    type Statement<'a> = (Vec<(Series, bool)>, Option<&'a str>);

    /// The lines a writer of `chunk_size` rows sends for `statements`.
    fn lines(
        chunking: Vec<Chunking>,
        chunk_size: usize,
        statements: Vec<Statement<'_>>,
    ) -> Result<Vec<String>, QueryError> {
        let mut sent = Vec::new();
        let mut writer = LineWriter::new(chunking, chunk_size, |line: String| {
            sent.push(line.trim_end().to_string());
            Ok(())
        });
        for (id, (pieces, error)) in statements.into_iter().enumerate() {
            writer.start(id);
            for (piece, starts) in pieces {
                writer.series(piece, starts)?;
            }
            writer.end(id, error.map(str::to_string));
        }
        Ok(sent)
    }

    #[test]
    fn series_are_cut_into_lines_as_influxdb_does() -> Result<(), QueryError> {
        let sent = lines(
            vec![Chunking::Rows, Chunking::Rows],
            2,
            vec![
                (
                    vec![(series("a", 1..4), true), (series("b", 4..6), true)],
                    None,
                ),
                (Vec::new(), Some("boom")),
            ],
        )?;
        assert_eq!(
            sent,
            [
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"a"},"columns":["time","v"],"values":[[1,10],[2,20]],"partial":true}],"partial":true}]}"#,
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"a"},"columns":["time","v"],"values":[[3,30]]}],"partial":true}]}"#,
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"b"},"columns":["time","v"],"values":[[4,40],[5,50]]}]}]}"#,
                r#"{"results":[{"statement_id":1,"error":"boom"}]}"#,
            ]
        );
        Ok(())
    }

    #[test]
    fn pieces_of_a_series_are_cut_as_if_it_came_whole() -> Result<(), QueryError> {
        let whole = lines(
            vec![Chunking::Rows],
            3,
            vec![(vec![(series("a", 0..7), true)], None)],
        )?;
        let pieces = vec![
            (series("a", 0..2), true),
            (series("a", 2..2), false),
            (series("a", 2..6), false),
            (series("a", 6..7), false),
        ];
        assert_eq!(lines(vec![Chunking::Rows], 3, vec![(pieces, None)])?, whole);
        assert_eq!(whole.len(), 3);
        Ok(())
    }

    #[test]
    fn small_statements_are_one_line_and_tag_shows_a_line_per_series() -> Result<(), QueryError> {
        let sent = lines(
            vec![Chunking::Whole, Chunking::SeriesLines, Chunking::Rows],
            1,
            vec![
                (
                    vec![(series("a", 0..2), true), (series("b", 0..2), true)],
                    None,
                ),
                (
                    vec![(series("a", 0..2), true), (series("b", 0..2), true)],
                    None,
                ),
                (Vec::new(), None),
            ],
        )?;
        assert_eq!(sent.len(), 4);
        assert!(sent[0].contains(r#""h":"a""#) && sent[0].contains(r#""h":"b""#));
        assert!(!sent[1].contains("partial") && !sent[2].contains("partial"));
        assert_eq!(sent[3], r#"{"results":[{"statement_id":2}]}"#);
        Ok(())
    }
}
