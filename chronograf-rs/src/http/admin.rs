//! The InfluxDB admin page and API: databases and retention policies, users and grants,
//! running queries.

use super::explorer::first_column;
use super::{error, json_or_bad_gateway, page, SourceOf};
use crate::source::Source;
use crate::users::{UserChange, UserRow};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use influxql::quote_ident;

/// A retention policy as the admin page shows it.
#[derive(serde::Serialize)]
struct PolicyRow {
    name: String,
    duration: String,
    shard: String,
    replication: i64,
    default: bool,
}

/// A database and its policies.
#[derive(serde::Serialize)]
struct DatabaseRow {
    name: String,
    policies: Vec<PolicyRow>,
}

async fn databases(src: &Source) -> Result<Vec<DatabaseRow>, crate::source::SourceError> {
    let names = first_column(&src.query("", "", "SHOW DATABASES").await?);
    let mut out = Vec::new();
    for name in names {
        let answer = src
            .query(
                &name,
                "",
                &format!("SHOW RETENTION POLICIES ON {}", quote_ident(&name)),
            )
            .await?;
        let policies = answer["results"][0]["series"][0]["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| PolicyRow {
                name: r[0].as_str().unwrap_or_default().to_string(),
                duration: r[1].as_str().unwrap_or_default().to_string(),
                shard: r[2].as_str().unwrap_or_default().to_string(),
                replication: r[3].as_i64().unwrap_or(1),
                default: r[4].as_bool().unwrap_or(false),
            })
            .collect();
        out.push(DatabaseRow { name, policies });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    databases: Vec<DatabaseRow>,
    users: Vec<UserRow>,
    error: Option<String>,
}

/// The store's users with their grants.
async fn users(src: &Source) -> Result<Vec<UserRow>, crate::source::SourceError> {
    let mut out = Vec::new();
    for (name, admin) in crate::users::parse_users(&src.query("", "", "SHOW USERS").await?) {
        let grants = src
            .query("", "", &format!("SHOW GRANTS FOR {}", quote_ident(&name)))
            .await?;
        out.push(UserRow {
            name,
            admin,
            grants: crate::users::parse_grants(&grants),
        });
    }
    Ok(out)
}

pub(super) async fn list_users(SourceOf(src): SourceOf) -> Response {
    json_or_bad_gateway("users", users(&src).await)
}

/// The store's running queries (`SHOW QUERIES`) as `{"queries": [{id, query, database,
/// duration, status}]}`.
pub(super) async fn list_queries(SourceOf(src): SourceOf) -> Response {
    match src.query("", "", "SHOW QUERIES").await {
        Ok(answer) => {
            let queries: Vec<serde_json::Value> = answer["results"][0]["series"][0]["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    serde_json::json!({
                        "id": r[0], "query": r[1], "database": r[2], "duration": r[3], "status": r[4],
                    })
                })
                .collect();
            Json(serde_json::json!({ "queries": queries })).into_response()
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}

/// `KILL QUERY qid`.
pub(super) async fn kill_query(
    SourceOf(src): SourceOf,
    Path((_, qid)): Path<(String, u64)>,
) -> Response {
    manage(&src, &format!("KILL QUERY {qid}"), StatusCode::NO_CONTENT).await
}

/// Applies one [`UserChange`] (create, drop, password, grant, revoke).
pub(super) async fn change_user(
    SourceOf(src): SourceOf,
    Json(change): Json<UserChange>,
) -> Response {
    match change.statement() {
        Ok(q) => manage(&src, &q, StatusCode::NO_CONTENT).await,
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    }
}

pub(super) async fn admin_page(SourceOf(src): SourceOf) -> Response {
    let (databases, error) = match databases(&src).await {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let (users, error) = match users(&src).await {
        Ok(u) => (u, error),
        Err(e) => (Vec::new(), error.or(Some(e.to_string()))),
    };
    page(AdminPage {
        databases,
        users,
        error,
    })
}

pub(super) async fn list_dbs(SourceOf(src): SourceOf) -> Response {
    json_or_bad_gateway("databases", databases(&src).await)
}

/// Runs a management statement; the statement's own error becomes a 422.
async fn manage(src: &Source, q: &str, ok: StatusCode) -> Response {
    match src.query("", "", q).await {
        Ok(a) => match a["results"][0]["error"].as_str() {
            Some(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
            None => ok.into_response(),
        },
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// A duration as InfluxQL takes it (`7d`, `INF`); anything else is refused.
fn duration_literal(d: &str) -> Option<String> {
    let d = d.trim();
    let valid = d.eq_ignore_ascii_case("inf")
        || (!d.is_empty()
            && d.chars().all(|c| c.is_ascii_alphanumeric())
            && d.starts_with(|c: char| c.is_ascii_digit()));
    valid.then(|| {
        if d.eq_ignore_ascii_case("inf") {
            "INF".to_string()
        } else {
            d.to_string()
        }
    })
}

pub(super) async fn create_db(
    SourceOf(src): SourceOf,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "a database needs a name");
    };
    manage(
        &src,
        &format!("CREATE DATABASE {}", quote_ident(name)),
        StatusCode::CREATED,
    )
    .await
}

pub(super) async fn drop_db(
    SourceOf(src): SourceOf,
    Path((_, db)): Path<(String, String)>,
) -> Response {
    manage(
        &src,
        &format!("DROP DATABASE {}", quote_ident(&db)),
        StatusCode::NO_CONTENT,
    )
    .await
}

pub(super) async fn create_rp(
    SourceOf(src): SourceOf,
    Path((_, db)): Path<(String, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a retention policy needs a name",
        );
    };
    let Some(duration) = body["duration"].as_str().and_then(duration_literal) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid duration (7d, 24h, INF)",
        );
    };
    let replication = body["replication"].as_u64().unwrap_or(1).max(1);
    let default = if body["isDefault"].as_bool().unwrap_or(false) {
        " DEFAULT"
    } else {
        ""
    };
    let q = format!(
        "CREATE RETENTION POLICY {} ON {} DURATION {duration} REPLICATION {replication}{default}",
        quote_ident(name),
        quote_ident(&db)
    );
    manage(&src, &q, StatusCode::CREATED).await
}

/// `PATCH …/rps/{rp}`: `ALTER RETENTION POLICY` with the `duration`, `replication` and
/// `isDefault` given (at least one).
pub(super) async fn alter_rp(
    SourceOf(src): SourceOf,
    Path((_, db, rp)): Path<(String, String, String)>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut options = String::new();
    if let Some(d) = body.get("duration").filter(|d| !d.is_null()) {
        let Some(duration) = d.as_str().and_then(duration_literal) else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid duration (7d, 24h, INF)",
            );
        };
        options.push_str(&format!(" DURATION {duration}"));
    }
    if let Some(r) = body["replication"].as_u64() {
        options.push_str(&format!(" REPLICATION {}", r.max(1)));
    }
    if body["isDefault"].as_bool() == Some(true) {
        options.push_str(" DEFAULT");
    }
    if options.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing to change: give duration, replication or isDefault",
        );
    }
    let q = format!(
        "ALTER RETENTION POLICY {} ON {}{options}",
        quote_ident(&rp),
        quote_ident(&db)
    );
    manage(&src, &q, StatusCode::OK).await
}

pub(super) async fn drop_rp(
    SourceOf(src): SourceOf,
    Path((_, db, rp)): Path<(String, String, String)>,
) -> Response {
    manage(
        &src,
        &format!(
            "DROP RETENTION POLICY {} ON {}",
            quote_ident(&rp),
            quote_ident(&db)
        ),
        StatusCode::NO_CONTENT,
    )
    .await
}
