//! `data_format = "csv"`: rows of delimited values with header rows (or given column names)
//! become metrics; values are typed by `csv_column_types` or guessed; tag, measurement and
//! timestamp columns as Telegraf's options name them. Each body is a whole document: its
//! header rows are read again every time.

use super::{guess_value, parse_go_bool, parse_go_float};
use crate::metric::{FieldValue, Metric};
use serde::{Deserialize, Serialize};

/// The `csv_*` options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct CsvOptions {
    /// Rows at the top (after the skipped ones) naming the columns; several are joined.
    #[serde(skip_serializing_if = "is_zero")]
    pub csv_header_row_count: usize,
    /// Column names, instead of or over the header's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub csv_column_names: Vec<String>,
    /// `int`, `float`, `bool` or `string` per column; guessed when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub csv_column_types: Vec<String>,
    /// Rows skipped at the top.
    #[serde(skip_serializing_if = "is_zero")]
    pub csv_skip_rows: usize,
    /// Columns skipped on the left.
    #[serde(skip_serializing_if = "is_zero")]
    pub csv_skip_columns: usize,
    /// The separator (one character, `,` by default).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_delimiter: String,
    /// Lines starting with this character are skipped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_comment: String,
    /// Trim spaces around values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csv_trim_space: bool,
    /// Columns that become tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub csv_tag_columns: Vec<String>,
    /// Tag columns replace tags of the same name that came before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csv_tag_overwrite: bool,
    /// The column naming the measurement.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_measurement_column: String,
    /// The column holding the time.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_timestamp_column: String,
    /// `unix`, `unix_ms`, `unix_us`, `unix_ns` or a Go layout.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub csv_timestamp_format: String,
    /// Values that are left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub csv_skip_values: Vec<String>,
    /// A bad row is skipped (and logged) instead of failing the body.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub csv_skip_errors: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The column types `csv_column_types` may name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ColumnType {
    Int,
    Float,
    Bool,
    String,
}

/// The `csv` parser's settings, checked.
#[derive(Debug, Clone)]
pub struct CsvParser {
    options: CsvOptions,
    delimiter: u8,
    comment: Option<u8>,
    types: Vec<ColumnType>,
}

impl CsvParser {
    /// Checks the options: one-byte delimiter and comment, known types, a timestamp format
    /// with a timestamp column.
    pub fn new(options: &CsvOptions) -> Result<Self, String> {
        let one_byte = |option: &str, value: &str, default: Option<u8>| match value.as_bytes() {
            [] => Ok(default),
            [b] => Ok(Some(*b)),
            _ => Err(format!("{option} {value:?} must be a single character")),
        };
        let delimiter =
            one_byte("csv_delimiter", &options.csv_delimiter, Some(b','))?.unwrap_or(b',');
        let comment = one_byte("csv_comment", &options.csv_comment, None)?;
        let types = options
            .csv_column_types
            .iter()
            .map(|t| match t.as_str() {
                "int" => Ok(ColumnType::Int),
                "float" => Ok(ColumnType::Float),
                "bool" => Ok(ColumnType::Bool),
                "string" => Ok(ColumnType::String),
                other => Err(format!("csv_column_types: invalid type {other:?}")),
            })
            .collect::<Result<_, _>>()?;
        if !options.csv_timestamp_column.is_empty() && options.csv_timestamp_format.is_empty() {
            return Err("csv_timestamp_format must be given with csv_timestamp_column".into());
        }
        if options.csv_header_row_count == 0 && options.csv_column_names.is_empty() {
            return Err("csv_column_names or csv_header_row_count must be given".into());
        }
        Ok(CsvParser {
            options: options.clone(),
            delimiter,
            comment,
            types,
        })
    }

    /// Parses one document.
    pub fn parse(&self, body: &[u8], name: &str, now: i64) -> Result<Vec<Metric>, String> {
        let o = &self.options;
        let mut lines = body.split_inclusive(|b| *b == b'\n');
        for _ in 0..o.csv_skip_rows {
            lines.next();
        }
        let rest: Vec<u8> = lines.flatten().copied().collect();
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(self.delimiter)
            .comment(self.comment)
            .flexible(true)
            .trim(match o.csv_trim_space {
                true => ::csv::Trim::All,
                false => ::csv::Trim::None,
            })
            .from_reader(rest.as_slice());
        let mut records = reader.records();
        let mut names: Vec<String> = Vec::new();
        for _ in 0..o.csv_header_row_count {
            let Some(row) = records.next() else {
                return Ok(Vec::new());
            };
            let row = row.map_err(|e| format!("header: {e}"))?;
            for (i, cell) in row.iter().skip(o.csv_skip_columns).enumerate() {
                match names.get_mut(i) {
                    Some(name) => name.push_str(cell),
                    None => names.push(cell.to_string()),
                }
            }
        }
        for (i, given) in o.csv_column_names.iter().enumerate() {
            match names.get_mut(i) {
                Some(name) => *name = given.clone(),
                None => names.push(given.clone()),
            }
        }
        let mut out = Vec::new();
        for (n, record) in records.enumerate() {
            let row = o.csv_skip_rows + o.csv_header_row_count + n + 1;
            let result = record
                .map_err(|e| e.to_string())
                .and_then(|r| self.metric(&names, r.iter().skip(o.csv_skip_columns), name, now));
            match result {
                Ok(m) => out.push(m),
                Err(e) if o.csv_skip_errors => {
                    tracing::warn!("[parsers.csv] row {row} skipped: {e}")
                }
                Err(e) => return Err(format!("row {row}: {e}")),
            }
        }
        Ok(out)
    }

    fn metric<'a>(
        &self,
        names: &[String],
        cells: impl Iterator<Item = &'a str>,
        name: &str,
        now: i64,
    ) -> Result<Metric, String> {
        let o = &self.options;
        let mut m = Metric::new(name, now);
        let mut time_text = None;
        for (i, (column, value)) in names.iter().zip(cells).enumerate() {
            if o.csv_skip_values.iter().any(|v| v == value) {
                continue;
            }
            if o.csv_tag_columns.contains(column) {
                if o.csv_tag_overwrite || !m.tags.contains_key(column) {
                    m.tags.insert(column.clone(), value.to_string());
                }
                continue;
            }
            if *column == o.csv_timestamp_column {
                time_text = Some(value.to_string());
                continue;
            }
            if *column == o.csv_measurement_column {
                if !value.is_empty() {
                    m.name = value.to_string();
                }
                continue;
            }
            let typed = match self.types.get(i) {
                None if self.types.is_empty() => guess_value(value),
                None => return Err("column type: column count exceeded".into()),
                Some(t) => {
                    let bad = || format!("column type: cannot read {value:?} as {t:?}");
                    match t {
                        ColumnType::Int => FieldValue::Int(value.parse().map_err(|_| bad())?),
                        ColumnType::Float => {
                            FieldValue::Float(parse_go_float(value).ok_or_else(bad)?)
                        }
                        ColumnType::Bool => FieldValue::Bool(parse_go_bool(value).ok_or_else(bad)?),
                        ColumnType::String => FieldValue::Str(value.to_string()),
                    }
                }
            };
            m.add_field(column.clone(), typed);
        }
        if !o.csv_timestamp_column.is_empty() {
            let text = time_text.ok_or_else(|| {
                format!("timestamp column {:?} is missing", o.csv_timestamp_column)
            })?;
            m.time = crate::gotime::go_parse(&o.csv_timestamp_format, &text)?;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parser(toml_text: &str) -> CsvParser {
        CsvParser::new(&toml::from_str(toml_text).unwrap()).unwrap()
    }

    #[test]
    fn header_types_tags_measurement_and_time() {
        let p = parser(
            "csv_header_row_count = 1\ncsv_skip_rows = 1\ncsv_tag_columns = [\"host\"]\n\
             csv_measurement_column = \"kind\"\ncsv_timestamp_column = \"time\"\n\
             csv_timestamp_format = \"2006-01-02T15:04:05Z07:00\"\ncsv_skip_values = [\"-\"]\n\
             csv_comment = \"#\"",
        );
        let body = b"garbage first line\nhost,kind,time,load,up,note,free\n# a comment\n\
                     a,cpu,2023-11-14T22:13:20Z,1.5,true,ok,-\nb,,2023-11-14T22:13:21Z,2,false,,7\n";
        let ms = p.parse(body, "file", 9).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].name, "cpu");
        assert_eq!(ms[0].tags["host"], "a");
        assert_eq!(ms[0].time, 1_700_000_000_000_000_000);
        assert_eq!(ms[0].field("load"), Some(&FieldValue::Float(1.5)));
        assert_eq!(ms[0].field("up"), Some(&FieldValue::Bool(true)));
        assert_eq!(ms[0].field("note"), Some(&FieldValue::Str("ok".into())));
        assert_eq!(ms[0].field("free"), None);
        assert_eq!(ms[1].name, "file");
        assert_eq!(ms[1].field("load"), Some(&FieldValue::Int(2)));
        assert_eq!(ms[1].field("free"), Some(&FieldValue::Int(7)));
    }

    #[test]
    fn column_names_types_and_skipped_columns() {
        let p = parser(
            "csv_column_names = [\"a\", \"b\"]\ncsv_column_types = [\"float\", \"string\"]\n\
             csv_skip_columns = 1\ncsv_delimiter = \";\"\ncsv_trim_space = true",
        );
        let ms = p.parse(b"x; 1 ; 2\n", "m", 0).unwrap();
        assert_eq!(ms[0].field("a"), Some(&FieldValue::Float(1.0)));
        assert_eq!(ms[0].field("b"), Some(&FieldValue::Str("2".into())));
        let err = p.parse(b"x;nope;2\n", "m", 0).unwrap_err();
        assert!(err.starts_with("row 1: column type"), "{err}");
    }

    #[test]
    fn two_header_rows_join_and_bad_rows_can_be_skipped() {
        let p = parser(
            "csv_header_row_count = 2\ncsv_column_types = [\"int\"]\ncsv_skip_errors = true",
        );
        let ms = p.parse(b"disk\n_used\n5\nx\n6\n", "m", 0).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[1].field("disk_used"), Some(&FieldValue::Int(6)));
    }

    #[test]
    fn options_that_cannot_work_are_refused() {
        assert!(CsvParser::new(
            &toml::from_str("csv_delimiter = \"ab\"\ncsv_header_row_count = 1").unwrap()
        )
        .is_err());
        assert!(CsvParser::new(
            &toml::from_str("csv_header_row_count = 1\ncsv_timestamp_column = \"t\"").unwrap()
        )
        .is_err());
        assert!(CsvParser::new(&CsvOptions::default()).is_err());
    }

    proptest! {
        #[test]
        fn written_rows_read_back(rows in proptest::collection::vec((-1000i64..1000, "[a-z]{1,8}"), 1..10)) {
            let p = parser("csv_column_names = [\"n\", \"s\"]");
            let mut w = ::csv::Writer::from_writer(Vec::new());
            for (n, s) in &rows {
                w.write_record([n.to_string(), s.clone()]).unwrap();
            }
            let body = w.into_inner().unwrap();
            let ms = p.parse(&body, "m", 0).unwrap();
            prop_assert_eq!(ms.len(), rows.len());
            for (m, (n, s)) in ms.iter().zip(&rows) {
                prop_assert_eq!(m.field("n"), Some(&FieldValue::Int(*n)));
                // Words Go's ParseFloat or ParseBool take (as Telegraf's CSV parser does) are not text.
                let text = match s.as_str() {
                    "t" | "f" | "true" | "false" | "inf" | "infinity" | "nan" => None,
                    _ => Some(FieldValue::Str(s.clone())),
                };
                if let Some(text) = text {
                    prop_assert_eq!(m.field("s"), Some(&text));
                }
            }
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let p = parser("csv_header_row_count = 1");
            let _ = p.parse(&body, "m", 0);
        }
    }
}
