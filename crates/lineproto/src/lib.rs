//! InfluxDB line protocol: a zero-copy parser over `&[u8]` and a serializer that writes exactly
//! what the parser reads.
//!
//! # Layout
//! - [`parse`]: splits a request body into lines and each line into a [`Line`] that borrows from
//!   the input. Errors carry the line number, the column and InfluxDB's own wording.
//! - [`escape`]: the escaping rules per element (measurement, tag key/value, field key, string
//!   value) and the borrowed [`EscapedStr`] that unescapes lazily.
//! - [`write`](mod@write): [`LineWriter`] appends correctly escaped lines to a buffer.
//! - [`series_key`]: the canonical `measurement,k=v` key of a series, built and split.
//! - [`precision`]: timestamp units of the `precision` request parameter and scaling to ns.
//!
//! Data flows body → [`parse_lines`] → [`Line`] (borrowed) → the caller, which turns values into
//! its own types. Nothing here allocates per byte; tags and fields live in small inline vectors.
//!
//! ```
//! use lineproto::{parse_lines, FieldValue};
//!
//! let body = b"cpu,host=a usage=0.5,count=3i 1000\n# a comment\n";
//! let lines: Vec<_> = parse_lines(body).collect::<Result<_, _>>().unwrap();
//! assert_eq!(lines.len(), 1);
//! assert_eq!(lines[0].measurement.as_str(), "cpu");
//! assert_eq!(lines[0].fields[1].1, FieldValue::Integer(3));
//! assert_eq!(lines[0].timestamp, Some(1000));
//! ```

pub mod escape;
pub mod parse;
pub mod precision;
pub mod series_key;
pub mod write;

pub use escape::EscapedStr;
pub use parse::{parse_lines, FieldValue, Line, Lines, ParseError, ParseErrorKind};
pub use precision::{Precision, PrecisionError, MAX_NANOS, MIN_NANOS};
pub use write::{LineWriter, Value, WriteError};
