//! chronograf-rs against a real influx-rs: the host list and host pages show what the agent
//! writes, the chart endpoints return compact columns, assets and security headers are served;
//! and the whole stack as processes (agent → store ← dashboard).

use std::time::Duration;
use tick_tests::dashboard::{chart_series, get, host_row, store_with_hosts};
use tick_tests::{free_port, start_chronograf, wait_until, Daemon, Store};

#[test]
fn hosts_and_host_pages_show_the_stores_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &["--telegraf-system-interval", "10s"]);

    let page = get(port, "/sources/1/hosts");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    let html = page.text().unwrap();
    assert!(html.contains(">web1</a>"), "{html}");
    assert!(
        html.contains("db&#60;script&#62;1") || html.contains("db&lt;script&gt;1"),
        "host names are escaped: {html}"
    );
    assert!(!html.contains("db<script>1"));
    let (hosts, web1) = host_row(port, "web1");
    assert_eq!(web1["up"], true, "{hosts}");
    assert!(web1["cpu"].as_f64().unwrap() > 9.0, "{hosts}");
    assert!(web1["load"].as_f64().is_some(), "{hosts}");
    assert_eq!(web1["apps"], serde_json::json!(["system"]));

    let host = get(port, "/sources/1/hosts/web1?range=1h").text().unwrap();
    for title in [
        "CPU Usage",
        "System Load",
        "System - Memory Gigabytes Used",
        "System - Disk used %",
    ] {
        assert!(host.contains(title), "{title} missing:\n{host}");
    }
    assert!(
        !host.contains("System - Network Mb/s"),
        "no net data, no net cell"
    );
    let cpu_query = "SELECT 100 - mean(\"usage_idle\") AS \"usage\" FROM \"cpu\" WHERE time > now() - 1h AND \"host\" = 'web1' GROUP BY time(1m)";
    let series = chart_series(port, cpu_query);
    assert!(series["error"].is_null(), "{series}");
    let values = series["series"][0]["values"][0].as_array().unwrap();
    assert!(
        values
            .iter()
            .filter_map(|v| v.as_f64())
            .any(|v| (19.0..=25.0).contains(&v)),
        "{series}"
    );
    assert!(
        series["series"][0]["times"][0].as_i64().unwrap() > 1_000_000_000_000,
        "milliseconds"
    );

    let bad = chart_series(port, "SELEC nope");
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .contains("error parsing query"),
        "{bad}"
    );
    assert_eq!(
        get(port, "/chronograf/v1/sources/9/hosts")
            .status()
            .as_u16(),
        404
    );
    let js = get(port, "/assets/dygraph.min.js");
    assert_eq!(js.headers()["content-type"], "application/javascript");
    assert!(js.text().unwrap().contains("Dygraph"));
    let env: serde_json::Value = get(port, "/chronograf/v1/env").json().unwrap();
    assert_eq!(env["telegrafSystemInterval"], "10s");
}

#[test]
fn the_stack_as_processes_shows_the_agents_host() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start(&dir.path().join("store"), free_port());
    let conf = dir.path().join("telegraf.conf");
    std::fs::write(
        &conf,
        format!(
            "[agent]\n  interval = \"1s\"\n  flush_interval = \"1s\"\n  hostname = \"stack-host\"\n[[outputs.influxdb]]\n  urls = [\"{}\"]\n[[inputs.cpu]]\n[[inputs.mem]]\n[[inputs.system]]\n[[inputs.disk]]\n  ignore_fs = [\"tmpfs\", \"devtmpfs\", \"overlay\", \"squashfs\"]\n",
            store.url("")
        ),
    )
    .unwrap();
    let _agent = Daemon::spawn(
        "telegraf-rs",
        &[
            "--config",
            &conf.to_string_lossy(),
            "--data-dir",
            &dir.path().join("agent").to_string_lossy(),
        ],
        &[],
        &dir.path().join("agent.log"),
    );
    let (_c, port) = start_chronograf(dir.path(), &store, &["--telegraf-system-interval", "1s"]);
    let listed = wait_until(Duration::from_secs(30), || {
        get(port, "/sources/1/hosts")
            .text()
            .is_ok_and(|h| h.contains(">stack-host</a>"))
    });
    assert!(listed, "the agent's host never appeared");
    let up = wait_until(Duration::from_secs(20), || {
        let v: serde_json::Value = get(port, "/chronograf/v1/sources/1/hosts")
            .json()
            .unwrap_or_default();
        v["hosts"].as_array().is_some_and(|h| {
            h.iter()
                .any(|h| h["name"] == "stack-host" && h["up"] == true && h["cpu"].is_number())
        })
    });
    assert!(
        up,
        "{}",
        get(port, "/chronograf/v1/sources/1/hosts").text().unwrap()
    );
    let host = get(port, "/sources/1/hosts/stack-host").text().unwrap();
    assert!(
        host.contains("CPU Usage") && host.contains("System - Disk used %"),
        "{host}"
    );
}

#[test]
fn data_explorer_schema_query_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let page = get(port, "/sources/1/chronograf/data-explorer?q=SELECT%201")
        .text()
        .unwrap();
    assert!(
        page.contains("<option value=\"telegraf\" selected>telegraf</option>"),
        "{page}"
    );
    assert!(page.contains("/assets/explorer.js"));
    let schema: serde_json::Value = get(port, "/chronograf/v1/sources/1/schema?db=telegraf")
        .json()
        .unwrap();
    assert_eq!(
        schema["measurements"],
        serde_json::json!(["cpu", "disk", "mem", "system"])
    );
    let cpu: serde_json::Value = get(
        port,
        "/chronograf/v1/sources/1/schema?db=telegraf&measurement=cpu",
    )
    .json()
    .unwrap();
    assert_eq!(
        cpu["fields"],
        serde_json::json!(["usage_idle", "usage_user"])
    );
    assert_eq!(cpu["tags"], serde_json::json!(["cpu", "host"]));
    assert_eq!(
        cpu["tagValues"],
        serde_json::json!({"cpu": ["cpu-total"], "host": ["web1"]})
    );
    assert_eq!(schema["retentionPolicies"], serde_json::json!(["autogen"]));
    let csv = get(port, "/chronograf/v1/sources/1/csv?db=telegraf&q=SELECT%20used_percent%20FROM%20disk%20GROUP%20BY%20path%20LIMIT%202");
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let text = csv.text().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "name,tags,time,used_percent");
    assert!(
        lines[1].starts_with("disk,path=/,") && lines[1].ends_with(",42.5"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(get(port, "/assets/explorer.js").status().as_u16(), 200);
}

#[test]
fn dashboards_are_created_drawn_edited_exported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (mut c, port) = start_chronograf(dir.path(), &store, &[]);
    let http = tick_tests::dashboard_client();
    let api = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let cell_query = "SELECT mean(\"usage_idle\") FROM \"cpu\" WHERE time > :dashboardTime: GROUP BY time(:interval:)";
    let created = http
        .post(api("/chronograf/v1/dashboards"))
        .json(&serde_json::json!({ "name": "Ops", "cells": [{ "name": "Idle", "type": "line", "queries": [{ "query": cell_query, "db": "telegraf" }],
            "axes": { "y": { "bounds": ["0", "100"], "label": "idle", "suffix": "%", "scale": "linear" } } }] }))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let d: serde_json::Value = created.json().unwrap();
    let id = d["id"].as_u64().unwrap();
    assert_eq!(
        d["links"]["self"],
        format!("/chronograf/v1/dashboards/{id}")
    );

    let list = get(port, "/sources/1/dashboards").text().unwrap();
    assert!(
        list.contains(&format!("href=\"/sources/1/dashboards/{id}\">Ops</a>")),
        "{list}"
    );
    let page = get(port, &format!("/sources/1/dashboards/{id}?range=24h"))
        .text()
        .unwrap();
    assert!(page.contains("Idle"), "{page}");
    // Chronograf's axis settings are kept and handed to the chart.
    assert_eq!(
        d["cells"][0]["axes"]["y"]["bounds"],
        serde_json::json!(["0", "100"])
    );
    assert!(
        page.contains("data-y-axis=\"{&#34;bounds&#34;:[&#34;0&#34;,&#34;100&#34;],&#34;label&#34;:&#34;idle&#34;"),
        "{page}"
    );
    // `:interval:` is left to the chart (its width decides) unless the user picked one.
    assert!(
        page.contains("WHERE time &#62; now() - 24h GROUP BY time(:interval:)")
            && page.contains("data-range-ms=\"86400000\""),
        "template variables replaced: {page}"
    );
    let picked = get(
        port,
        &format!("/sources/1/dashboards/{id}?range=24h&interval=1h"),
    )
    .text()
    .unwrap();
    assert!(
        picked.contains("WHERE time &#62; now() - 24h GROUP BY time(1h)"),
        "{picked}"
    );

    let mut renamed = d.clone();
    renamed["name"] = "Ops 2".into();
    renamed["cells"][0]["type"] = "single-stat".into();
    assert_eq!(
        http.put(api(&format!("/chronograf/v1/dashboards/{id}")))
            .json(&renamed)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    renamed["cells"][0]["type"] = "pie".into();
    let bad = http
        .put(api(&format!("/chronograf/v1/dashboards/{id}")))
        .json(&renamed)
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);

    // Export, import as a copy, restart: both are kept.
    let exported: serde_json::Value = get(port, &format!("/chronograf/v1/dashboards/{id}"))
        .json()
        .unwrap();
    assert_eq!(exported["name"], "Ops 2");
    let imported: serde_json::Value = http
        .post(api("/chronograf/v1/dashboards"))
        .json(&exported)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_ne!(imported["id"], exported["id"]);
    c.stop();
    let (_c2, port) = start_chronograf(dir.path(), &store, &[]);
    let all: serde_json::Value = get(port, "/chronograf/v1/dashboards").json().unwrap();
    let names: Vec<&str> = all["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ops 2", "Ops 2"]);
    assert_eq!(all["dashboards"][0]["cells"][0]["type"], "single-stat");
    let http = tick_tests::dashboard_client();
    assert_eq!(
        http.delete(format!(
            "http://127.0.0.1:{port}/chronograf/v1/dashboards/{id}"
        ))
        .send()
        .unwrap()
        .status()
        .as_u16(),
        204
    );
    assert_eq!(
        get(port, &format!("/chronograf/v1/dashboards/{id}"))
            .status()
            .as_u16(),
        404
    );
    assert_eq!(get(port, "/assets/dashboards.js").status().as_u16(), 200);
}

#[test]
fn admin_creates_and_drops_databases_and_policies() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let http = tick_tests::dashboard_client();
    let api = |p: &str| format!("http://127.0.0.1:{port}/chronograf/v1/sources/1{p}");
    assert_eq!(
        http.post(api("/dbs"))
            .json(&serde_json::json!({ "name": "my db" }))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        201
    );
    let rp = http
        .post(api("/dbs/my%20db/rps"))
        .json(&serde_json::json!({ "name": "week", "duration": "7d", "isDefault": true }))
        .send()
        .unwrap();
    assert_eq!(rp.status().as_u16(), 201);
    let bad = http
        .post(api("/dbs/my%20db/rps"))
        .json(&serde_json::json!({ "name": "x", "duration": "7d; DROP DATABASE telegraf" }))
        .send()
        .unwrap();
    assert_eq!(
        bad.status().as_u16(),
        422,
        "durations are checked, not pasted"
    );
    let short = http
        .post(api("/dbs/my%20db/rps"))
        .json(&serde_json::json!({ "name": "short", "duration": "1m" }))
        .send()
        .unwrap();
    assert_eq!(short.status().as_u16(), 422);
    assert!(short
        .text()
        .unwrap()
        .contains("retention policy duration must be at least 1h0m0s"));
    let dbs: serde_json::Value = http.get(api("/dbs")).send().unwrap().json().unwrap();
    let mine = dbs["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "my db")
        .unwrap()
        .clone();
    let week = mine["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "week")
        .unwrap()
        .clone();
    assert_eq!(week["duration"], "168h0m0s");
    assert_eq!(week["default"], true);
    let page = get(port, "/sources/1/admin").text().unwrap();
    assert!(
        page.contains("my db") && page.contains("168h0m0s"),
        "{page}"
    );
    // A policy is altered: a new duration, then the default moves back to autogen.
    let altered = http
        .patch(api("/dbs/my%20db/rps/week"))
        .json(&serde_json::json!({ "duration": "14d" }))
        .send()
        .unwrap();
    assert_eq!(altered.status().as_u16(), 200, "{:?}", altered.text());
    let nothing = http
        .patch(api("/dbs/my%20db/rps/week"))
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    assert_eq!(nothing.status().as_u16(), 422);
    http.patch(api("/dbs/my%20db/rps/autogen"))
        .json(&serde_json::json!({ "isDefault": true }))
        .send()
        .unwrap();
    let dbs: serde_json::Value = http.get(api("/dbs")).send().unwrap().json().unwrap();
    let text = dbs.to_string();
    assert!(text.contains("336h0m0s"), "{text}");
    let policies = dbs["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "my db")
        .unwrap()["policies"]
        .clone();
    let default_of = |name: &str| {
        policies
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["default"]
            .clone()
    };
    assert_eq!(
        (default_of("autogen"), default_of("week")),
        (serde_json::json!(true), serde_json::json!(false))
    );
    assert_eq!(
        http.delete(api("/dbs/my%20db/rps/week"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        http.delete(api("/dbs/my%20db"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let dbs: serde_json::Value = http.get(api("/dbs")).send().unwrap().json().unwrap();
    assert!(!dbs.to_string().contains("my db"));
}

#[test]
fn admin_manages_users_and_grants_on_an_auth_enabled_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::start_with_env(
        &dir.path().join("store"),
        free_port(),
        &[("INFLUX_RS_HTTP_AUTH_ENABLED", "true")],
    );
    let http = tick_tests::dashboard_client();
    let bootstrap = http
        .post(store.url("/query"))
        .form(&[(
            "q",
            "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
        )])
        .send()
        .unwrap();
    assert_eq!(bootstrap.status().as_u16(), 200);
    let (_c, port) = start_chronograf(
        dir.path(),
        &store,
        &["--influxdb-username", "admin", "--influxdb-password", "pw"],
    );
    let users = format!("http://127.0.0.1:{port}/chronograf/v1/sources/1/users");
    let change = |body: serde_json::Value| {
        let r = http.post(&users).json(&body).send().unwrap();
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    assert_eq!(
        change(serde_json::json!({"action": "create", "name": "bob's", "password": "b"})).0,
        204
    );
    assert_eq!(
        http.post(format!(
            "http://127.0.0.1:{port}/chronograf/v1/sources/1/dbs"
        ))
        .json(&serde_json::json!({ "name": "app" }))
        .send()
        .unwrap()
        .status()
        .as_u16(),
        201
    );
    assert_eq!(change(serde_json::json!({"action": "grant", "name": "bob's", "database": "app", "privilege": "READ"})).0, 204);
    let listed: serde_json::Value = http.get(&users).send().unwrap().json().unwrap();
    let bob = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob's")
        .unwrap()
        .clone();
    assert_eq!(bob["admin"], false);
    assert_eq!(bob["grants"], serde_json::json!([["app", "READ"]]));
    let page = get(port, "/sources/1/admin").text().unwrap();
    assert!(
        page.contains("bob&#x27;s") || page.contains("bob&#39;s"),
        "{page}"
    );

    // The new user can log in to the store and read what it was granted.
    let as_bob = |q: &str| {
        http.get(store.url("/query"))
            .basic_auth("bob's", Some("b"))
            .query(&[("q", q), ("db", "app")])
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(as_bob("SHOW MEASUREMENTS"), 200);
    assert_eq!(as_bob("SHOW USERS"), 403);
    assert_eq!(
        change(serde_json::json!({"action": "set-password", "name": "bob's", "password": "new"})).0,
        204
    );
    assert_eq!(as_bob("SHOW MEASUREMENTS"), 401);
    assert_eq!(change(serde_json::json!({"action": "revoke", "name": "bob's", "database": "app", "privilege": "READ"})).0, 204);
    assert_eq!(change(serde_json::json!({"action": "grant", "name": "bob's", "database": "", "privilege": "ALL"})).0, 204);
    let listed: serde_json::Value = http.get(&users).send().unwrap().json().unwrap();
    assert!(
        listed
            .to_string()
            .contains("\"admin\":true,\"grants\":[],\"name\":\"bob's\""),
        "{listed}"
    );

    // Refusals come back with the reason.
    let (status, body) = change(
        serde_json::json!({"action": "grant", "name": "bob's", "database": "app", "privilege": "SUPER"}),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = change(serde_json::json!({"action": "drop", "name": "nobody"}));
    assert_eq!(
        (status, body.contains("user not found")),
        (422, true),
        "{body}"
    );
    assert_eq!(
        change(serde_json::json!({"action": "drop", "name": "bob's"})).0,
        204
    );
}

#[test]
fn tickscripts_are_written_and_edited_through_the_kapacitor_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    std::fs::create_dir_all(dir.path().join("load")).unwrap();
    let api = free_port();
    let _k = tick_tests::start_kapacitor(dir.path(), &store, free_port(), api, "kapacitor.log");
    let kapacitor_url = format!("http://127.0.0.1:{api}");
    let (_c, port) = start_chronograf(dir.path(), &store, &["--kapacitor-url", &kapacitor_url]);
    let http = tick_tests::dashboard_client();
    // The connection itself, as Chronograf's API lists it.
    let listed: serde_json::Value = get(port, "/chronograf/v1/sources/1/kapacitors")
        .json()
        .unwrap();
    assert_eq!(listed["kapacitors"][0]["url"], kapacitor_url.as_str());
    assert_eq!(listed["kapacitors"][0]["active"], true);
    assert_eq!(
        listed["kapacitors"][0]["links"]["rules"],
        "/chronograf/v1/sources/1/kapacitors/1/rules"
    );
    assert_eq!(
        get(port, "/chronograf/v1/sources/1/kapacitors/2")
            .status()
            .as_u16(),
        404
    );
    let proxy = |path: &str| {
        format!("http://127.0.0.1:{port}/chronograf/v1/sources/1/kapacitors/1/proxy?path={path}")
    };
    let created = http
        .post(proxy("/kapacitor/v1/tasks"))
        .json(&serde_json::json!({
            "id": "hand_written", "type": "stream", "status": "enabled",
            "dbrps": [{ "db": "telegraf", "rp": "autogen" }],
            "script": "stream\n    |from()\n        .measurement('cpu')\n    |httpOut('seen')\n",
        }))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 200, "{:?}", created.text());
    let page = get(port, "/sources/1/tickscripts/hand_written")
        .text()
        .unwrap();
    assert!(page.contains("TICKscript hand_written"), "{page}");
    assert!(get(port, "/sources/1/alert-rules")
        .text()
        .unwrap()
        .contains("/sources/1/tickscripts/hand_written"));

    // A broken edit is refused with kapacitor-rs's words; the task keeps its script.
    let broken = http
        .patch(proxy("/kapacitor/v1/tasks/hand_written"))
        .json(&serde_json::json!({ "script": "stream\n    |from(\n" }))
        .send()
        .unwrap();
    assert_eq!(broken.status().as_u16(), 400);
    let task: serde_json::Value = http
        .get(proxy("/kapacitor/v1/tasks/hand_written"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        task["script"].as_str().unwrap().contains("httpOut('seen')"),
        "{task}"
    );
    assert_eq!(task["executing"], true);

    // Only kapacitor's API is reachable through the proxy.
    for path in ["/debug/pprof", "/kapacitor/v1/../../etc/passwd"] {
        let refused = http.get(proxy(path)).send().unwrap();
        assert_eq!(refused.status().as_u16(), 422, "{path}");
    }
}

#[test]
fn template_variables_fill_cell_queries() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let http = tick_tests::dashboard_client();
    let dashboards = format!("http://127.0.0.1:{port}/chronograf/v1/dashboards");
    let created: serde_json::Value = http
        .post(&dashboards)
        .json(&serde_json::json!({
            "name": "vars",
            "templates": [
                { "tempVar": ":host:", "type": "tagValues",
                  "query": { "db": "telegraf", "measurement": "system", "tagKey": "host" } },
                { "tempVar": ":field:", "type": "csv",
                  "values": [{ "value": "usage_user", "selected": false }, { "value": "usage_idle", "selected": true }] },
                // A map shows names and puts values in the query; a custom meta-query may use
                // the variables before it.
                { "tempVar": ":site:", "type": "map",
                  "values": [{ "key": "production", "value": "'web1'", "selected": true }, { "key": "lab", "value": "'lab9'" }] },
                { "tempVar": ":cpus:", "type": "influxql",
                  "query": { "db": "telegraf", "influxql": "SHOW TAG VALUES FROM cpu WITH KEY = cpu WHERE host = :site:" } },
            ],
            "cells": [{ "name": "cpu", "type": "line", "queries": [{ "db": "telegraf",
                "query": "SELECT mean(:field:) FROM cpu WHERE host = :host: AND time > :dashboardTime: GROUP BY time(:interval:)" },
                { "db": "telegraf", "query": "SELECT max(usage_user) FROM cpu WHERE host = :site: AND cpu = ':cpus:'" }] }],
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["id"].as_u64().unwrap();
    let page = get(port, &format!("/sources/1/dashboards/{id}"))
        .text()
        .unwrap();
    // The tag values come from the store; the defaults are the first value and the selected one.
    assert!(
        page.contains(
            "<option value=\"db&#60;script&#62;1\" selected>db&#60;script&#62;1</option>"
        ) && page.contains("<option value=\"web1\">web1</option>"),
        "{page}"
    );
    assert!(
        page.contains("mean(usage_idle)") && page.contains("host = &#39;db&#60;script&#62;1&#39;"),
        "{page}"
    );
    assert!(
        page.contains(">production</option>")
            && page.contains("host = &#39;web1&#39; AND cpu = &#39;cpu-total&#39;"),
        "{page}"
    );
    let chosen = get(
        port,
        &format!(
            "/sources/1/dashboards/{id}?tempVars%5Bhost%5D=web1&tempVars%5Bfield%5D=usage_user"
        ),
    )
    .text()
    .unwrap();
    assert!(
        chosen.contains("mean(usage_user)") && chosen.contains("host = &#39;web1&#39;"),
        "{chosen}"
    );
    // A group-by interval picked in the page replaces the range's own `:interval:`.
    let grouped = get(port, &format!("/sources/1/dashboards/{id}?interval=30m"))
        .text()
        .unwrap();
    assert!(grouped.contains("GROUP BY time(30m)"), "{grouped}");
    assert!(grouped.contains("id=\"group-by\""), "{grouped}");
    // A value that is not offered falls back to the default.
    let forged = get(
        port,
        &format!("/sources/1/dashboards/{id}?tempVars%5Bfield%5D=x)%20FROM%20y"),
    )
    .text()
    .unwrap();
    assert!(forged.contains("mean(usage_idle)"), "{forged}");
    // The cell editor's preview has the server put the variables and range into a query, as
    // the page does for saved cells.
    let render = |params: &str| -> serde_json::Value {
        http.get(format!(
            "http://127.0.0.1:{port}/chronograf/v1/dashboards/{id}/render?{params}"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap()
    };
    let rendered = render(
        "query=SELECT%20mean(%3Afield%3A)%20FROM%20cpu%20WHERE%20host%20%3D%20%3Ahost%3A%20AND%20time%20%3E%20%3AdashboardTime%3A&tempVars%5Bhost%5D=web1",
    );
    assert_eq!(
        rendered["query"],
        "SELECT mean(usage_idle) FROM cpu WHERE host = 'web1' AND time > now() - 1h"
    );
    let missing = http
        .get(format!(
            "http://127.0.0.1:{port}/chronograf/v1/dashboards/999/render?query=x"
        ))
        .send()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    // Reserved names and unknown types are refused.
    let bad = http
        .post(&dashboards)
        .json(&serde_json::json!({ "name": "bad", "templates": [{ "tempVar": ":interval:", "type": "csv" }] }))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422, "{:?}", bad.text());
}

#[test]
fn login_sessions_and_csrf_tokens_guard_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    // The hash comes from the binary's own subcommand.
    let mut hasher = std::process::Command::new(tick_tests::binary("chronograf-rs"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(hasher.stdin.as_mut().unwrap(), b"s3cret\n").unwrap();
    let out = hasher.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let config = dir.path().join("chronograf-rs.toml");
    std::fs::write(
        &config,
        format!("[[users]]\nname = \"ops\"\npassword-hash = \"{hash}\"\n"),
    )
    .unwrap();
    let (_c, port) = start_chronograf(dir.path(), &store, &["--config", &config.to_string_lossy()]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Without a session: pages go to the login, APIs answer 401; health stays open.
    let page = http.get(format!("{base}/sources/1/hosts")).send().unwrap();
    assert_eq!(page.status().as_u16(), 303);
    assert_eq!(page.headers()["location"], "/login");
    assert_eq!(
        http.get(format!("{base}/chronograf/v1/dashboards"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let wrong = http
        .post(format!("{base}/login"))
        .form(&[("username", "ops"), ("password", "nope")])
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong
        .text()
        .unwrap()
        .contains("Wrong user name or password"));

    // Logged in: cookies HttpOnly and SameSite=Strict; state changes need the CSRF token.
    let ok = http
        .post(format!("{base}/login"))
        .form(&[("username", "ops"), ("password", "s3cret")])
        .send()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 303);
    let cookies: Vec<String> = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("tick_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("tick_csrf="))
        .unwrap();
    let pair = |c: &str| c.split(';').next().unwrap().to_string();
    let cookie_header = format!("{}; {}", pair(session), pair(csrf_cookie));
    let csrf = pair(csrf_cookie)
        .trim_start_matches("tick_csrf=")
        .to_string();
    let hosts = http
        .get(format!("{base}/sources/1/hosts"))
        .header("Cookie", &cookie_header)
        .send()
        .unwrap();
    assert_eq!(hosts.status().as_u16(), 200);
    let body = serde_json::json!({ "name": "mine" });
    let forged = http
        .post(format!("{base}/chronograf/v1/dashboards"))
        .header("Cookie", &cookie_header)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let made = http
        .post(format!("{base}/chronograf/v1/dashboards"))
        .header("Cookie", &cookie_header)
        .header("X-CSRF-Token", &csrf)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);

    // Logging out is a state change too: without the token it is refused and the session
    // lives on; with it the session is gone.
    let forged_logout = http
        .post(format!("{base}/logout"))
        .header("Cookie", &cookie_header)
        .send()
        .unwrap();
    assert_eq!(forged_logout.status().as_u16(), 403);
    let still = http
        .get(format!("{base}/chronograf/v1/dashboards"))
        .header("Cookie", &cookie_header)
        .send()
        .unwrap();
    assert_eq!(still.status().as_u16(), 200);
    http.post(format!("{base}/logout"))
        .header("Cookie", &cookie_header)
        .header("X-CSRF-Token", &csrf)
        .send()
        .unwrap();
    let after = http
        .get(format!("{base}/chronograf/v1/dashboards"))
        .header("Cookie", &cookie_header)
        .send()
        .unwrap();
    assert_eq!(after.status().as_u16(), 401);
}

#[test]
fn sources_are_added_edited_and_removed_in_the_ui() {
    let dir = tempfile::tempdir().unwrap();
    let first = store_with_hosts(dir.path());
    let second = Store::start(&dir.path().join("second"), free_port());
    let client = tick_tests::dashboard_client();
    client
        .post(second.url("/query"))
        .form(&[("q", "CREATE DATABASE other")])
        .send()
        .unwrap();
    client
        .post(second.url("/write?db=other"))
        .body("seen,host=far v=7i")
        .send()
        .unwrap();
    let (mut c, port) = start_chronograf(dir.path(), &first, &[]);
    let api = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut req = client.request(method, format!("http://127.0.0.1:{port}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let body = |url: &str| serde_json::json!({"name": "far away", "url": url, "telegraf": "other"});
    // Bad and unreachable URLs are refused with the reason; a reachable store is added.
    let (status, text) = api(
        reqwest::Method::POST,
        "/chronograf/v1/sources",
        Some(body("ftp://x")),
    );
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("is not an http:// or https:// URL"), "{text}");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (status, text) = api(
        reqwest::Method::POST,
        "/chronograf/v1/sources",
        Some(body(&dead)),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = api(
        reqwest::Method::POST,
        "/chronograf/v1/sources",
        Some(body(&second.url(""))),
    );
    assert_eq!(status, 201, "{text}");
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["id"], "2");
    assert_eq!(created["links"]["proxy"], "/chronograf/v1/sources/2/proxy");
    // Its proxy queries the second store, not the first.
    let proxy = |id: &str| {
        api(
            reqwest::Method::POST,
            &format!("/chronograf/v1/sources/{id}/proxy"),
            Some(serde_json::json!({"query": "SELECT v FROM seen", "db": "other"})),
        )
    };
    let (status, text) = proxy("2");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("[7]") || text.contains(",7]"), "{text}");
    let (_, text) = proxy("1");
    assert!(!text.contains(",7]"), "{text}");
    // The page lists both; only the added one can be edited, and it survives a restart.
    let page = get(port, "/sources").text().unwrap();
    assert!(
        page.contains("far away") && page.contains("from chronograf-rs.toml"),
        "{page}"
    );
    assert_eq!(get(port, "/sources/2/hosts").status().as_u16(), 200);
    let (status, _) = api(
        reqwest::Method::PATCH,
        "/chronograf/v1/sources/2",
        Some(serde_json::json!({"name": "renamed", "url": second.url(""), "telegraf": "other"})),
    );
    assert_eq!(status, 200);
    let (status, text) = api(reqwest::Method::DELETE, "/chronograf/v1/sources/1", None);
    assert_eq!(status, 403, "{text}");
    c.stop();
    let (_c, port) = start_chronograf(dir.path(), &first, &[]);
    let api = |method: reqwest::Method, path: &str| {
        let r = client
            .request(method, format!("http://127.0.0.1:{port}{path}"))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (_, list) = api(reqwest::Method::GET, "/chronograf/v1/sources");
    assert!(list.contains("renamed"), "{list}");
    assert!(
        !list.contains("password"),
        "passwords are never shown: {list}"
    );
    assert_eq!(
        api(reqwest::Method::DELETE, "/chronograf/v1/sources/2").0,
        204
    );
    assert_eq!(api(reqwest::Method::GET, "/chronograf/v1/sources/2").0, 404);
    let removed = client
        .post(format!(
            "http://127.0.0.1:{port}/chronograf/v1/sources/2/proxy"
        ))
        .json(&serde_json::json!({"query": "SELECT v FROM seen", "db": "other"}))
        .send()
        .unwrap();
    assert_eq!(
        removed.status().as_u16(),
        404,
        "a removed source is queried no more"
    );
}

#[test]
fn the_cluster_page_shows_a_single_node_or_the_clusters_colour_and_nodes() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["c1", "c2"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    let single = Store::start(&dir.path().join("single"), free_port());
    let (_c, port) = start_chronograf(&dir.path().join("c1"), &single, &[]);
    let html = get(port, "/sources/1/cluster").text().unwrap();
    assert!(html.contains("a single node"), "{html}");
    let json: serde_json::Value = get(port, "/chronograf/v1/sources/1/cluster")
        .json()
        .unwrap();
    assert_eq!(json, serde_json::json!({"cluster": null}));

    let Some(bin) = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            !tick_tests::required(),
            "nats-server (Debian package) is required in CI"
        );
        eprintln!("SKIPPED: nats-server not installed");
        return;
    };
    let nats_port = free_port();
    let _nats = tick_tests::KilledOnDrop(
        std::process::Command::new(bin)
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &nats_port.to_string(),
                "-sd",
            ])
            .arg(dir.path().join("nats"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("nats://127.0.0.1:{nats_port}");
    let node = Store::start_with_env(
        &dir.path().join("n1"),
        free_port(),
        &[
            ("INFLUX_RS_CLUSTER_NATS_URLS", url.as_str()),
            ("INFLUX_RS_CLUSTER_NODE_ID", "n1"),
            ("INFLUX_RS_CLUSTER_REPLICAS", "1"),
        ],
    );
    let (_c, port) = start_chronograf(&dir.path().join("c2"), &node, &[]);
    let ready = wait_until(Duration::from_secs(15), || {
        let json: serde_json::Value = get(port, "/chronograf/v1/sources/1/cluster")
            .json()
            .unwrap_or_default();
        json["cluster"]["status"] == "green" && json["cluster"]["nodes"][0]["holds_lease"] == true
    });
    let json: serde_json::Value = get(port, "/chronograf/v1/sources/1/cluster")
        .json()
        .unwrap();
    assert!(ready, "{json}");
    let html = get(port, "/sources/1/cluster").text().unwrap();
    assert!(
        html.contains("class=\"health green\"") && html.contains(">n1<"),
        "{html}"
    );
    assert!(html.contains("runs CQs and retention"), "{html}");
}

#[test]
fn chronograf_cell_properties_survive_a_round_trip_and_notes_show() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let http = tick_tests::dashboard_client();
    let table_options = serde_json::json!({ "verticalTimeAxis": true, "sortBy": { "internalName": "time", "displayName": "", "visible": true }, "fixFirstColumn": true });
    let field_options =
        serde_json::json!([{ "internalName": "time", "displayName": "When", "visible": true }]);
    let created: serde_json::Value = http
        .post(format!("http://127.0.0.1:{port}/chronograf/v1/dashboards"))
        .json(&serde_json::json!({
            "name": "imported",
            "cells": [{ "i": "c1", "name": "load", "type": "table", "x": 0, "y": 0, "w": 6, "h": 4,
                "queries": [{ "db": "telegraf", "query": "SELECT load1 FROM system" },
                            { "db": "telegraf", "query": "SELECT load5 FROM system" }],
                "note": "Load <b>per</b> host", "noteVisibility": "default",
                "tableOptions": table_options, "fieldOptions": field_options,
                "timeFormat": "MM/DD/YYYY HH:mm:ss" }],
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["id"].as_u64().unwrap();
    let back: serde_json::Value = http
        .get(format!(
            "http://127.0.0.1:{port}/chronograf/v1/dashboards/{id}"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let cell = &back["cells"][0];
    assert_eq!(cell["tableOptions"], table_options);
    assert_eq!(cell["fieldOptions"], field_options);
    assert_eq!(cell["timeFormat"], "MM/DD/YYYY HH:mm:ss");
    assert_eq!(cell["noteVisibility"], "default");
    assert_eq!(cell["queries"].as_array().map(Vec::len), Some(2));
    let page = get(port, &format!("/sources/1/dashboards/{id}"))
        .text()
        .unwrap();
    assert!(
        page.contains("class=\"cell-note\" title=\"Load &#60;b&#62;per&#60;/b&#62; host\""),
        "the note, escaped: {page}"
    );
}
