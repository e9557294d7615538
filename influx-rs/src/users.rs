//! Users, passwords and privileges, with InfluxDB 1.x's rules and words.
//!
//! Users live in the catalog (`meta.json`) with bcrypt password hashes. With
//! `[http] auth-enabled`, every `/query` and `/write` is first *authenticated* (credentials from
//! `u`/`p`, `Authorization: Token user:password` or HTTP Basic, checked against the hash; a
//! successful check is remembered as a salted SHA-256 so bcrypt runs once per password; or a
//! JWT in `Authorization: Bearer …` signed with `[http] shared-secret`, see [`crate::bearer`]), then
//! *authorized*: admins may do anything; others need `READ` on a database to query it (and see
//! it in `SHOW DATABASES`), `WRITE` to write to it, and admin for everything else. Until an
//! admin exists nothing is authenticated, and the only query accepted is the one creating it.

use crate::bearer::{self, BearerError};
use crate::meta::{Catalog, MetaError, UserInfo};
use influxql::{Measurement, MeasurementName, Privilege, SelectStatement, Statement};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// bcrypt cost of stored password hashes (InfluxDB's).
const BCRYPT_COST: u32 = 10;

/// A password hashed for storage.
pub fn hash_password(password: &str) -> Result<String, MetaError> {
    bcrypt::hash(password, BCRYPT_COST).map_err(|e| MetaError::Password(e.to_string()))
}

fn password_matches(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

impl Catalog {
    /// Whether any admin user exists (until then requests are not authenticated).
    pub fn admin_exists(&self) -> bool {
        self.users.values().any(|u| u.admin)
    }

    /// `CREATE USER`: a second identical creation is accepted, as InfluxDB does.
    pub fn create_user(
        &mut self,
        name: &str,
        password: &str,
        hash: String,
        admin: bool,
    ) -> Result<(), MetaError> {
        if name.is_empty() {
            return Err(MetaError::UsernameRequired);
        }
        if let Some(existing) = self.users.get(name) {
            if existing.admin == admin && password_matches(password, &existing.hash) {
                return Ok(());
            }
            return Err(MetaError::UserExists);
        }
        self.users.insert(
            name.to_string(),
            UserInfo {
                hash,
                admin,
                privileges: BTreeMap::new(),
            },
        );
        Ok(())
    }

    fn user_mut(&mut self, name: &str) -> Result<&mut UserInfo, MetaError> {
        self.users.get_mut(name).ok_or(MetaError::UserNotFound)
    }

    /// `DROP USER`.
    pub fn drop_user(&mut self, name: &str) -> Result<(), MetaError> {
        self.users
            .remove(name)
            .map(|_| ())
            .ok_or(MetaError::UserNotFound)
    }

    /// `SET PASSWORD FOR`.
    pub fn set_password(&mut self, name: &str, hash: String) -> Result<(), MetaError> {
        self.user_mut(name)?.hash = hash;
        Ok(())
    }

    /// `GRANT`: on a database, or admin when `database` is `None`.
    pub fn grant(
        &mut self,
        user: &str,
        privilege: Privilege,
        database: Option<&str>,
    ) -> Result<(), MetaError> {
        if let Some(db) = database {
            self.database(db)?;
        }
        let u = self.user_mut(user)?;
        match database {
            None => u.admin = true,
            Some(db) => {
                let held = u.privileges.get(db).copied();
                u.privileges.insert(
                    db.to_string(),
                    held.map_or(privilege, |h| h.with(privilege)),
                );
            }
        }
        Ok(())
    }

    /// `REVOKE`: on a database, or admin when `database` is `None`.
    pub fn revoke(
        &mut self,
        user: &str,
        privilege: Privilege,
        database: Option<&str>,
    ) -> Result<(), MetaError> {
        let u = self.user_mut(user)?;
        match database {
            None => u.admin = false,
            Some(db) => {
                if let Some(left) = u.privileges.get(db).and_then(|h| h.without(privilege)) {
                    u.privileges.insert(db.to_string(), left);
                } else {
                    u.privileges.remove(db);
                }
            }
        }
        Ok(())
    }
}

/// Why a request was refused; `Display` is InfluxDB's wording, [`AuthError::status`] its
/// HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No usable credentials in the request.
    #[error("unable to parse authentication credentials")]
    NoCredentials,
    /// Credentials with an empty user name.
    #[error("username required")]
    UsernameRequired,
    /// Unknown user or wrong password.
    #[error("authorization failed")]
    Failed,
    /// A bearer token refused. Deliberately not InfluxDB's words (which say whether the
    /// signature, the algorithm, the expiry or a claim was wrong, helping whoever forges
    /// tokens): the reason goes to the server's log only.
    #[error("authorization failed")]
    Bearer(#[from] BearerError),
    /// A valid bearer token naming an unknown user (InfluxDB says "user not found").
    #[error("authorization failed")]
    UserNotFound,
    /// No users at all, and the query does not create an admin.
    #[error("error authorizing query: create admin user first or disable authentication")]
    CreateAdminFirst,
    /// Users but no admin: nobody can be authenticated.
    #[error("error authorizing query: no user provided")]
    NoUserProvided,
    /// A statement needs a privilege the user lacks.
    #[error("error authorizing query: {user} not authorized to execute statement '{statement}', requires {requires}")]
    Statement {
        /// The user.
        user: String,
        /// The statement, passwords redacted.
        statement: String,
        /// `admin privilege` or `READ on db`.
        requires: String,
    },
    /// A write without `WRITE` on the database.
    #[error("\"{user}\" user is not authorized to write to database \"{database}\"")]
    Write {
        /// The user.
        user: String,
        /// The database.
        database: String,
    },
    /// A write while no admin exists (so nobody is authenticated).
    #[error("user is required to write to database \"{0}\"")]
    WriteNeedsUser(String),
}

impl AuthError {
    /// 401 when the caller is not known, 403 when it may not do what it asked.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::NoCredentials
            | AuthError::UsernameRequired
            | AuthError::Failed
            | AuthError::Bearer(_)
            | AuthError::UserNotFound => 401,
            _ => 403,
        }
    }
}

/// What a request says about who sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password.
    Password {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// A JWT from `Authorization: Bearer <token>`.
    Bearer(String),
}

impl Credentials {
    /// From the `u`/`p` parameters (both non-empty), else the `Authorization` header
    /// (`Bearer <JWT>`, `Token user:password` or `Basic …`); `None` when there are none to
    /// parse.
    pub fn from_request(
        u: Option<&str>,
        p: Option<&str>,
        authorization: Option<&str>,
    ) -> Option<Credentials> {
        if let (Some(u), Some(p)) = (u, p) {
            if !u.is_empty() && !p.is_empty() {
                return Some(Credentials::Password {
                    user: u.to_string(),
                    password: p.to_string(),
                });
            }
        }
        let header = authorization?;
        if let ["Bearer", token] = header.split(' ').collect::<Vec<_>>()[..] {
            return Some(Credentials::Bearer(token.to_string()));
        }
        let pair = if let Some(token) = header.strip_prefix("Token ") {
            token.to_string()
        } else {
            let encoded = header.strip_prefix("Basic ")?;
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            String::from_utf8(raw).ok()?
        };
        let (user, password) = pair.split_once(':')?;
        Some(Credentials::Password {
            user: user.to_string(),
            password: password.to_string(),
        })
    }
}

/// An authenticated user, as the query engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// User name.
    pub name: String,
    /// Admin?
    pub admin: bool,
    /// Privileges per database.
    pub privileges: BTreeMap<String, Privilege>,
}

impl Principal {
    /// Whether the user holds (at least) `wanted` on `db`.
    pub fn can(&self, wanted: Privilege, db: &str) -> bool {
        self.admin || self.privileges.get(db).is_some_and(|p| p.covers(wanted))
    }

    /// Whether the user may see `db` in `SHOW DATABASES` (any privilege on it).
    pub fn sees(&self, db: &str) -> bool {
        self.admin || self.privileges.contains_key(db)
    }
}

/// Remembers passwords that passed bcrypt, as salted SHA-256 keyed by the stored hash (so a
/// changed password or a dropped user is never matched from memory).
#[derive(Debug)]
pub struct AuthCache {
    salt: [u8; 16],
    verified: parking_lot::Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache {
            salt: uuid::Uuid::new_v4().into_bytes(),
            verified: parking_lot::Mutex::new(HashMap::new()),
        }
    }
}

impl AuthCache {
    fn digest(&self, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    fn check(&self, user: &str, password: &str, hash: &str) -> bool {
        let digest = self.digest(password);
        if let Some((cached_hash, cached)) = self.verified.lock().get(user) {
            if cached_hash == hash && *cached == digest {
                return true;
            }
        }
        if !password_matches(password, hash) {
            return false;
        }
        self.verified
            .lock()
            .insert(user.to_string(), (hash.to_string(), digest));
        true
    }
}

/// Authenticates a request: `Ok(None)` while no admin exists (nobody is authenticated then).
/// Bearer tokens are checked against `shared_secret` (refused when it is empty).
pub fn authenticate(
    catalog: &Catalog,
    credentials: Option<&Credentials>,
    cache: &AuthCache,
    shared_secret: &str,
) -> Result<Option<Principal>, AuthError> {
    if !catalog.admin_exists() {
        return Ok(None);
    }
    let (name, u) = match credentials.ok_or(AuthError::NoCredentials)? {
        Credentials::Password { user, .. } if user.is_empty() => {
            return Err(AuthError::UsernameRequired)
        }
        Credentials::Password { user, password } => {
            let u = catalog.users.get(user).ok_or(AuthError::Failed)?;
            if !cache.check(user, password, &u.hash) {
                return Err(AuthError::Failed);
            }
            (user.clone(), u)
        }
        Credentials::Bearer(_) if shared_secret.is_empty() => {
            return Err(BearerError::Disabled.into())
        }
        Credentials::Bearer(token) => {
            let user = bearer::username(token, shared_secret)?;
            let u = catalog.users.get(&user).ok_or(AuthError::UserNotFound)?;
            (user, u)
        }
    };
    Ok(Some(Principal {
        name,
        admin: u.admin,
        privileges: u.privileges.clone(),
    }))
}

/// What a statement needs: privileges on databases (none for some), or admin.
enum Needs {
    On(Vec<(Privilege, String)>),
    Admin,
}

fn needs(stmt: &Statement, default_db: &str) -> Needs {
    let on = |db: &Option<String>| db.clone().unwrap_or_else(|| default_db.to_string());
    let read = |db: String| Needs::On(vec![(Privilege::Read, db)]);
    match stmt {
        Statement::ShowDatabases => Needs::On(Vec::new()),
        Statement::Select(s) => {
            let mut wanted = Vec::new();
            select_needs(s, default_db, &mut wanted);
            Needs::On(wanted)
        }
        Statement::Explain { select, .. } => {
            let mut wanted = Vec::new();
            select_needs(select, default_db, &mut wanted);
            Needs::On(wanted)
        }
        Statement::ShowMeasurements { database, .. }
        | Statement::ShowRetentionPolicies { database } => read(on(database)),
        Statement::ShowCardinality { scope: s, .. }
        | Statement::ShowTagKeys(s)
        | Statement::ShowTagValues(s, _)
        | Statement::ShowFieldKeys(s)
        | Statement::ShowSeries(s) => read(on(&s.database)),
        Statement::Delete { .. } | Statement::DropSeries { .. } => {
            Needs::On(vec![(Privilege::Write, default_db.to_string())])
        }
        _ => Needs::Admin,
    }
}

/// `READ` on every database a select reads (its subqueries' too) and `WRITE` on its `INTO`
/// database.
fn select_needs(s: &SelectStatement, default_db: &str, out: &mut Vec<(Privilege, String)>) {
    let db = |m: &Measurement| {
        m.database
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| default_db.to_string())
    };
    for source in &s.sources {
        match &source.name {
            MeasurementName::Subquery(inner) => select_needs(inner, default_db, out),
            _ => out.push((Privilege::Read, db(source))),
        }
    }
    if let Some(into) = &s.into {
        out.push((Privilege::Write, db(into)));
    }
}

/// Authorizes every statement of a query before any runs; `default_db` is the `db` parameter.
pub fn authorize_query(
    catalog: &Catalog,
    principal: Option<&Principal>,
    statements: &[Statement],
    default_db: &str,
) -> Result<(), AuthError> {
    let Some(user) = principal else {
        if !catalog.users.is_empty() {
            return Err(AuthError::NoUserProvided);
        }
        return match statements.first() {
            Some(Statement::CreateUser { admin: true, .. }) => Ok(()),
            _ => Err(AuthError::CreateAdminFirst),
        };
    };
    if user.admin {
        return Ok(());
    }
    for stmt in statements {
        let requires = match needs(stmt, default_db) {
            Needs::On(wanted) => match wanted.into_iter().find(|(p, db)| !user.can(*p, db)) {
                None => continue,
                Some((privilege, db)) => format!("{privilege} on {db}"),
            },
            Needs::Admin => "admin privilege".to_string(),
        };
        return Err(AuthError::Statement {
            user: user.name.clone(),
            statement: stmt.redacted(),
            requires,
        });
    }
    Ok(())
}

/// Authorizes a write to `database`.
pub fn authorize_write(principal: Option<&Principal>, database: &str) -> Result<(), AuthError> {
    match principal {
        None => Err(AuthError::WriteNeedsUser(database.to_string())),
        Some(u) if u.can(Privilege::Write, database) => Ok(()),
        Some(u) => Err(AuthError::Write {
            user: u.name.clone(),
            database: database.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn credentials_come_from_params_token_or_basic() {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("bo:b:pw")
        );
        let c = |u: &str, p: &str| {
            Some(Credentials::Password {
                user: u.into(),
                password: p.into(),
            })
        };
        assert_eq!(
            Credentials::from_request(Some("a"), Some("b"), None),
            c("a", "b")
        );
        assert_eq!(
            Credentials::from_request(Some("a"), Some("b"), Some(&basic)),
            c("a", "b"),
            "parameters win"
        );
        assert_eq!(Credentials::from_request(Some("a"), None, None), None);
        assert_eq!(
            Credentials::from_request(None, None, Some(&basic)),
            c("bo", "b:pw")
        );
        assert_eq!(
            Credentials::from_request(None, None, Some("Token t:x")),
            c("t", "x")
        );
        assert_eq!(
            Credentials::from_request(None, None, Some("Bearer abc")),
            Some(Credentials::Bearer("abc".into()))
        );
        assert_eq!(
            Credentials::from_request(None, None, Some("Bearer a b")),
            None
        );
        assert_eq!(
            Credentials::from_request(None, None, Some("Basic !!")),
            None
        );
    }

    #[test]
    fn grants_and_revokes_combine_as_influxdb() {
        let mut c = Catalog::default();
        c.create_database("db", None, Default::default()).unwrap();
        let hash = hash_password("x").unwrap();
        c.create_user("u", "x", hash.clone(), false).unwrap();
        c.create_user("u", "x", hash, false).unwrap();
        assert!(matches!(
            c.create_user("u", "y", hash_password("y").unwrap(), false),
            Err(MetaError::UserExists)
        ));
        c.grant("u", Privilege::Read, Some("db")).unwrap();
        c.grant("u", Privilege::Write, Some("db")).unwrap();
        assert_eq!(c.users["u"].privileges["db"], Privilege::All);
        c.revoke("u", Privilege::Read, Some("db")).unwrap();
        assert_eq!(c.users["u"].privileges["db"], Privilege::Write);
        c.revoke("u", Privilege::Write, Some("db")).unwrap();
        assert!(c.users["u"].privileges.is_empty());
        assert!(matches!(
            c.grant("u", Privilege::Read, Some("nodb")),
            Err(MetaError::DatabaseNotFound(_))
        ));
        assert!(matches!(
            c.grant("nobody", Privilege::Read, Some("db")),
            Err(MetaError::UserNotFound)
        ));
        assert!(!c.admin_exists());
        c.grant("u", Privilege::All, None).unwrap();
        assert!(c.admin_exists());
        let json = serde_json::to_string(&c).unwrap();
        let back: Catalog = serde_json::from_str(&json).unwrap();
        assert_eq!(back.users, c.users);
    }

    #[test]
    fn statements_need_read_or_admin() {
        let reader = Principal {
            name: "r".into(),
            admin: false,
            privileges: [("db".to_string(), Privilege::Read)].into(),
        };
        let catalog = Catalog::default();
        let run = |q: &str, db: &str| {
            let stmts = influxql::parse_statements(q).unwrap();
            authorize_query(&catalog, Some(&reader), &stmts, db)
        };
        assert_eq!(
            run("SELECT * FROM m; SHOW DATABASES; SHOW TAG KEYS", "db"),
            Ok(())
        );
        assert_eq!(run("SHOW MEASUREMENTS ON db", ""), Ok(()));
        assert_eq!(
            run("SELECT * FROM other..m", "db").unwrap_err().to_string(),
            "error authorizing query: r not authorized to execute statement 'SELECT * FROM other..m', requires READ on other"
        );
        assert_eq!(
            run("CREATE USER x WITH PASSWORD 'secret'", "db")
                .unwrap_err()
                .to_string(),
            "error authorizing query: r not authorized to execute statement 'CREATE USER x WITH PASSWORD [REDACTED]', requires admin privilege"
        );
        assert_eq!(
            authorize_write(Some(&reader), "db").unwrap_err().status(),
            403
        );
    }

    #[test]
    fn the_first_admin_is_created_without_credentials() {
        let mut catalog = Catalog::default();
        let create =
            influxql::parse_statements("CREATE USER a WITH PASSWORD 'p' WITH ALL PRIVILEGES")
                .unwrap();
        let other = influxql::parse_statements("SHOW DATABASES").unwrap();
        let cache = AuthCache::default();
        assert_eq!(authenticate(&catalog, None, &cache, ""), Ok(None));
        assert_eq!(authorize_query(&catalog, None, &create, ""), Ok(()));
        assert_eq!(
            authorize_query(&catalog, None, &other, ""),
            Err(AuthError::CreateAdminFirst)
        );
        catalog
            .create_user("a", "p", hash_password("p").unwrap(), true)
            .unwrap();
        assert_eq!(
            authenticate(&catalog, None, &cache, ""),
            Err(AuthError::NoCredentials)
        );
        let good = Credentials::Password {
            user: "a".into(),
            password: "p".into(),
        };
        let bad = Credentials::Password {
            user: "a".into(),
            password: "q".into(),
        };
        assert!(
            authenticate(&catalog, Some(&good), &cache, "")
                .unwrap()
                .unwrap()
                .admin
        );
        assert!(
            authenticate(&catalog, Some(&good), &cache, "").is_ok(),
            "cached"
        );
        assert_eq!(
            authenticate(&catalog, Some(&bad), &cache, ""),
            Err(AuthError::Failed)
        );
        catalog
            .set_password("a", hash_password("new").unwrap())
            .unwrap();
        assert_eq!(
            authenticate(&catalog, Some(&good), &cache, ""),
            Err(AuthError::Failed),
            "a changed password is not matched from the cache"
        );
    }

    #[test]
    fn bearer_tokens_name_a_known_user() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let mut catalog = Catalog::default();
        catalog
            .create_user("a", "p", hash_password("p").unwrap(), true)
            .unwrap();
        let cache = AuthCache::default();
        let exp = chrono::Utc::now().timestamp() + 60;
        let token = |user: &str| {
            Credentials::Bearer(
                encode(
                    &Header::default(),
                    &serde_json::json!({"username": user, "exp": exp}),
                    &EncodingKey::from_secret(b"k"),
                )
                .unwrap(),
            )
        };
        assert_eq!(
            authenticate(&catalog, Some(&token("a")), &cache, "k")
                .unwrap()
                .map(|p| p.name),
            Some("a".to_string())
        );
        assert_eq!(
            authenticate(&catalog, Some(&token("zed")), &cache, "k"),
            Err(AuthError::UserNotFound)
        );
        let disabled = authenticate(&catalog, Some(&token("a")), &cache, "").unwrap_err();
        // The reason stays in the log; the client is told only that it failed.
        assert_eq!(
            (disabled.status(), disabled.to_string()),
            (401, "authorization failed".to_string())
        );
        assert!(matches!(disabled, AuthError::Bearer(BearerError::Disabled)));
    }
}
