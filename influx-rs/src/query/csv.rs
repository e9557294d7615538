//! `Accept: application/csv` (or `text/csv`): query results as CSV, as InfluxDB writes them.
//!
//! Each series row becomes `name,tags,<columns…>` with tags as `k=v,k=v`; a header line starts
//! the output and is repeated, after a blank line, whenever the columns change. A failed
//! statement writes an `error` header and its message. Fields are quoted as Go's
//! `encoding/csv` quotes them.

use super::QueryResponse;

/// The response as CSV text.
pub fn to_csv(response: &QueryResponse) -> String {
    let mut out = String::new();
    let mut header: Option<Vec<String>> = None;
    for result in &response.results {
        if let Some(error) = &result.error {
            start_block(&mut out, &mut header, vec!["error".to_string()]);
            push_record(&mut out, [error.clone()]);
            continue;
        }
        for series in &result.series {
            let columns: Vec<String> = ["name", "tags"]
                .iter()
                .map(|s| s.to_string())
                .chain(series.columns.iter().cloned())
                .collect();
            start_block(&mut out, &mut header, columns);
            let name = series.name.clone().unwrap_or_default();
            let tags = series
                .tags
                .as_ref()
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            for row in &series.values {
                let cells = [name.clone(), tags.clone()]
                    .into_iter()
                    .chain(row.iter().map(cell));
                push_record(&mut out, cells);
            }
        }
    }
    out
}

/// Writes `columns` as a header unless they are the current one (a blank line before any
/// header but the first).
fn start_block(out: &mut String, header: &mut Option<Vec<String>>, columns: Vec<String>) {
    if header.as_ref() == Some(&columns) {
        return;
    }
    if header.is_some() {
        out.push('\n');
    }
    push_record(out, columns.iter().cloned());
    *header = Some(columns);
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => super::json::number_text(n),
        other => other.to_string(),
    }
}

fn push_record(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if needs_quotes(&f) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&f);
        }
    }
    out.push('\n');
}

/// Go's `encoding/csv` rule.
fn needs_quotes(f: &str) -> bool {
    if f.is_empty() {
        return false;
    }
    f == "\\." || f.contains([',', '"', '\r', '\n']) || f.starts_with(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Series, StatementResult};

    #[test]
    fn headers_repeat_only_when_columns_change() {
        let series = |tags: Option<(&str, &str)>, v: i64| Series {
            name: Some("m".into()),
            tags: tags.map(|(k, v)| [(k.to_string(), v.to_string())].into_iter().collect()),
            columns: vec!["time".into(), "max".into()],
            values: vec![vec![60.into(), v.into()]],
        };
        let r = QueryResponse {
            results: vec![
                StatementResult {
                    statement_id: 0,
                    series: vec![
                        series(Some(("host", "x,y")), 3),
                        series(Some(("host", "z")), 7),
                    ],
                    error: None,
                },
                StatementResult {
                    statement_id: 1,
                    series: Vec::new(),
                    error: Some("database not found: nope".into()),
                },
            ],
        };
        assert_eq!(
            to_csv(&r),
            "name,tags,time,max\nm,\"host=x,y\",60,3\nm,host=z,60,7\n\nerror\ndatabase not found: nope\n"
        );
    }
}
