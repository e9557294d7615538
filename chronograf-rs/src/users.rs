//! The admin page's users: the store's users with their admin flag and grants, and the
//! InfluxQL statements that create, drop, re-password, grant and revoke (names quoted, passwords
//! escaped — nothing from the form reaches the store unquoted).

use serde::{Deserialize, Serialize};

/// A user of the store as the admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// User name.
    pub name: String,
    /// Admin?
    pub admin: bool,
    /// `(database, privilege)` pairs (`READ`, `WRITE`, `ALL PRIVILEGES`).
    pub grants: Vec<(String, String)>,
}

/// A change to the users, as the admin page posts it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum UserChange {
    /// `CREATE USER`.
    Create {
        /// Name.
        name: String,
        /// Password.
        password: String,
        /// Make an admin.
        #[serde(default)]
        admin: bool,
    },
    /// `DROP USER`.
    Drop {
        /// Name.
        name: String,
    },
    /// `SET PASSWORD`.
    SetPassword {
        /// Name.
        name: String,
        /// New password.
        password: String,
    },
    /// `GRANT` on a database, or admin when `database` is empty.
    Grant {
        /// Name.
        name: String,
        /// Database; empty for admin.
        #[serde(default)]
        database: String,
        /// `READ`, `WRITE` or `ALL`.
        privilege: String,
    },
    /// `REVOKE` on a database, or admin when `database` is empty.
    Revoke {
        /// Name.
        name: String,
        /// Database; empty for admin.
        #[serde(default)]
        database: String,
        /// `READ`, `WRITE` or `ALL`.
        privilege: String,
    },
}

/// A change the form got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UserChangeError(pub String);

use influxql::{quote_ident, quote_string};

fn privilege(p: &str) -> Result<&'static str, UserChangeError> {
    match p.to_ascii_uppercase().as_str() {
        "READ" => Ok("READ"),
        "WRITE" => Ok("WRITE"),
        "ALL" | "ALL PRIVILEGES" => Ok("ALL PRIVILEGES"),
        other => Err(UserChangeError(format!(
            "unknown privilege {other:?} (READ, WRITE or ALL)"
        ))),
    }
}

fn non_empty<'a>(what: &str, s: &'a str) -> Result<&'a str, UserChangeError> {
    if s.is_empty() {
        Err(UserChangeError(format!("a user needs a {what}")))
    } else {
        Ok(s)
    }
}

impl UserChange {
    /// The InfluxQL statement making this change.
    pub fn statement(&self) -> Result<String, UserChangeError> {
        Ok(match self {
            UserChange::Create {
                name,
                password,
                admin,
            } => format!(
                "CREATE USER {} WITH PASSWORD {}{}",
                quote_ident(non_empty("name", name)?),
                quote_string(non_empty("password", password)?),
                if *admin { " WITH ALL PRIVILEGES" } else { "" }
            ),
            UserChange::Drop { name } => format!("DROP USER {}", quote_ident(name)),
            UserChange::SetPassword { name, password } => format!(
                "SET PASSWORD FOR {} = {}",
                quote_ident(name),
                quote_string(non_empty("password", password)?)
            ),
            UserChange::Grant {
                name,
                database,
                privilege: p,
            } => match database.as_str() {
                "" => format!("GRANT ALL PRIVILEGES TO {}", quote_ident(name)),
                db => format!(
                    "GRANT {} ON {} TO {}",
                    privilege(p)?,
                    quote_ident(db),
                    quote_ident(name)
                ),
            },
            UserChange::Revoke {
                name,
                database,
                privilege: p,
            } => match database.as_str() {
                "" => format!("REVOKE ALL PRIVILEGES FROM {}", quote_ident(name)),
                db => format!(
                    "REVOKE {} ON {} FROM {}",
                    privilege(p)?,
                    quote_ident(db),
                    quote_ident(name)
                ),
            },
        })
    }
}

/// `SHOW USERS` rows as `(name, admin)`.
pub fn parse_users(answer: &serde_json::Value) -> Vec<(String, bool)> {
    answer["results"][0]["series"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_bool().unwrap_or(false))))
        .collect()
}

/// `SHOW GRANTS` rows as `(database, privilege)`, sorted.
pub fn parse_grants(answer: &serde_json::Value) -> Vec<(String, String)> {
    let mut grants: Vec<(String, String)> = answer["results"][0]["series"][0]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_str()?.to_string())))
        .collect();
    grants.sort();
    grants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_become_quoted_statements() {
        let create: UserChange = serde_json::from_value(serde_json::json!({
            "action": "create", "name": "jo\"e", "password": "it's", "admin": true
        }))
        .unwrap();
        assert_eq!(
            create.statement().unwrap(),
            "CREATE USER \"jo\\\"e\" WITH PASSWORD 'it\\'s' WITH ALL PRIVILEGES"
        );
        let grant = UserChange::Grant {
            name: "r".into(),
            database: "tele graf".into(),
            privilege: "read".into(),
        };
        assert_eq!(
            grant.statement().unwrap(),
            "GRANT READ ON \"tele graf\" TO \"r\""
        );
        let admin = UserChange::Revoke {
            name: "r".into(),
            database: String::new(),
            privilege: "ALL".into(),
        };
        assert_eq!(
            admin.statement().unwrap(),
            "REVOKE ALL PRIVILEGES FROM \"r\""
        );
        let bad = UserChange::Grant {
            name: "r".into(),
            database: "db".into(),
            privilege: "DROP TABLES".into(),
        };
        assert!(bad.statement().is_err());
        let empty = UserChange::SetPassword {
            name: "r".into(),
            password: String::new(),
        };
        assert!(empty.statement().is_err());
    }

    #[test]
    fn show_answers_become_rows() {
        let users = serde_json::json!({"results":[{"series":[{"columns":["user","admin"],"values":[["a",true],["b",false]]}]}]});
        assert_eq!(
            parse_users(&users),
            [("a".to_string(), true), ("b".to_string(), false)]
        );
        let grants = serde_json::json!({"results":[{"series":[{"columns":["database","privilege"],"values":[["z","READ"],["a","WRITE"]]}]}]});
        assert_eq!(
            parse_grants(&grants),
            [
                ("a".to_string(), "WRITE".to_string()),
                ("z".to_string(), "READ".to_string())
            ]
        );
    }
}
