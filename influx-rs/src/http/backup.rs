//! `GET /backup`: a consistent backup of the running store, as a tar stream (see
//! [`crate::backup`]); what `influx-rs backup` asks for. With authentication on, only an admin
//! may take one (it holds every database and the users' password hashes).

use super::{auth_error, authenticate, error, AppState};
use crate::backup;
use crate::cluster::SEQUENCE_HEADER;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::Read;

/// Bytes read from the staged tar per piece of the answer.
const PIECE: usize = 256 * 1024;

/// The handler of `GET /backup`.
pub(super) async fn backup(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match authenticate(&state, &params, &headers) {
        Ok(Some(user)) if !user.admin => {
            return error(
                StatusCode::FORBIDDEN,
                &format!(
                    "{:?} is not an admin: only an admin may take a backup",
                    user.name
                ),
            )
        }
        Ok(_) => {}
        Err(e) => return auth_error(&e),
    }
    let engine = state.engine.clone();
    let staged = tokio::task::spawn_blocking(move || {
        let (tar, manifest) = backup::stage_tar(&engine, crate::cluster::applied::sequence_in)?;
        // Opened, then removed: the open file lives on until the answer is sent.
        let file = std::fs::File::open(&tar).map_err(|source| backup::BackupError::Io {
            path: tar.clone(),
            source,
        });
        let _ = std::fs::remove_file(&tar);
        file.map(|f| (f, manifest))
    })
    .await;
    let (file, manifest) = match staged {
        Ok(Ok(staged)) => staged,
        Ok(Err(e)) => {
            tracing::error!("backup failed: {e}");
            return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("backup: {e}"));
        }
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &format!("backup: {e}")),
    };
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    tracing::info!(
        files = manifest.files.len(),
        bytes,
        sequence = ?manifest.sequence,
        "backup taken"
    );
    let pieces = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; PIECE];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => None,
            Ok(Ok((buf, file))) => Some((Ok(buf), Some(file))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(pieces),
    )
        .into_response();
    if let Some(sequence) = manifest.sequence {
        if let Ok(v) = sequence.to_string().parse() {
            res.headers_mut().insert(SEQUENCE_HEADER, v);
        }
    }
    res
}
