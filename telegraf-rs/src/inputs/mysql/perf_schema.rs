//! The `performance_schema` gatherers, with Telegraf's measurement (`mysql_perf_schema`,
//! `mysql_perf_acc_event`), tags and field names; counts and times are floats as Telegraf
//! scans them, times in seconds (the schema keeps picoseconds). A cell that is NULL counts 0.
//! `gather_table_lock_waits` is skipped when the server has no such table
//! (`performance_schema` off).

use super::{cell_f64, cell_text, MysqlConfig};
use crate::metric::{FieldValue, Metric};
use mysql_async::prelude::Queryable;
use mysql_async::Row;

/// Picoseconds in a second.
const PICO: f64 = 1e12;

/// The insert, update and delete operations the I/O wait tables count, after fetch.
const IO_OPERATIONS: [&str; 4] = ["fetch", "insert", "update", "delete"];

/// Text of cell `i` (empty for NULL).
fn text(row: &Row, i: usize) -> String {
    cell_text(row, i).unwrap_or_default()
}

/// Cell `i` as a float field.
fn float(row: &Row, i: usize) -> FieldValue {
    FieldValue::Float(cell_f64(row, i))
}

/// Cell `i`, in picoseconds, as seconds.
fn seconds(row: &Row, i: usize) -> FieldValue {
    FieldValue::Float(cell_f64(row, i) / PICO)
}

/// I/O waits per table: `table_io_waits_total_<op>` and `table_io_waits_seconds_total_<op>`.
pub(super) async fn table_io_waits(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT OBJECT_SCHEMA, OBJECT_NAME, COUNT_FETCH, COUNT_INSERT, COUNT_UPDATE, \
             COUNT_DELETE, SUM_TIMER_FETCH, SUM_TIMER_INSERT, SUM_TIMER_UPDATE, SUM_TIMER_DELETE \
             FROM performance_schema.table_io_waits_summary_by_table \
             WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema')",
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut m = metric("mysql_perf_schema")
                .with_tag("schema", text(row, 0))
                .with_tag("name", text(row, 1));
            for (i, op) in IO_OPERATIONS.iter().enumerate() {
                m.add_field(format!("table_io_waits_total_{op}"), float(row, 2 + i));
                m.add_field(
                    format!("table_io_waits_seconds_total_{op}"),
                    seconds(row, 6 + i),
                );
            }
            m
        })
        .collect())
}

/// I/O waits per index (tag `index`, `NONE` for rows read without one, which alone carry the
/// insert, update and delete counts).
pub(super) async fn index_io_waits(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT OBJECT_SCHEMA, OBJECT_NAME, ifnull(INDEX_NAME, 'NONE') as INDEX_NAME, \
             COUNT_FETCH, COUNT_INSERT, COUNT_UPDATE, COUNT_DELETE, \
             SUM_TIMER_FETCH, SUM_TIMER_INSERT, SUM_TIMER_UPDATE, SUM_TIMER_DELETE \
             FROM performance_schema.table_io_waits_summary_by_index_usage \
             WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema')",
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let index = text(row, 2);
            let ops = match index == "NONE" {
                true => &IO_OPERATIONS[..],
                false => &IO_OPERATIONS[..1],
            };
            let mut m = metric("mysql_perf_schema")
                .with_tag("schema", text(row, 0))
                .with_tag("name", text(row, 1))
                .with_tag("index", index.clone());
            for (i, op) in ops.iter().enumerate() {
                m.add_field(format!("index_io_waits_total_{op}"), float(row, 3 + i));
                m.add_field(
                    format!("index_io_waits_seconds_total_{op}"),
                    seconds(row, 7 + i),
                );
            }
            m
        })
        .collect())
}

/// The SQL lock kinds of `table_lock_waits_summary_by_table`, in its column order.
const SQL_LOCKS: [&str; 8] = [
    "read_normal",
    "read_with_shared_locks",
    "read_high_priority",
    "read_no_insert",
    "write_allow_write",
    "write_concurrent_insert",
    "write_low_priority",
    "write_normal",
];

/// Lock waits per table, as four metrics told apart by tag `perf_query`: SQL and external
/// lock waits, counted and in seconds.
pub(super) async fn table_lock_waits(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let exists: Option<String> = conn
        .exec_first(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = 'performance_schema' AND table_name = ?",
            ("table_lock_waits_summary_by_table",),
        )
        .await?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let columns = |prefix: &str| {
        SQL_LOCKS
            .iter()
            .chain(&["read_external", "write_external"])
            .map(|k| format!("{prefix}_{}", k.to_uppercase()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let query = format!(
        "SELECT OBJECT_SCHEMA, OBJECT_NAME, {}, {} \
         FROM performance_schema.table_lock_waits_summary_by_table \
         WHERE OBJECT_SCHEMA NOT IN ('mysql', 'performance_schema', 'information_schema')",
        columns("COUNT"),
        columns("SUM_TIMER")
    );
    let rows: Vec<Row> = conn.query(query).await?;
    let mut out = Vec::new();
    for row in &rows {
        let table = |perf_query: &str| {
            metric("mysql_perf_schema")
                .with_tag("schema", text(row, 0))
                .with_tag("table", text(row, 1))
                .with_tag("perf_query", perf_query)
        };
        // Columns: 2..10 SQL counts, 10..12 external counts, 12..20 SQL times, 20..22
        // external times.
        for (perf_query, first, value) in [
            (
                "sql_lock_waits_total",
                2,
                float as fn(&Row, usize) -> FieldValue,
            ),
            ("sql_lock_waits_seconds_total", 12, seconds),
        ] {
            let mut m = table(perf_query);
            for (i, kind) in SQL_LOCKS.iter().enumerate() {
                m.add_field(*kind, value(row, first + i));
            }
            out.push(m);
        }
        for (perf_query, first, value) in [
            (
                "external_lock_waits_total",
                10,
                float as fn(&Row, usize) -> FieldValue,
            ),
            ("external_lock_waits_seconds_total", 20, seconds),
        ] {
            out.push(
                table(perf_query)
                    .with_field("read", value(row, first))
                    .with_field("write", value(row, first + 1)),
            );
        }
    }
    Ok(out)
}

/// Waits per event (tag `event_name`): `events_waits_total`, `events_waits_seconds_total`.
pub(super) async fn event_waits(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT EVENT_NAME, COUNT_STAR, SUM_TIMER_WAIT \
             FROM performance_schema.events_waits_summary_global_by_event_name",
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            metric("mysql_perf_schema")
                .with_tag("event_name", text(row, 0))
                .with_field("events_waits_total", float(row, 1))
                .with_field("events_waits_seconds_total", seconds(row, 2))
        })
        .collect())
}

/// File I/O per event, as three metrics told apart by tag `mode` (`misc`, `read`, `write`):
/// `file_events_total`, `file_events_seconds_total`, and for reads and writes
/// `file_events_bytes_totals`.
pub(super) async fn file_events(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT EVENT_NAME, COUNT_READ, SUM_TIMER_READ, SUM_NUMBER_OF_BYTES_READ, \
             COUNT_WRITE, SUM_TIMER_WRITE, SUM_NUMBER_OF_BYTES_WRITE, COUNT_MISC, SUM_TIMER_MISC \
             FROM performance_schema.file_summary_by_event_name",
        )
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let event = |mode: &str, count: usize, time: usize| {
            metric("mysql_perf_schema")
                .with_tag("event_name", text(row, 0))
                .with_tag("mode", mode)
                .with_field("file_events_total", float(row, count))
                .with_field("file_events_seconds_total", seconds(row, time))
        };
        out.push(event("misc", 7, 8));
        out.push(event("read", 1, 2).with_field("file_events_bytes_totals", float(row, 3)));
        out.push(event("write", 4, 5).with_field("file_events_bytes_totals", float(row, 6)));
    }
    Ok(out)
}

/// The statement columns of `events_statements_summary_by_digest` after the digest, and the
/// field each becomes (`SUM_TIMER_WAIT` in seconds).
const STATEMENT_FIELDS: [(&str, &str); 12] = [
    ("COUNT_STAR", "events_statements_total"),
    ("SUM_TIMER_WAIT", "events_statements_seconds_total"),
    ("SUM_ERRORS", "events_statements_errors_total"),
    ("SUM_WARNINGS", "events_statements_warnings_total"),
    ("SUM_ROWS_AFFECTED", "events_statements_rows_affected_total"),
    ("SUM_ROWS_SENT", "events_statements_rows_sent_total"),
    ("SUM_ROWS_EXAMINED", "events_statements_rows_examined_total"),
    (
        "SUM_CREATED_TMP_TABLES",
        "events_statements_tmp_tables_total",
    ),
    (
        "SUM_CREATED_TMP_DISK_TABLES",
        "events_statements_tmp_disk_tables_total",
    ),
    (
        "SUM_SORT_MERGE_PASSES",
        "events_statements_sort_merge_passes_total",
    ),
    ("SUM_SORT_ROWS", "events_statements_sort_rows_total"),
    ("SUM_NO_INDEX_USED", "events_statements_no_index_used_total"),
];

/// The slowest statement digests seen lately (tags `schema`, `digest`, `digest_text`), within
/// the `perf_events_statements_*` limits.
pub(super) async fn events_statements(
    conn: &mut mysql_async::Conn,
    c: &MysqlConfig,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let columns: Vec<&str> = STATEMENT_FIELDS.iter().map(|(c, _)| *c).collect();
    let query = format!(
        "SELECT ifnull(SCHEMA_NAME, 'NONE') as SCHEMA_NAME, DIGEST, \
         LEFT(DIGEST_TEXT, {}) as DIGEST_TEXT, {} \
         FROM performance_schema.events_statements_summary_by_digest \
         WHERE SCHEMA_NAME NOT IN ('mysql', 'performance_schema', 'information_schema') \
         AND last_seen > DATE_SUB(NOW(), INTERVAL {} SECOND) \
         ORDER BY SUM_TIMER_WAIT DESC LIMIT {}",
        c.perf_events_statements_digest_text_limit,
        columns.join(", "),
        c.perf_events_statements_time_limit,
        c.perf_events_statements_limit
    );
    let rows: Vec<Row> = conn.query(query).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut m = metric("mysql_perf_schema")
                .with_tag("schema", text(row, 0))
                .with_tag("digest", text(row, 1))
                .with_tag("digest_text", text(row, 2));
            for (i, (column, field)) in STATEMENT_FIELDS.iter().enumerate() {
                let value = match *column == "SUM_TIMER_WAIT" {
                    true => seconds(row, 3 + i),
                    false => float(row, 3 + i),
                };
                m.add_field(*field, value);
            }
            m
        })
        .collect())
}

/// The columns of `events_statements_summary_by_account_by_event_name` Telegraf reports, each
/// a field of its own name.
const ACCOUNT_EVENT_FIELDS: [&str; 24] = [
    "count_star",
    "sum_timer_wait",
    "min_timer_wait",
    "avg_timer_wait",
    "max_timer_wait",
    "sum_lock_time",
    "sum_errors",
    "sum_warnings",
    "sum_rows_affected",
    "sum_rows_sent",
    "sum_rows_examined",
    "sum_created_tmp_disk_tables",
    "sum_created_tmp_tables",
    "sum_select_full_join",
    "sum_select_full_range_join",
    "sum_select_range",
    "sum_select_range_check",
    "sum_select_scan",
    "sum_sort_merge_passes",
    "sum_sort_range",
    "sum_sort_rows",
    "sum_sort_scan",
    "sum_no_index_used",
    "sum_no_good_index_used",
];

/// Statement totals per account and event (`mysql_perf_acc_event`, tags `src_user`,
/// `src_host`, `event`), only for `perf_summary_events` when it lists any; times stay in
/// picoseconds, as Telegraf leaves them.
pub(super) async fn per_account_per_event(
    conn: &mut mysql_async::Conn,
    c: &MysqlConfig,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let mut query = format!(
        "SELECT coalesce(user, 'unknown'), coalesce(host, 'unknown'), \
         coalesce(event_name, 'unknown'), {} \
         FROM performance_schema.events_statements_summary_by_account_by_event_name",
        ACCOUNT_EVENT_FIELDS.join(", ")
    );
    let rows: Vec<Row> = match c.perf_summary_events.is_empty() {
        true => conn.query(query).await?,
        false => {
            let marks = vec!["?"; c.perf_summary_events.len()].join(", ");
            query.push_str(&format!(" WHERE EVENT_NAME IN ({marks})"));
            let params: Vec<mysql_async::Value> = c
                .perf_summary_events
                .iter()
                .map(|e| e.as_str().into())
                .collect();
            conn.exec(query, params).await?
        }
    };
    Ok(rows
        .iter()
        .map(|row| {
            let mut m = metric("mysql_perf_acc_event")
                .with_tag("src_user", text(row, 0).to_lowercase())
                .with_tag("src_host", text(row, 1).to_lowercase())
                .with_tag("event", text(row, 2));
            for (i, field) in ACCOUNT_EVENT_FIELDS.iter().enumerate() {
                m.add_field(*field, float(row, 3 + i));
            }
            m
        })
        .collect())
}
