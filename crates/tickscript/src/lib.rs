//! TICKscript, the language of Kapacitor tasks: a lexer ([`lexer`]), a parser ([`parser`])
//! and the syntax tree ([`ast`]) that prints back to TICKscript. Meaning (which nodes exist,
//! which properties they take) belongs to the engine; this crate knows only the syntax.
//!
//! ```
//! let script = "dbrp \"telegraf\".\"autogen\"\n\nstream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: \"usage_idle\" < 10)\n";
//! let program = tickscript::parse(script).unwrap();
//! let again = tickscript::parse(&program.to_string()).unwrap();
//! assert_eq!(again.without_positions(), program.without_positions());
//! ```

pub mod ast;
pub mod lexer;
pub mod parser;

pub use ast::{
    quote_reference, quote_string, BinaryOp, ChainOp, Expr, Program, QuoteError, Statement, UnaryOp,
};
pub use lexer::Pos;
pub use parser::{parse, ParseError, MAX_DEPTH};
