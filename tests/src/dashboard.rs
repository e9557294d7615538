//! What the dashboard's tests share: a store with Telegraf-shaped data, chronograf-rs in front
//! of it, and readers of its pages and chart endpoints.

use crate::{free_port, Store};
use std::time::{SystemTime, UNIX_EPOCH};

/// GETs `path` of chronograf-rs on `port`.
pub fn get(port: u16, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::get(format!("http://127.0.0.1:{port}{path}")).unwrap()
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Writes line protocol into the agents' database; it must be taken.
pub fn write_telegraf(store: &Store, lines: String) {
    let r = crate::dashboard_client()
        .post(store.url("/write?db=telegraf"))
        .body(lines)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().unwrap_or_default());
}

/// A store holding 5 minutes of Telegraf-shaped data for host web1 (and an ill-named host).
pub fn store_with_hosts(dir: &std::path::Path) -> Store {
    let store = Store::start(&dir.join("store"), free_port());
    crate::dashboard_client()
        .post(store.url("/query"))
        .form(&[("q", "CREATE DATABASE telegraf")])
        .send()
        .unwrap();
    let now = now_ns();
    let mut body = String::new();
    for i in 0..30i64 {
        let t = now - (30 - i) * 10_000_000_000;
        body.push_str(&format!(
            "cpu,cpu=cpu-total,host=web1 usage_user={},usage_idle={} {t}\n",
            10 + i % 5,
            80 - i % 5
        ));
        body.push_str(&format!(
            "system,host=web1 load1=0.{i},uptime={}i {t}\n",
            1000 + i * 10
        ));
        body.push_str(&format!(
            "mem,host=web1 used={}i,available=4000000000i {t}\n",
            2_000_000_000 + i
        ));
        body.push_str(&format!("disk,host=web1,path=/ used_percent=42.5 {t}\n"));
        body.push_str(&format!("system,host=db<script>1 load1=1,uptime=5i {t}\n"));
    }
    // Uptime goes on rising a minute past now, so that the host still counts as up when a busy
    // machine takes its time between this write and the query (its last windows are not empty).
    for i in 30..36i64 {
        let t = now - (30 - i) * 10_000_000_000;
        body.push_str(&format!("system,host=web1 uptime={}i {t}\n", 1000 + i * 10));
    }
    write_telegraf(&store, body);
    store
}

/// The host list's JSON and its row of `host`.
pub fn host_row(port: u16, host: &str) -> (serde_json::Value, serde_json::Value) {
    let hosts: serde_json::Value = get(port, "/chronograf/v1/sources/1/hosts").json().unwrap();
    let row = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == host)
        .cloned()
        .unwrap_or_else(|| panic!("{host} is not listed: {hosts}"));
    (hosts, row)
}

/// What `/chronograf/v1/sources/1/series` answers for `query` on the agents' database.
pub fn chart_series(port: u16, query: &str) -> serde_json::Value {
    crate::dashboard_client()
        .post(format!(
            "http://127.0.0.1:{port}/chronograf/v1/sources/1/series"
        ))
        .json(&serde_json::json!({ "db": "telegraf", "query": query }))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The `data-queries` of every chart of a page.
pub fn chart_queries(html: &str) -> Vec<String> {
    html.split("data-queries=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .flat_map(|attr| {
            let json = attr
                .replace("&#34;", "\"")
                .replace("&#39;", "'")
                .replace("&#62;", ">")
                .replace("&#60;", "<")
                .replace("&amp;", "&");
            serde_json::from_str::<Vec<String>>(&json).unwrap()
        })
        .collect()
}
