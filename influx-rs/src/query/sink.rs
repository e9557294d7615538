//! Where results go as statements make them. A plain answer collects them into a
//! [`QueryResponse`]; a `chunked` answer ([`super::chunked::LineWriter`]) cuts them into lines and
//! sends each as soon as it is full, so that a `SELECT` returning millions of rows holds a few
//! thousand of them at a time.

use super::running::Interrupt;
use super::{QueryError, QueryResponse, Series, StatementResult};

/// Takes the series of one statement's result, in order, possibly a piece at a time.
pub trait SeriesSink {
    /// Rows of the statement's result: `piece` starts a new series when `starts`, otherwise
    /// its rows continue the series of the previous piece (its name, tags and columns are
    /// those of that series). An error stops the statement (the client went away).
    fn series(&mut self, piece: Series, starts: bool) -> Result<(), QueryError>;

    /// How many rows a statement should gather before it hands them on: `None` when it may
    /// read everything at once (the answer is held whole anyway).
    fn rows_per_read(&self) -> Option<usize> {
        None
    }
}

/// Takes the results of a query's statements, one statement after the other.
pub trait ResultSink: SeriesSink {
    /// Statement `statement_id` starts; its series follow.
    fn start(&mut self, statement_id: usize);

    /// The statement ends, with its error if it failed.
    fn end(&mut self, statement_id: usize, error: Option<String>);
}

/// A statement's series, whole.
impl SeriesSink for Vec<Series> {
    fn series(&mut self, mut piece: Series, starts: bool) -> Result<(), QueryError> {
        match self.last_mut() {
            Some(last) if !starts => last.values.append(&mut piece.values),
            _ => self.push(piece),
        }
        Ok(())
    }
}

/// The answer of a plain (not chunked) query.
impl SeriesSink for QueryResponse {
    fn series(&mut self, piece: Series, starts: bool) -> Result<(), QueryError> {
        match self.results.last_mut() {
            Some(result) => result.series.series(piece, starts),
            None => Ok(()),
        }
    }
}

impl ResultSink for QueryResponse {
    fn start(&mut self, statement_id: usize) {
        self.results.push(StatementResult {
            statement_id,
            ..Default::default()
        });
    }

    /// A failed statement shows its error alone, as in InfluxDB.
    fn end(&mut self, _: usize, error: Option<String>) {
        if let (Some(result), Some(error)) = (self.results.last_mut(), error) {
            result.series.clear();
            result.error = Some(error);
        }
    }
}

/// How many rows a `SELECT` answered whole reads at a time, so that the
/// `query-memory-limit` stops it after a bounded piece instead of after reading everything.
pub const HELD_ROWS_PER_READ: usize = 100_000;

/// An answer held whole (a plain, not chunked, answer, or a subquery's rows), charging the rows it keeps to the
/// query's `query-memory-limit` ([`Interrupt::charge_rows`]) before keeping them: a `SELECT`
/// of more rows than fit ends with the limit's error instead of taking the machine's memory.
pub struct Held<'a, S: ?Sized> {
    answer: &'a mut S,
    interrupt: Interrupt,
}

impl<'a, S: SeriesSink + ?Sized> Held<'a, S> {
    /// `answer`, charged to `interrupt`'s limits.
    pub fn new(answer: &'a mut S, interrupt: Interrupt) -> Held<'a, S> {
        Held { answer, interrupt }
    }
}

impl<S: SeriesSink + ?Sized> SeriesSink for Held<'_, S> {
    fn series(&mut self, piece: Series, starts: bool) -> Result<(), QueryError> {
        self.interrupt
            .charge_rows(piece.values.len() as u64, piece.columns.len() as u64)?;
        self.answer.series(piece, starts)
    }

    fn rows_per_read(&self) -> Option<usize> {
        Some(HELD_ROWS_PER_READ)
    }
}

impl<S: ResultSink + ?Sized> ResultSink for Held<'_, S> {
    fn start(&mut self, statement_id: usize) {
        self.answer.start(statement_id)
    }

    fn end(&mut self, statement_id: usize, error: Option<String>) {
        self.answer.end(statement_id, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(rows: &[i64]) -> Series {
        Series {
            name: Some("m".into()),
            tags: None,
            columns: vec!["time".into()],
            values: rows.iter().map(|&t| vec![t.into()]).collect(),
        }
    }

    #[test]
    fn pieces_continue_their_series() -> Result<(), QueryError> {
        let mut all: Vec<Series> = Vec::new();
        all.series(piece(&[1, 2]), true)?;
        all.series(piece(&[3]), false)?;
        all.series(piece(&[4]), true)?;
        assert_eq!(all, vec![piece(&[1, 2, 3]), piece(&[4])]);
        Ok(())
    }

    #[test]
    fn a_failed_statement_keeps_only_its_error() -> Result<(), QueryError> {
        let mut response = QueryResponse::default();
        response.start(0);
        response.series(piece(&[1]), true)?;
        response.end(0, Some("boom".into()));
        response.start(1);
        response.series(piece(&[2]), true)?;
        response.end(1, None);
        assert_eq!(response.results[0].error.as_deref(), Some("boom"));
        assert!(response.results[0].series.is_empty());
        assert_eq!(response.results[1].series, vec![piece(&[2])]);
        Ok(())
    }
}
