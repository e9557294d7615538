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

use crate::config::{AuthConfig, ConfigUser};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// The user the store's subscription writes come as.
pub const SUBSCRIBER: &str = "kapacitor-subscriber";

/// What a user may do, by Kapacitor's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Nothing.
    None,
    /// The tasks, replays and alerts API.
    Api,
    /// The configuration API.
    ConfigApi,
    /// Writing points (`/write`, `/kapacitor/v1/write`).
    WritePoints,
    /// Everything a normal user can be given.
    All,
}

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

/// Kapacitor's user types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// May do everything, users included.
    Admin,
    /// May do what its permissions say.
    Normal,
}

impl User {
    fn may(&self, needed: Permission) -> bool {
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
}

/// The users, their checked passwords, and the settings that govern them.
pub struct Auth {
    /// Credentials are demanded (`[http] auth-enabled`).
    pub required: bool,
    bcrypt_cost: u32,
    shared_secret: String,
    configured: Vec<User>,
    stored: RwLock<Vec<User>>,
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

    fn stored(&self) -> std::sync::RwLockReadGuard<'_, Vec<User>> {
        self.stored.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn find(&self, name: &str) -> Option<User> {
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
    fn check_password(&self, name: &str, password: &str) -> Option<User> {
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
    fn check_token(&self, token: &str) -> Option<User> {
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

    /// A bcrypt hash of `password` at the configured cost, made off the runtime's workers;
    /// the 500 to answer if it cannot be made.
    async fn hash(&self, password: String) -> Result<String, Box<Response>> {
        let cost = self.bcrypt_cost;
        match tokio::task::spawn_blocking(move || bcrypt::hash(password, cost)).await {
            Ok(Ok(hash)) => Ok(hash),
            _ => Err(Box::new(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "hashing the password failed",
            ))),
        }
    }

    fn forget(&self, name: &str) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    fn save(&self, users: &[User]) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec_pretty(users).map_err(|e| io(&self.path, e))?;
        write_private(&self.path, &bytes)
    }
}

/// Credentials as a request carries them.
enum Credentials {
    Password(String, String),
    Bearer(String),
}

fn credentials(headers: &HeaderMap, query: Option<&str>) -> Option<Credentials> {
    if let Some(q) = query {
        let params: HashMap<String, String> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        if let (Some(u), Some(p)) = (params.get("u"), params.get("p")) {
            return Some(Credentials::Password(u.clone(), p.clone()));
        }
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(Credentials::Bearer(token.trim().to_string()));
    }
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?.trim())
        .ok()?;
    let (u, p) = String::from_utf8(raw)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_string(), p.to_string()))?;
    Some(Credentials::Password(u, p))
}

/// What a request to `path` with `method` needs: `None` for the open endpoints; for the
/// users API, admin (checked by the handlers).
fn needed(method: &Method, path: &str) -> Option<Permission> {
    match path {
        "/kapacitor/v1/ping" | "/health" | "/metrics" => None,
        "/write" | "/kapacitor/v1/write" if method == Method::POST => Some(Permission::WritePoints),
        p if p.starts_with("/kapacitor/v1/config") => Some(Permission::ConfigApi),
        _ => Some(Permission::Api),
    }
}

/// Kapacitor's word for what a method does, for the 403 message.
fn action(method: &Method) -> &'static str {
    match *method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        _ => "write",
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut res = crate::http::error(status.as_u16(), message);
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Kapacitor\""),
        );
    }
    res
}

/// The authenticated user of a request, for handlers that check more (the users API).
#[derive(Debug, Clone)]
pub struct Caller(pub Option<User>);

/// The middleware: credentials and permission on every endpoint but the open ones.
pub async fn guard(
    State(auth): State<Arc<Auth>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response {
    if !auth.required {
        req.extensions_mut().insert(Caller(None));
        return next.run(req).await;
    }
    let Some(permission) = needed(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let Some(creds) = credentials(req.headers(), req.uri().query()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unable to parse authentication credentials",
        );
    };
    let checked = {
        let auth = Arc::clone(&auth);
        tokio::task::spawn_blocking(move || match creds {
            Credentials::Password(u, p) => auth.check_password(&u, &p),
            Credentials::Bearer(t) => auth.check_token(&t),
        })
        .await
        .ok()
        .flatten()
    };
    let Some(user) = checked else {
        return refuse(StatusCode::UNAUTHORIZED, "authorization failed");
    };
    if !user.may(permission) {
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "user {} does not have \"{}\" privilege for API endpoint \"{}\"",
                user.name,
                action(req.method()),
                req.uri().path()
            ),
        );
    }
    req.extensions_mut().insert(Caller(Some(user)));
    next.run(req).await
}

/// A user as the users API takes it.
#[derive(Debug, Deserialize)]
pub struct UserRequest {
    name: Option<String>,
    password: Option<String>,
    #[serde(rename = "type")]
    kind: Option<UserType>,
    permissions: Option<Vec<Permission>>,
}

fn user_json(u: &User) -> serde_json::Value {
    serde_json::json!({
        "link": { "rel": "self", "href": format!("/kapacitor/v1/users/{}", u.name) },
        "name": u.name,
        "type": u.kind,
        "permissions": u.permissions,
    })
}

/// Only admins (or anyone while credentials are not demanded) manage users: the refusal
/// otherwise.
fn admin_only(caller: &Caller, auth: &Auth) -> Result<(), Box<Response>> {
    let refusal = match &caller.0 {
        _ if !auth.required => return Ok(()),
        Some(u) if u.kind == UserType::Admin => return Ok(()),
        Some(u) => refuse(
            StatusCode::FORBIDDEN,
            &format!("user {} is not an admin: only admins manage users", u.name),
        ),
        None => refuse(StatusCode::UNAUTHORIZED, "authorization failed"),
    };
    Err(Box::new(refusal))
}

/// `GET /kapacitor/v1/users`
pub async fn list_users(
    State(auth): State<Arc<Auth>>,
    axum::Extension(caller): axum::Extension<Caller>,
) -> Response {
    if let Err(r) = admin_only(&caller, &auth) {
        return *r;
    }
    let mut users: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for u in auth.configured.iter().chain(auth.stored().iter()) {
        users.entry(u.name.clone()).or_insert_with(|| user_json(u));
    }
    Json(serde_json::json!({ "users": users.into_values().collect::<Vec<_>>() })).into_response()
}

/// `GET /kapacitor/v1/users/{name}`
pub async fn get_user(
    State(auth): State<Arc<Auth>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = admin_only(&caller, &auth) {
        return *r;
    }
    match auth.find(&name).filter(|u| u.name != SUBSCRIBER) {
        Some(u) => Json(user_json(&u)).into_response(),
        None => refuse(
            StatusCode::NOT_FOUND,
            &format!("user {name} does not exist"),
        ),
    }
}

/// `POST /kapacitor/v1/users`: `{"name", "password", "type", "permissions"}`.
pub async fn create_user(
    State(auth): State<Arc<Auth>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Json(req): Json<UserRequest>,
) -> Response {
    if let Err(r) = admin_only(&caller, &auth) {
        return *r;
    }
    let (Some(name), Some(password)) = (
        req.name.filter(|n| !n.is_empty()),
        req.password.filter(|p| !p.is_empty()),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a user needs a name and a password",
        );
    };
    if auth.find(&name).is_some() {
        return refuse(StatusCode::CONFLICT, &format!("user {name} already exists"));
    }
    let hash = match auth.hash(password).await {
        Ok(hash) => hash,
        Err(refusal) => return *refusal,
    };
    let user = User {
        name,
        kind: req.kind.unwrap_or(UserType::Normal),
        permissions: req.permissions.unwrap_or_default(),
        hash,
    };
    let mut stored = auth.stored.write().unwrap_or_else(PoisonError::into_inner);
    stored.push(user.clone());
    if let Err(e) = auth.save(&stored) {
        stored.pop();
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    (StatusCode::CREATED, Json(user_json(&user))).into_response()
}

/// `PATCH /kapacitor/v1/users/{name}`: a new password, type or permissions.
pub async fn update_user(
    State(auth): State<Arc<Auth>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
    Json(req): Json<UserRequest>,
) -> Response {
    if let Err(r) = admin_only(&caller, &auth) {
        return *r;
    }
    let hash = match req.password.filter(|p| !p.is_empty()) {
        Some(p) => match auth.hash(p).await {
            Ok(hash) => Some(hash),
            Err(refusal) => return *refusal,
        },
        None => None,
    };
    let mut stored = auth.stored.write().unwrap_or_else(PoisonError::into_inner);
    let before = stored.clone();
    let Some(user) = stored.iter_mut().find(|u| u.name == name) else {
        let why = if auth.find(&name).is_some() {
            "is defined in the configuration file and cannot be changed here"
        } else {
            "does not exist"
        };
        return refuse(StatusCode::NOT_FOUND, &format!("user {name} {why}"));
    };
    if let Some(h) = hash {
        user.hash = h;
    }
    if let Some(k) = req.kind {
        user.kind = k;
    }
    if let Some(p) = req.permissions {
        user.permissions = p;
    }
    let shown = user_json(user);
    if let Err(e) = auth.save(&stored) {
        *stored = before;
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    auth.forget(&name);
    Json(shown).into_response()
}

/// `DELETE /kapacitor/v1/users/{name}`
pub async fn delete_user(
    State(auth): State<Arc<Auth>>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = admin_only(&caller, &auth) {
        return *r;
    }
    let mut stored = auth.stored.write().unwrap_or_else(PoisonError::into_inner);
    let before = stored.clone();
    stored.retain(|u| u.name != name);
    if stored.len() == before.len() {
        return refuse(
            StatusCode::NOT_FOUND,
            &format!("user {name} does not exist"),
        );
    }
    if let Err(e) = auth.save(&stored) {
        *stored = before;
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    auth.forget(&name);
    StatusCode::NO_CONTENT.into_response()
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
        assert_eq!(needed(&Method::GET, "/kapacitor/v1/ping"), None);
        assert_eq!(
            needed(&Method::POST, "/write"),
            Some(Permission::WritePoints)
        );
        assert_eq!(
            needed(&Method::GET, "/kapacitor/v1/tasks"),
            Some(Permission::Api)
        );
    }

    #[test]
    fn auth_enabled_without_the_auth_service_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = Auth::open(&AuthConfig::default(), true, "", dir.path()).unwrap_err();
        assert!(e.to_string().contains("[auth] enabled"), "{e}");
    }
}
