//! `gather_slave_status`: `SHOW SLAVE STATUS` (MariaDB's `SHOW ALL SLAVES STATUS` with
//! `mariadb_dialect`) as fields `slave_<column>` of `mysql` — column names lower-cased with
//! `metric_version = 2` — typed by the column's SQL type as Telegraf types them: `INT`
//! signed, `BIGINT` unsigned, `VARCHAR` text, others as values are converted elsewhere (`Yes`
//! 1, `No` 0, numbers, text); empty cells are left out. Only the first channel, unless
//! `gather_all_slave_channels` (then one metric per channel, tag `channel`, `default` for the
//! unnamed one).

use super::{cell_text, convert, variable_v1, MysqlConfig};
use crate::metric::{FieldValue, Metric};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;

/// The replication status of each channel the options ask for.
pub(super) async fn slave_status(
    conn: &mut mysql_async::Conn,
    c: &MysqlConfig,
    metric: &(dyn Fn(&str) -> Metric + Sync),
) -> Result<Vec<Metric>, mysql_async::Error> {
    let query = match c.mariadb_dialect {
        true => "SHOW ALL SLAVES STATUS",
        false => "SHOW SLAVE STATUS",
    };
    let rows: Vec<mysql_async::Row> = conn.query(query).await?;
    let v1 = c.metric_version < 2;
    let mut out = Vec::new();
    for row in rows {
        let mut m = metric("mysql");
        for (i, column) in row.columns_ref().iter().enumerate() {
            let name = match v1 {
                true => column.name_str().into_owned(),
                false => column.name_str().to_lowercase(),
            };
            let text = cell_text(&row, i).unwrap_or_default();
            let channel = name.eq_ignore_ascii_case("channel_name")
                || name.eq_ignore_ascii_case("connection_name");
            if c.gather_all_slave_channels && channel {
                let channel = match text.is_empty() {
                    true => "default".to_string(),
                    false => text,
                };
                m.tags.insert("channel".into(), channel);
                continue;
            }
            if text.is_empty() {
                continue;
            }
            let value = match v1 {
                true => variable_v1(&text),
                false => typed(&text, column.column_type()),
            };
            if let Some(v) = value {
                m.add_field(format!("slave_{name}"), v);
            }
        }
        out.push(m);
        if !c.gather_all_slave_channels {
            break;
        }
    }
    Ok(out)
}

/// A status cell as Telegraf's `metric_version = 2` types it by the column's SQL type.
fn typed(text: &str, column: ColumnType) -> Option<FieldValue> {
    match column {
        ColumnType::MYSQL_TYPE_LONG => text.parse().ok().map(FieldValue::Int),
        ColumnType::MYSQL_TYPE_LONGLONG => text.parse().ok().map(FieldValue::UInt),
        ColumnType::MYSQL_TYPE_VARCHAR | ColumnType::MYSQL_TYPE_VAR_STRING => {
            Some(FieldValue::Str(text.to_string()))
        }
        _ => convert("", text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_typed_by_their_sql_type() {
        assert_eq!(
            typed("-3", ColumnType::MYSQL_TYPE_LONG),
            Some(FieldValue::Int(-3))
        );
        assert_eq!(
            typed("3306", ColumnType::MYSQL_TYPE_LONGLONG),
            Some(FieldValue::UInt(3306))
        );
        assert_eq!(
            typed("No", ColumnType::MYSQL_TYPE_VAR_STRING),
            Some(FieldValue::Str("No".into()))
        );
        assert_eq!(
            typed("Yes", ColumnType::MYSQL_TYPE_STRING),
            Some(FieldValue::Int(1))
        );
        assert_eq!(typed("x", ColumnType::MYSQL_TYPE_LONGLONG), None);
    }
}
