//! `chunked=true` answers: the results as a stream of JSON objects, one per line, as InfluxDB
//! 1.x sends them. How a statement's result is cut depends on the statement ([`Chunking`]):
//! `SELECT`s (and the `SHOW`s 1.x runs as `SELECT`s) give one line per piece of a series of at
//! most `chunk_size` rows, `"partial": true` marking a series continued on the next line (on the
//! series) and a statement with more lines to come (on the result); `SHOW TAG KEYS/VALUES` give a
//! line per series; everything else one line. A statement without series is one line.

use super::StatementResult;
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

/// The newline-terminated JSON lines of one statement's result, cut as `chunking` (by
/// statement) says; sent as soon as the statement is done.
pub fn statement_to_lines(
    result: &StatementResult,
    chunking: &[Chunking],
    chunk_size: usize,
) -> Result<String, serde_json::Error> {
    let size = if chunk_size == 0 {
        DEFAULT_CHUNK_SIZE
    } else {
        chunk_size
    };
    let how = chunking
        .get(result.statement_id)
        .copied()
        .unwrap_or(Chunking::Whole);
    let mut out = String::new();
    for line in statement_lines(result, how, size) {
        out.push_str(&serde_json::to_string(&line)?);
        out.push('\n');
    }
    Ok(out)
}

fn statement_lines<'a>(result: &'a StatementResult, how: Chunking, size: usize) -> Vec<Line<'a>> {
    let line = |series: Vec<LineSeries<'a>>, partial: bool| Line {
        results: [LineResult {
            statement_id: result.statement_id,
            series,
            error: result.error.as_deref(),
            partial,
        }],
    };
    let whole = |s: &'a super::Series| LineSeries {
        name: s.name.as_deref(),
        tags: s.tags.as_ref(),
        columns: &s.columns,
        values: &s.values,
        partial: false,
    };
    if result.series.is_empty() || how == Chunking::Whole {
        return vec![line(result.series.iter().map(whole).collect(), false)];
    }
    if how == Chunking::SeriesLines {
        return result
            .series
            .iter()
            .map(|s| line(vec![whole(s)], false))
            .collect();
    }
    let mut pieces = Vec::new();
    for s in &result.series {
        let chunks: Vec<&[Vec<serde_json::Value>]> = if s.values.is_empty() {
            vec![&[]]
        } else {
            s.values.chunks(size).collect()
        };
        let last = chunks.len() - 1;
        for (i, values) in chunks.into_iter().enumerate() {
            pieces.push(LineSeries {
                name: s.name.as_deref(),
                tags: s.tags.as_ref(),
                columns: &s.columns,
                values,
                partial: i < last,
            });
        }
    }
    let count = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| line(vec![piece], i + 1 < count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{QueryResponse, Series};

    #[test]
    fn series_are_cut_into_lines_as_influxdb_does() {
        let rows = |r: std::ops::Range<i64>| r.map(|i| vec![i.into(), (i * 10).into()]).collect();
        let series = |host: &str, values| Series {
            name: Some("c".into()),
            tags: Some([("h".to_string(), host.to_string())].into()),
            columns: vec!["time".into(), "v".into()],
            values,
        };
        let response = QueryResponse {
            results: vec![
                StatementResult {
                    statement_id: 0,
                    series: vec![series("a", rows(1..4)), series("b", rows(4..6))],
                    error: None,
                },
                StatementResult {
                    statement_id: 1,
                    series: Vec::new(),
                    error: Some("boom".into()),
                },
            ],
        };
        let text: String = response
            .results
            .iter()
            .map(|r| statement_to_lines(r, &[Chunking::Rows, Chunking::Rows], 2).unwrap())
            .collect();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"a"},"columns":["time","v"],"values":[[1,10],[2,20]],"partial":true}],"partial":true}]}"#,
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"a"},"columns":["time","v"],"values":[[3,30]]}],"partial":true}]}"#,
                r#"{"results":[{"statement_id":0,"series":[{"name":"c","tags":{"h":"b"},"columns":["time","v"],"values":[[4,40],[5,50]]}]}]}"#,
                r#"{"results":[{"statement_id":1,"error":"boom"}]}"#,
            ]
        );
    }
}
