//! The Cluster page: the store's cluster as its nodes see it (influx-rs `/cluster`) — the
//! colour, why it is not green, and each node's applied position, lag, last contact and whether
//! it runs the once-per-cluster work; a store that is a single node says so.

use super::{json_or_bad_gateway, page, AppState, SourceOf};
use askama::Template;
use axum::extract::State;
use axum::response::Response;

/// One node's row.
struct NodeRow {
    node: String,
    applied: u64,
    lag: u64,
    last_contact_ms: u64,
    in_step: bool,
    holds_lease: bool,
    stopped: Option<String>,
}

#[derive(Template)]
#[template(path = "cluster.html")]
struct ClusterPage {
    source: String,
    /// `green`, `yellow` or `red`; `None` for a single node.
    status: Option<String>,
    reasons: Vec<String>,
    log: Option<(u64, u64)>,
    nodes: Vec<NodeRow>,
    error: Option<String>,
}

impl ClusterPage {
    /// The page for `source`'s answer to `/cluster` (`None`: a single node).
    fn of(source: String, cluster: Option<&serde_json::Value>) -> ClusterPage {
        let Some(c) = cluster else {
            return ClusterPage {
                source,
                status: None,
                reasons: Vec::new(),
                log: None,
                nodes: Vec::new(),
                error: None,
            };
        };
        let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        let nodes = c["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| NodeRow {
                node: n["node"].as_str().unwrap_or_default().to_string(),
                applied: u(&n["applied"]),
                lag: u(&n["lag"]),
                last_contact_ms: u(&n["last_contact_ms"]),
                in_step: n["in_step"].as_bool().unwrap_or(false),
                holds_lease: n["holds_lease"].as_bool().unwrap_or(false),
                stopped: n["stopped"].as_str().map(str::to_string),
            })
            .collect();
        ClusterPage {
            source,
            status: Some(c["status"].as_str().unwrap_or("red").to_string()),
            reasons: c["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            log: c["log"].as_array().map(|l| (u(&l[0]), u(&l[1]))),
            nodes,
            error: None,
        }
    }
}

/// `GET /sources/{id}/cluster`.
pub(super) async fn cluster_page(SourceOf(src): SourceOf) -> Response {
    let name = src.config.name.clone();
    match src.cluster().await {
        Ok(cluster) => page(ClusterPage::of(name, cluster.as_ref())),
        Err(e) => page(ClusterPage {
            error: Some(e.to_string()),
            ..ClusterPage::of(name, None)
        }),
    }
}

/// `GET /chronograf/v1/sources/{id}/cluster`: `{"cluster": …}`, `null` for a single node.
pub(super) async fn cluster_json(State(_): State<AppState>, SourceOf(src): SourceOf) -> Response {
    json_or_bad_gateway("cluster", src.cluster().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_colour_the_reasons_and_every_node() {
        let answer = serde_json::json!({
            "status": "yellow",
            "reasons": ["node n2 silent for 7372 ms"],
            "node": "n1", "applied": 9, "log": [1, 9],
            "nodes": [
                {"node": "n1", "applied": 9, "lag": 0, "last_contact_ms": 300, "in_step": true, "holds_lease": true},
                {"node": "n2<b>", "applied": 4, "lag": 5, "last_contact_ms": 7372, "in_step": false, "holds_lease": false}
            ]
        });
        let html = ClusterPage::of("influx-rs".into(), Some(&answer))
            .render()
            .unwrap();
        assert!(html.contains("class=\"health yellow\""), "{html}");
        assert!(html.contains("node n2 silent for 7372 ms"), "{html}");
        assert!(
            html.contains("n2&#60;b&#62;") || html.contains("n2&lt;b&gt;"),
            "names are escaped: {html}"
        );
        assert!(html.contains("runs CQs and retention"), "{html}");
        let single = ClusterPage::of("influx-rs".into(), None).render().unwrap();
        assert!(single.contains("a single node"), "{single}");
    }
}
