//! The users API (`/kapacitor/v1/users`, admins only) and the guard that checks every request's
//! credentials (Basic auth, `u`/`p` parameters or a JWT) against the permission its endpoint
//! needs, as Kapacitor does; the users themselves are [`crate::auth`]'s.

use crate::auth::{Auth, User, SUBSCRIBER};
use crate::config::{Permission, UserType};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError};

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
    let mut res = super::error(status.as_u16(), message);
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
pub(super) struct Caller(pub Option<User>);

/// The middleware: credentials and permission on every endpoint but the open ones.
pub(super) async fn guard(
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
pub(super) struct UserRequest {
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
pub(super) async fn list_users(
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
pub(super) async fn get_user(
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
pub(super) async fn create_user(
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
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
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
pub(super) async fn update_user(
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
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
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
pub(super) async fn delete_user(
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

    #[test]
    fn permissions_needed_by_path() {
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
}
