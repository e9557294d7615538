//! What a container's start sets up from its environment, as the InfluxDB image's
//! `INFLUXDB_ADMIN_USER`, `INFLUXDB_WRITE_USER`, … and init files do: the admin, users with
//! only the privileges they need (the agent writes, the alerting engine and the dashboard read),
//! and statements such as a subscription. The result is a list of InfluxQL statements, written
//! with the `influxql` crate's quoting, that the daemon runs as the system: on one node
//! directly, on a cluster through its log, so every node has them.
//!
//! - `INFLUX_RS_ADMIN_USER` / `INFLUX_RS_ADMIN_PASSWORD`: an admin.
//! - `INFLUX_RS_USERS_<i>_NAME` / `_PASSWORD` / `_GRANTS` (`i` from 0, without gaps): a user
//!   that is not an admin, granted `db=READ|WRITE|ALL` for each comma-separated item of
//!   `_GRANTS`; each database granted is created when missing (as the image's `INFLUXDB_DB`).
//!   A user whose name or password is empty is left out (compose passes every variable, set
//!   or not).
//! - `INFLUX_RS_INIT_STATEMENTS`: InfluxQL statements separated by `;`, run at every start;
//!   what they create is expected to exist already after the first.
//!
//! A user that exists already is left as it is: its password and grants are the admin's to
//! change from then on.

use crate::meta::Catalog;
use influxql::{quote_ident, quote_string};

/// The most `INFLUX_RS_USERS_<i>_*` users read (a bound on the scan, far above any use).
pub const MAX_USERS: usize = 100;

/// A variable that cannot be used, named.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The variable's value is wrong; the text says why.
    #[error("{variable}: {reason}")]
    Invalid {
        /// The environment variable.
        variable: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(variable: &str, reason: impl Into<String>) -> BootstrapError {
    BootstrapError::Invalid {
        variable: variable.into(),
        reason: reason.into(),
    }
}

/// The statements `env` asks for, given what `catalog` holds already.
pub fn statements(
    env: impl Fn(&str) -> Option<String>,
    catalog: &Catalog,
) -> Result<Vec<String>, BootstrapError> {
    let mut out = Vec::new();
    let exists = |name: &str| catalog.users.contains_key(name);
    if let (Some(user), Some(password)) =
        (env("INFLUX_RS_ADMIN_USER"), env("INFLUX_RS_ADMIN_PASSWORD"))
    {
        if !user.is_empty() && !exists(&user) {
            if password.is_empty() {
                return Err(invalid(
                    "INFLUX_RS_ADMIN_PASSWORD",
                    "empty: an admin needs a password",
                ));
            }
            out.push(format!(
                "CREATE USER {} WITH PASSWORD {} WITH ALL PRIVILEGES",
                quote_ident(&user),
                quote_string(&password)
            ));
        }
    }
    for i in 0..MAX_USERS {
        let var = |field: &str| format!("INFLUX_RS_USERS_{i}_{field}");
        let Some(name) = env(&var("NAME")) else {
            break;
        };
        let password = env(&var("PASSWORD")).unwrap_or_default();
        let grants = parse_grants(&var("GRANTS"), &env(&var("GRANTS")).unwrap_or_default())?;
        if name.is_empty() || password.is_empty() || exists(&name) {
            continue;
        }
        for (db, _) in &grants {
            out.push(format!("CREATE DATABASE {}", quote_ident(db)));
        }
        out.push(format!(
            "CREATE USER {} WITH PASSWORD {}",
            quote_ident(&name),
            quote_string(&password)
        ));
        for (db, privilege) in &grants {
            out.push(format!(
                "GRANT {privilege} ON {} TO {}",
                quote_ident(db),
                quote_ident(&name)
            ));
        }
    }
    if let Some(text) = env("INFLUX_RS_INIT_STATEMENTS").filter(|t| !t.trim().is_empty()) {
        let parsed = influxql::parse_statements(&text)
            .map_err(|e| invalid("INFLUX_RS_INIT_STATEMENTS", e.to_string()))?;
        out.extend(parsed.iter().map(ToString::to_string));
    }
    Ok(out)
}

/// `db=READ,db2=WRITE` → `[(db, READ), (db2, WRITE)]`.
fn parse_grants(variable: &str, text: &str) -> Result<Vec<(String, &'static str)>, BootstrapError> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (db, privilege) = item.split_once('=').ok_or_else(|| {
                invalid(
                    variable,
                    format!("{item:?}: expected database=READ|WRITE|ALL"),
                )
            })?;
            let privilege = match privilege.trim().to_ascii_uppercase().as_str() {
                "READ" => "READ",
                "WRITE" => "WRITE",
                "ALL" => "ALL",
                other => {
                    return Err(invalid(
                        variable,
                        format!("{other:?} is not a privilege (READ, WRITE or ALL)"),
                    ))
                }
            };
            let db = db.trim();
            if db.is_empty() {
                return Err(invalid(variable, format!("{item:?}: no database named")));
            }
            Ok((db.to_string(), privilege))
        })
        .collect()
}

/// Whether a bootstrap statement's error only says that what it creates is there already.
pub fn already_done(error: &str) -> bool {
    error.contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(vars: &[(&str, &str)], catalog: &Catalog) -> Result<Vec<String>, BootstrapError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        statements(|k| vars.get(k).cloned(), catalog)
    }

    #[test]
    fn users_get_their_grants_and_databases_quoted() {
        let got = run(
            &[
                ("INFLUX_RS_ADMIN_USER", "root"),
                ("INFLUX_RS_ADMIN_PASSWORD", "it's"),
                ("INFLUX_RS_USERS_0_NAME", "agent"),
                ("INFLUX_RS_USERS_0_PASSWORD", "a\\b'c"),
                ("INFLUX_RS_USERS_0_GRANTS", "telegraf=write"),
                ("INFLUX_RS_USERS_1_NAME", "dash board"),
                ("INFLUX_RS_USERS_1_PASSWORD", "p"),
                (
                    "INFLUX_RS_USERS_1_GRANTS",
                    " telegraf = READ , chrono\"graf=READ",
                ),
                ("INFLUX_RS_USERS_3_NAME", "after a gap: not read"),
                ("INFLUX_RS_USERS_3_PASSWORD", "p"),
            ],
            &Catalog::default(),
        )
        .unwrap();
        assert_eq!(
            got,
            [
                r#"CREATE USER "root" WITH PASSWORD 'it\'s' WITH ALL PRIVILEGES"#,
                r#"CREATE DATABASE "telegraf""#,
                r#"CREATE USER "agent" WITH PASSWORD 'a\\b\'c'"#,
                r#"GRANT WRITE ON "telegraf" TO "agent""#,
                r#"CREATE DATABASE "telegraf""#,
                r#"CREATE DATABASE "chrono\"graf""#,
                r#"CREATE USER "dash board" WITH PASSWORD 'p'"#,
                r#"GRANT READ ON "telegraf" TO "dash board""#,
                r#"GRANT READ ON "chrono\"graf" TO "dash board""#,
            ]
        );
        // Each statement reads back as what it was written from.
        for s in &got {
            influxql::parse_statement(s).unwrap();
        }
    }

    #[test]
    fn empty_and_existing_users_are_left_out() {
        let mut catalog = Catalog::default();
        catalog
            .create_user("agent", "x", String::new(), false)
            .unwrap();
        let got = run(
            &[
                ("INFLUX_RS_ADMIN_USER", ""),
                ("INFLUX_RS_ADMIN_PASSWORD", ""),
                ("INFLUX_RS_USERS_0_NAME", "agent"),
                ("INFLUX_RS_USERS_0_PASSWORD", "p"),
                ("INFLUX_RS_USERS_0_GRANTS", "telegraf=WRITE"),
                ("INFLUX_RS_USERS_1_NAME", "kapacitor"),
                ("INFLUX_RS_USERS_1_PASSWORD", ""),
                ("INFLUX_RS_USERS_1_GRANTS", "telegraf=READ"),
            ],
            &catalog,
        )
        .unwrap();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn wrong_values_are_refused_naming_the_variable() {
        let cases: [&[(&str, &str)]; 4] = [
            &[
                ("INFLUX_RS_ADMIN_USER", "root"),
                ("INFLUX_RS_ADMIN_PASSWORD", ""),
            ],
            &[
                ("INFLUX_RS_USERS_0_NAME", "u"),
                ("INFLUX_RS_USERS_0_GRANTS", "telegraf=OWN"),
            ],
            &[
                ("INFLUX_RS_USERS_0_NAME", "u"),
                ("INFLUX_RS_USERS_0_GRANTS", "telegraf"),
            ],
            &[("INFLUX_RS_INIT_STATEMENTS", "CREATE DATABSE x")],
        ];
        for (vars, variable) in cases.iter().zip([
            "INFLUX_RS_ADMIN_PASSWORD",
            "INFLUX_RS_USERS_0_GRANTS",
            "INFLUX_RS_USERS_0_GRANTS",
            "INFLUX_RS_INIT_STATEMENTS",
        ]) {
            let e = run(vars, &Catalog::default()).unwrap_err().to_string();
            assert!(e.starts_with(variable), "{e}");
        }
    }

    #[test]
    fn init_statements_are_each_rewritten_whole() {
        let got = run(
            &[(
                "INFLUX_RS_INIT_STATEMENTS",
                "CREATE DATABASE telegraf; CREATE SUBSCRIPTION \"k\" ON telegraf.autogen DESTINATIONS ALL 'http://kapacitor:9092'",
            )],
            &Catalog::default(),
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert!(
            got[1].starts_with("CREATE SUBSCRIPTION k ON telegraf.autogen"),
            "{got:?}"
        );
    }
}
