//! Kapacitor's internal authorizations: users with Kapacitor's permission names, checked on
//! every endpoint when `[http] auth-enabled` is on (with `[auth] enabled`).
//!
//! - Users are `admin` (everything) or `normal` with permissions `none`, `api` (the tasks,
//!   replays and alerts API), `config_api` (the configuration API), `write_points` (`/write`)
//!   and `all`. They come from `[[auth.users]]` in the file (fixed) and from the
//!   `/kapacitor/v1/users` API (admins only; kept in `users.json`, mode 0600, bcrypt hashes).
//! - Credentials travel as HTTP Basic auth (`kapacitor -url http://u:p@host:9092`), `u`/`p`
//!   parameters, or `Authorization: Bearer <JWT>` signed with `[http] shared-secret` (with
//!   `username` and `exp` claims), as Kapacitor takes them.
//! - The store's subscription writes authenticate as [`SUBSCRIBER`], a user with
//!   `write_points` only whose random password lives in the data directory.
//! - `/kapacitor/v1/ping`, `/health` and `/metrics` stay open, for health checks.
//!
//! A password that verified is remembered (as InfluxDB's auth cache does) so that the store's
//! stream of writes costs one bcrypt check, not one per request.

use crate::config::{AuthConfig, ConfigUser, Permission, UserType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The user the store's subscription writes come as.
pub const SUBSCRIBER: &str = "kapacitor-subscriber";

/// A user as kept and as the users API shows it (without the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// `admin` or `normal`.
    #[serde(rename = "type")]
    pub kind: UserType,
    /// What a normal user may do.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// bcrypt hash of the password; never shown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl User {
    pub(crate) fn may(&self, needed: Permission) -> bool {
        self.kind == UserType::Admin
            || self
                .permissions
                .iter()
                .any(|p| *p == needed || *p == Permission::All)
    }
}

/// Why a user could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The users file or the subscriber secret could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A user definition that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// bcrypt could not hash a new password.
    #[error("hashing the password failed")]
    Hash,
}

/// The users, their checked passwords, and the settings that govern them.
pub struct Auth {
    /// Credentials are demanded (`[http] auth-enabled`).
    pub required: bool,
    bcrypt_cost: u32,
    shared_secret: String,
    pub(crate) configured: Vec<User>,
    pub(crate) stored: RwLock<Vec<User>>,
    path: PathBuf,
    /// Passwords that verified, by user: so a stream of writes costs one bcrypt check.
    verified: Mutex<HashMap<String, String>>,
    subscriber_password: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

fn io(path: &std::path::Path, e: impl std::fmt::Display) -> AuthError {
    AuthError::Io(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` readable by the owner only, replacing it whole.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<(), AuthError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn configured_user(u: &ConfigUser, cost: u32) -> Result<User, AuthError> {
    let hash = match (u.password.is_empty(), u.password_hash.is_empty()) {
        (false, true) => bcrypt::hash(&u.password, cost)
            .map_err(|e| AuthError::Invalid(format!("user {:?}: {e}", u.name)))?,
        (true, false) => u.password_hash.clone(),
        _ => {
            return Err(AuthError::Invalid(format!(
                "user {:?} needs exactly one of password and password-hash",
                u.name
            )))
        }
    };
    Ok(User {
        name: u.name.clone(),
        kind: u.kind,
        permissions: u.permissions.clone(),
        hash,
    })
}

impl Auth {
    /// Loads the users of `config` and of `data_dir/users.json`, and the subscriber's secret
    /// (made on first start); `required` demands credentials.
    pub fn open(
        config: &AuthConfig,
        required: bool,
        shared_secret: &str,
        data_dir: &std::path::Path,
    ) -> Result<Arc<Auth>, AuthError> {
        if required && !config.enabled {
            return Err(AuthError::Invalid(
                "[http] auth-enabled needs [auth] enabled = true".into(),
            ));
        }
        let cost = config.bcrypt_cost.clamp(4, 31);
        let configured = config
            .users
            .iter()
            .map(|u| configured_user(u, cost))
            .collect::<Result<Vec<_>, _>>()?;
        let path = data_dir.join("users.json");
        let stored: Vec<User> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| io(&path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path, e)),
        };
        let secret_path = data_dir.join("subscriber.secret");
        let subscriber_password = match std::fs::read_to_string(&secret_path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                let s = uuid::Uuid::new_v4().simple().to_string();
                write_private(&secret_path, s.as_bytes())?;
                s
            }
        };
        Ok(Arc::new(Auth {
            required,
            bcrypt_cost: cost,
            shared_secret: shared_secret.to_string(),
            configured,
            stored: RwLock::new(stored),
            path,
            verified: Mutex::new(HashMap::new()),
            subscriber_password,
        }))
    }

    /// `user:password@` for the store's subscription destination, when credentials are
    /// demanded.
    pub fn subscriber_userinfo(&self) -> Option<String> {
        self.required
            .then(|| format!("{SUBSCRIBER}:{}@", self.subscriber_password))
    }

    pub(crate) fn stored(&self) -> std::sync::RwLockReadGuard<'_, Vec<User>> {
        self.stored.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn find(&self, name: &str) -> Option<User> {
        if name == SUBSCRIBER {
            return Some(User {
                name: SUBSCRIBER.into(),
                kind: UserType::Normal,
                permissions: vec![Permission::WritePoints],
                hash: String::new(),
            });
        }
        self.configured
            .iter()
            .find(|u| u.name == name)
            .cloned()
            .or_else(|| self.stored().iter().find(|u| u.name == name).cloned())
    }

    /// The user `name` if `password` is theirs.
    pub(crate) fn check_password(&self, name: &str, password: &str) -> Option<User> {
        let user = self.find(name)?;
        if name == SUBSCRIBER {
            return (!password.is_empty() && password == self.subscriber_password).then_some(user);
        }
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .is_some_and(|p| p == password);
        if cached || bcrypt::verify(password, &user.hash).unwrap_or(false) {
            self.verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_string(), password.to_string());
            return Some(user);
        }
        None
    }

    /// The user a bearer token names, if it is signed with the shared secret and unexpired.
    pub(crate) fn check_token(&self, token: &str) -> Option<User> {
        if self.shared_secret.is_empty() {
            return None;
        }
        #[derive(Deserialize)]
        struct Claims {
            username: String,
        }
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.algorithms = vec![
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::HS384,
            jsonwebtoken::Algorithm::HS512,
        ];
        validation.set_required_spec_claims(&["exp"]);
        let key = jsonwebtoken::DecodingKey::from_secret(self.shared_secret.as_bytes());
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &validation).ok()?;
        self.find(&claims.claims.username)
            .filter(|u| u.name != SUBSCRIBER)
    }

    /// A bcrypt hash of `password` at the configured cost, made off the runtime's workers.
    pub(crate) async fn hash(&self, password: String) -> Result<String, AuthError> {
        let cost = self.bcrypt_cost;
        match tokio::task::spawn_blocking(move || bcrypt::hash(password, cost)).await {
            Ok(Ok(hash)) => Ok(hash),
            _ => Err(AuthError::Hash),
        }
    }

    pub(crate) fn forget(&self, name: &str) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    pub(crate) fn save(&self, users: &[User]) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec_pretty(users).map_err(|e| io(&self.path, e))?;
        write_private(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(dir: &std::path::Path) -> Arc<Auth> {
        let config = AuthConfig {
            enabled: true,
            bcrypt_cost: 4,
            users: vec![
                ConfigUser {
                    name: "admin".into(),
                    password: "pw".into(),
                    password_hash: String::new(),
                    kind: UserType::Admin,
                    permissions: Vec::new(),
                },
                ConfigUser {
                    name: "writer".into(),
                    password: "wp".into(),
                    password_hash: String::new(),
                    kind: UserType::Normal,
                    permissions: vec![Permission::WritePoints],
                },
            ],
        };
        Auth::open(&config, true, "k3y", dir).unwrap()
    }

    #[test]
    fn passwords_tokens_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let a = auth(dir.path());
        assert!(a.check_password("admin", "pw").is_some());
        assert!(a.check_password("admin", "pw").is_some(), "from the cache");
        assert!(a.check_password("admin", "bad").is_none());
        assert!(a.check_password("nobody", "pw").is_none());
        let writer = a.check_password("writer", "wp").unwrap();
        assert!(writer.may(Permission::WritePoints) && !writer.may(Permission::Api));
        // The subscriber: its own secret, writes only.
        let info = a.subscriber_userinfo().unwrap();
        let secret = info
            .trim_end_matches('@')
            .split_once(':')
            .unwrap()
            .1
            .to_string();
        let sub = a.check_password(SUBSCRIBER, &secret).unwrap();
        assert!(sub.may(Permission::WritePoints) && !sub.may(Permission::Api));
        assert!(a.check_password(SUBSCRIBER, "").is_none());
        // The secret survives a restart.
        assert_eq!(auth(dir.path()).subscriber_userinfo(), Some(info));
        let token = |secret: &str, exp: u64| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &serde_json::json!({"username": "admin", "exp": exp}),
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap()
        };
        assert!(a.check_token(&token("k3y", 4_000_000_000)).is_some());
        assert!(a.check_token(&token("wrong", 4_000_000_000)).is_none());
        assert!(a.check_token(&token("k3y", 1)).is_none(), "expired");
    }

    #[test]
    fn auth_enabled_without_the_auth_service_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Auth::open(&AuthConfig::default(), true, "", dir.path()).unwrap_err();
        assert!(e.to_string().contains("[auth] enabled"), "{e}");
    }
}
