//! InfluxQL: lexer, parser and syntax tree that prints back to InfluxQL.
//!
//! # Layout
//! - [`lexer`]: text → tokens with line/character positions.
//! - [`parser`]: tokens → [`Statement`]s by recursive descent; errors read as InfluxDB's
//!   (`found X, expected Y at line 1, char N`).
//! - [`ast`]: the tree; `Display` writes valid InfluxQL, so print → parse is the identity.
//! - [`quote`]: names and values quoted so they read back as themselves.
//!
//! ```
//! use influxql::{parse_statement, Statement};
//! let s = parse_statement("select * from cpu where time > now() - 1h").unwrap();
//! assert!(matches!(s, Statement::Select(_)));
//! assert_eq!(s.to_string(), "SELECT * FROM cpu WHERE time > now() - 1h");
//! ```

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod quote;

pub use ast::{
    BinaryOp, CardinalityOf, Dimension, Expr, Field, Fill, Measurement, MeasurementName, Privilege,
    RetentionPolicyOptions, SelectStatement, ShowStatement, Statement, SubscriptionMode,
    TagKeyFilter, VarType,
};
pub use parser::{parse_statement, parse_statements, ParseError, MAX_DEPTH, MAX_SUBQUERY_DEPTH};
pub use quote::{escape_quoted, escape_regex, quote_ident, quote_string};
