//! What `information_schema` says of users and tables, as Telegraf reports it:
//! `gather_user_statistics` (`mysql_user_stats`, tag `user`, one field per column of
//! `USER_STATISTICS`, lower-cased, integers as integers and `BUSY_TIME`/`CPU_TIME` as floats),
//! `gather_info_schema_auto_inc` (`auto_increment_column` and `auto_increment_column_max` of
//! each auto-increment column, tags `schema`, `table`, `column`) and `gather_table_schema`
//! (rows, data, index and free sizes of each table, and its version with tags `type`,
//! `engine`, `row_format`, `create_options`; `metric_version = 1` names them `info_schema_…`).

use super::{cell_f64, cell_text, MysqlConfig};
use crate::metric::{FieldValue, Metric};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;

/// One metric per user of `information_schema.USER_STATISTICS`.
pub(super) async fn user_statistics(
    conn: &mut mysql_async::Conn,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SELECT * FROM information_schema.user_statistics")
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let user = cell_text(&row, 0).unwrap_or_default();
        let mut m = metric("mysql_user_stats").with_tag("user", user);
        for (i, column) in row.columns_ref().iter().enumerate().skip(1) {
            let Some(text) = cell_text(&row, i) else {
                continue;
            };
            if let Some(v) = by_column_type(text, column.column_type()) {
                m.add_field(column.name_str().to_lowercase(), v);
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// A cell as Go's driver scans it into Telegraf's typed variables: integer columns as
/// integers, floating and decimal ones as floats, the rest as text.
fn by_column_type(text: String, column: ColumnType) -> Option<FieldValue> {
    use ColumnType::*;
    match column {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG => text.parse().ok().map(FieldValue::Int),
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE | MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            text.parse().ok().map(FieldValue::Float)
        }
        _ => Some(FieldValue::Str(text)),
    }
}

/// Telegraf's query of the auto-increment columns and the largest value each type holds.
const AUTO_INC: &str = "SELECT table_schema, table_name, column_name, auto_increment, \
    CAST(pow(2, case data_type when 'tinyint' then 7 when 'smallint' then 15 \
    when 'mediumint' then 23 when 'int' then 31 when 'bigint' then 63 end \
    + (column_type like '% unsigned')) - 1 as decimal(19)) as max_int \
    FROM information_schema.tables t \
    JOIN information_schema.columns c USING (table_schema, table_name) \
    WHERE c.extra = 'auto_increment' AND t.auto_increment IS NOT NULL";

/// The next value and the largest possible value of every auto-increment column.
pub(super) async fn auto_increments(
    conn: &mut mysql_async::Conn,
    v1: bool,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let rows: Vec<mysql_async::Row> = conn.query(AUTO_INC).await?;
    let name = match v1 {
        true => "mysql_info_schema",
        false => "mysql_table_schema",
    };
    let uint = |row: &mysql_async::Row, i| {
        cell_text(row, i)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or_default()
    };
    Ok(rows
        .iter()
        .map(|row| {
            metric(name)
                .with_tag("schema", cell_text(row, 0).unwrap_or_default())
                .with_tag("table", cell_text(row, 1).unwrap_or_default())
                .with_tag("column", cell_text(row, 2).unwrap_or_default())
                .with_field("auto_increment_column", FieldValue::UInt(uint(row, 3)))
                .with_field("auto_increment_column_max", FieldValue::UInt(uint(row, 4)))
        })
        .collect())
}

/// The databases Telegraf reads tables of when none are listed: all but the system ones.
const USER_DATABASES: &str = "SELECT SCHEMA_NAME FROM information_schema.schemata \
    WHERE SCHEMA_NAME NOT IN ('mysql', 'performance_schema', 'information_schema')";

/// Telegraf's query of one database's tables (the database is a parameter here).
const TABLES: &str = "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, \
    ifnull(ENGINE, 'NONE') as ENGINE, ifnull(VERSION, '0') as VERSION, \
    ifnull(ROW_FORMAT, 'NONE') as ROW_FORMAT, ifnull(TABLE_ROWS, '0') as TABLE_ROWS, \
    ifnull(DATA_LENGTH, '0') as DATA_LENGTH, ifnull(INDEX_LENGTH, '0') as INDEX_LENGTH, \
    ifnull(DATA_FREE, '0') as DATA_FREE, ifnull(CREATE_OPTIONS, 'NONE') as CREATE_OPTIONS \
    FROM information_schema.tables WHERE TABLE_SCHEMA = ?";

/// Rows, sizes and version of every table of the listed (or every user) database.
pub(super) async fn tables(
    conn: &mut mysql_async::Conn,
    c: &MysqlConfig,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let databases: Vec<String> = match c.table_schema_databases.is_empty() {
        true => conn.query(USER_DATABASES).await?,
        false => c.table_schema_databases.clone(),
    };
    let v1 = c.metric_version < 2;
    let mut out = Vec::new();
    for database in databases {
        let rows: Vec<mysql_async::Row> = conn.exec(TABLES, (database,)).await?;
        for row in rows {
            let text = |i| cell_text(&row, i).unwrap_or_default();
            let table = metric("")
                .with_tag("schema", text(0))
                .with_tag("table", text(1));
            let named = |name: &str, tags: &Metric| {
                let mut m = tags.clone();
                m.name = name.to_string();
                m
            };
            let sizes = [
                ("rows", 6),
                ("data_length", 7),
                ("index_length", 8),
                ("data_free", 9),
            ];
            if v1 {
                out.push(
                    named("info_schema_table_rows", &table)
                        .with_field("value", FieldValue::Float(cell_f64(&row, 6))),
                );
                for (component, i) in &sizes[1..] {
                    out.push(
                        named(&format!("info_schema_table_size_{component}"), &table)
                            .with_tag("component", *component)
                            .with_field("value", FieldValue::Float(cell_f64(&row, *i))),
                    );
                }
            } else {
                let mut m = named("mysql_table_schema", &table);
                for (field, i) in sizes {
                    m.add_field(field, FieldValue::Float(cell_f64(&row, i)));
                }
                out.push(m);
            }
            let version = FieldValue::Float(cell_f64(&row, 4));
            let (name, field) = match v1 {
                true => ("info_schema_table_version", "value"),
                false => ("mysql_table_schema_version", "table_version"),
            };
            out.push(
                named(name, &table)
                    .with_tag("type", text(2))
                    .with_tag("engine", text(3))
                    .with_tag("row_format", text(5))
                    .with_tag("create_options", text(10))
                    .with_field(field, version),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_statistics_typed_as_telegrafs_scan() {
        assert_eq!(
            by_column_type("7".into(), ColumnType::MYSQL_TYPE_LONGLONG),
            Some(FieldValue::Int(7))
        );
        assert_eq!(
            by_column_type("0.25".into(), ColumnType::MYSQL_TYPE_DOUBLE),
            Some(FieldValue::Float(0.25))
        );
        assert_eq!(
            by_column_type("x".into(), ColumnType::MYSQL_TYPE_VAR_STRING),
            Some(FieldValue::Str("x".into()))
        );
        assert_eq!(
            by_column_type("x".into(), ColumnType::MYSQL_TYPE_LONG),
            None
        );
    }
}
