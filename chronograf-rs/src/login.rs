//! Optional login. With `[[users]]` in `chronograf-rs.toml` (bcrypt password hashes, made with
//! `chronograf-rs hash-password`), every page and API needs a session: `POST /login` checks the
//! password and sets the session cookie (`HttpOnly`, `SameSite=Strict`) and a CSRF cookie
//! readable by the page's script, which sends it back as `X-CSRF-Token` on every state-changing
//! request (double submit). Sessions live in memory for `session-hours`; `/ping`, `/health`,
//! `/metrics`, `/login` and the static assets stay open. Without users no login is asked, but
//! the same-origin and CSRF checks of [`crate::csrf`] hold all the same.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A configured user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoginUser {
    /// Login name.
    pub name: String,
    /// bcrypt hash of the password.
    pub password_hash: String,
}

/// The session cookie's name.
const SESSION_COOKIE: &str = "tick_session";
use crate::csrf::{self, cookie, random_token, COOKIE as CSRF_COOKIE};
use crate::throttle::Throttle;

/// A cookie the pages' script reads to know a user is logged in (and show "Log out").
const LOGIN_COOKIE: &str = "tick_login";

struct Session {
    user: String,
    csrf: String,
    expires: Instant,
}

/// Configured users and open sessions.
pub struct Login {
    users: Vec<LoginUser>,
    lifetime: Duration,
    sessions: Mutex<HashMap<String, Session>>,
    /// Failed logins, so that passwords cannot be guessed at speed.
    throttle: Mutex<Throttle>,
    /// A hash of the users' cost that no password matches: an unknown name is checked against
    /// it, so the time an answer takes does not tell which names exist.
    dummy_hash: String,
    /// Cookies get the `Secure` flag (the public URL is https).
    secure: bool,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Unknown user or wrong password (the two are not told apart).
    Wrong,
    /// Too many failures lately: try again after this long.
    Throttled(Duration),
}

/// The bcrypt cost of `hash` (`$2b$12$…` → 12), if it reads as a bcrypt hash.
fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl Login {
    /// Login with `users` (none: open access), sessions lasting `lifetime`, cookies marked
    /// `Secure` when `secure` (the dashboard is reached over https).
    pub fn new(users: Vec<LoginUser>, lifetime: Duration, secure: bool) -> Arc<Login> {
        let dummy_hash = match users.first() {
            Some(u) => {
                let cost = cost_of(&u.password_hash).unwrap_or(bcrypt::DEFAULT_COST);
                bcrypt::hash(random_token(), cost).unwrap_or_default()
            }
            None => String::new(),
        };
        Arc::new(Login {
            users,
            lifetime,
            sessions: Mutex::new(HashMap::new()),
            throttle: Mutex::new(Throttle::default()),
            dummy_hash,
            secure,
        })
    }

    /// The flags a cookie set in answer to a request with `headers` gets beyond the usual:
    /// `Secure` when the dashboard is reached over https.
    fn secure_flag(&self, headers: &HeaderMap) -> &'static str {
        let forwarded_https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        if self.secure || forwarded_https {
            "; Secure"
        } else {
            ""
        }
    }

    /// Whether a login is required.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// A new session for `name` if `password` is theirs: (session token, CSRF token).
    fn sign_in(&self, name: &str, password: &str) -> Result<(String, String), Refusal> {
        let throttle = || self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = throttle().refused(name, Instant::now()) {
            return Err(Refusal::Throttled(wait));
        }
        let user = self.users.iter().find(|u| u.name == name);
        let hash = user.map_or(self.dummy_hash.as_str(), |u| u.password_hash.as_str());
        let matches = bcrypt::verify(password, hash).unwrap_or(false);
        let Some(user) = user.filter(|_| matches) else {
            throttle().failed(name, Instant::now());
            return Err(Refusal::Wrong);
        };
        throttle().succeeded(name);
        let (token, csrf) = (random_token(), random_token());
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(
            token.clone(),
            Session {
                user: user.name.clone(),
                csrf: csrf.clone(),
                expires: now + self.lifetime,
            },
        );
        Ok((token, csrf))
    }

    /// The user and CSRF token of the request's session, if it is live.
    fn session(&self, headers: &HeaderMap) -> Option<(String, String)> {
        let token = cookie(headers, SESSION_COOKIE)?;
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let s = sessions.get(token).filter(|s| s.expires > Instant::now())?;
        Some((s.user.clone(), s.csrf.clone()))
    }

    fn sign_out(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers, SESSION_COOKIE) {
            self.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(token);
        }
    }
}

/// Paths that need no session.
fn open_path(path: &str) -> bool {
    matches!(
        path,
        "/ping" | "/health" | "/metrics" | "/login" | "/logout"
    ) || path.starts_with("/assets/")
}

fn api_path(path: &str) -> bool {
    path.starts_with("/chronograf/")
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

fn refused(why: csrf::Refused) -> Response {
    refuse(why.status(), &why.to_string())
}

/// The middleware: the same-origin and JSON checks on every state-changing request; sessions
/// for pages and APIs when login is on; the CSRF token on state-changing requests (the
/// session's, or without login the `tick_csrf` cookie's, which pages are given here).
pub async fn guard(
    State(login): State<Arc<Login>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_string();
    let changes_state = csrf::changes_state(req.method());
    if changes_state {
        let checked = csrf::same_origin(req.headers())
            .and_then(|()| csrf::json_body(req.method(), &path, req.headers()));
        if let Err(why) = checked {
            return refused(why);
        }
    }
    if !login.enabled() {
        // `/login` has nothing to protect without users; everything else needs the token.
        if changes_state && path != "/login" {
            if let Err(why) = csrf::token(req.headers(), None) {
                return refused(why);
            }
        }
        let had_cookie = cookie(req.headers(), CSRF_COOKIE).is_some_and(|c| !c.is_empty());
        let secure = login.secure_flag(req.headers());
        let mut res = next.run(req).await;
        if !had_cookie {
            set_cookie(
                &mut res,
                format!(
                    "{CSRF_COOKIE}={}; Path=/; SameSite=Strict{secure}",
                    random_token()
                ),
            );
        }
        return res;
    }
    let session = login.session(req.headers());
    if path == "/logout" {
        // Ending a session is a change too: a cross-site page must not log the user out.
        if let Some((_, token)) = &session {
            if let Err(why) = csrf::token(req.headers(), Some(token)) {
                return refused(why);
            }
        }
        return next.run(req).await;
    }
    if open_path(&path) {
        return next.run(req).await;
    }
    let Some((_, token)) = session else {
        if api_path(&path) || req.method() != Method::GET {
            return refuse(StatusCode::UNAUTHORIZED, "login required");
        }
        return Redirect::to("/login").into_response();
    };
    if changes_state {
        if let Err(why) = csrf::token(req.headers(), Some(&token)) {
            return refused(why);
        }
    }
    next.run(req).await
}

/// The login form.
pub async fn login_page() -> Html<&'static str> {
    Html(LOGIN_HTML)
}

/// The credentials the form posts.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

fn set_cookie(res: &mut Response, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Checks the form; on success sets the cookies and goes to the hosts page.
pub async fn sign_in(
    State(login): State<Arc<Login>>,
    headers: HeaderMap,
    axum::Form(c): axum::Form<Credentials>,
) -> Response {
    let checked = {
        let login = Arc::clone(&login);
        tokio::task::spawn_blocking(move || login.sign_in(&c.username, &c.password)).await
    };
    let (token, csrf) = match checked {
        Ok(Ok(session)) => session,
        Ok(Err(Refusal::Throttled(wait))) => {
            let seconds = wait.as_secs().max(1);
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(LOGIN_HTML.replace(
                    "<!--error-->",
                    &format!(
                        "<p class=\"error\">Too many failed logins: try again in {seconds} s.</p>"
                    ),
                )),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Ok(Err(Refusal::Wrong)) | Err(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                Html(LOGIN_HTML.replace(
                    "<!--error-->",
                    "<p class=\"error\">Wrong user name or password.</p>",
                )),
            )
                .into_response();
        }
    };
    let max_age = login.lifetime.as_secs();
    let secure = login.secure_flag(&headers);
    let mut res = Redirect::to("/").into_response();
    set_cookie(
        &mut res,
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ),
    );
    set_cookie(
        &mut res,
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"),
    );
    // Tells the pages' script to offer a logout button.
    set_cookie(
        &mut res,
        format!("{LOGIN_COOKIE}=1; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"),
    );
    res
}

/// Ends the session.
pub async fn sign_out(State(login): State<Arc<Login>>, headers: HeaderMap) -> Response {
    login.sign_out(&headers);
    let mut res = Redirect::to("/login").into_response();
    set_cookie(
        &mut res,
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    set_cookie(
        &mut res,
        format!("{CSRF_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0"),
    );
    set_cookie(
        &mut res,
        format!("{LOGIN_COOKIE}=; Path=/; SameSite=Strict; Max-Age=0"),
    );
    res
}

const LOGIN_HTML: &str = r#"<!doctype html>
<html lang="en" data-theme="dark"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · chronograf-rs</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/bootstrap.min.css">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/theme.js"></script></head>
<body><main class="container py-5" style="max-width: 420px">
<h1 class="d-flex align-items-center gap-2"><img src="/assets/favicon.svg" alt="" width="32" height="32">chronograf-rs</h1>
<!--error-->
<form method="post" action="/login" class="card card-body gap-3">
  <div><label class="form-label" for="username">User name</label>
  <input id="username" name="username" class="form-control" autocomplete="username" required autofocus></div>
  <div><label class="form-label" for="password">Password</label>
  <input id="password" name="password" type="password" class="form-control" autocomplete="current-password" required></div>
  <button type="submit" class="btn btn-primary">Log in</button>
</form>
</main></body></html>
"#;

/// `chronograf-rs hash-password`: the bcrypt hash of a password, for `[[users]]`.
pub fn hash_password(password: &str) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(password, bcrypt::DEFAULT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_text: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie_text).unwrap());
        h
    }

    #[test]
    fn sessions_start_with_the_right_password_and_end_at_logout() {
        let hash = bcrypt::hash("pw", 4).unwrap();
        let login = Login::new(
            vec![LoginUser {
                name: "ops".into(),
                password_hash: hash,
            }],
            Duration::from_secs(60),
            false,
        );
        assert!(login.enabled());
        assert_eq!(login.sign_in("ops", "bad"), Err(Refusal::Wrong));
        assert_eq!(login.sign_in("nobody", "pw"), Err(Refusal::Wrong));
        let (token, csrf) = login.sign_in("ops", "pw").unwrap();
        let h = headers(&format!("other=1; {SESSION_COOKIE}={token}"));
        assert_eq!(login.session(&h), Some(("ops".to_string(), csrf)));
        login.sign_out(&h);
        assert_eq!(login.session(&h), None);
        assert!(!Login::new(Vec::new(), Duration::from_secs(1), false).enabled());
    }

    #[test]
    fn unknown_users_cost_a_bcrypt_check_and_guessing_is_throttled() {
        let users = vec![LoginUser {
            name: "ops".into(),
            password_hash: bcrypt::hash("pw", 6).unwrap(),
        }];
        let login = Login::new(users, Duration::from_secs(60), true);
        assert_eq!(cost_of(&login.dummy_hash), Some(6));
        assert!(!bcrypt::verify("", &login.dummy_hash).unwrap());
        for _ in 0..crate::throttle::PER_NAME {
            assert_eq!(login.sign_in("ops", "guess"), Err(Refusal::Wrong));
        }
        // Refused even with the right password, until the failures expire.
        assert!(matches!(
            login.sign_in("ops", "pw"),
            Err(Refusal::Throttled(_))
        ));
        assert_eq!(login.secure_flag(&HeaderMap::new()), "; Secure");
    }

    #[test]
    fn assets_are_open() {
        assert!(open_path("/assets/app.js") && !open_path("/sources/1/hosts"));
    }
}
