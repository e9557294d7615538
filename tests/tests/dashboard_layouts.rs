//! chronograf-rs's canned layouts against a real influx-rs: served in Chronograf's format,
//! read from `--canned-path`, every built-in layout's queries run on the store, and every
//! measurement the agent's inputs gather has a layout.

use tick_tests::dashboard::{
    chart_queries, chart_series, get, host_row, now_ns, store_with_hosts, write_telegraf,
};
use tick_tests::{free_port, start_chronograf, Store};

#[test]
fn canned_layouts_are_served_in_chronografs_format_and_read_from_canned_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let t = now_ns() - 5_000_000_000;
    write_telegraf(
        &store,
        format!("squid,host=web1 cache_hit=7i {t}\nredis,host=web1 clients=3i {t}\n"),
    );
    // A layout file as Chronograf ships them (no type, no axes), and one that is not a layout.
    let canned = dir.path().join("canned");
    std::fs::create_dir(&canned).unwrap();
    std::fs::write(
        canned.join("squid.json"),
        r#"{"id":"83c57d16-a778-43ed-8941-0f9fec3408fa","measurement":"squid","app":"squid",
            "autoflow":true,"cells":[{"x":0,"y":0,"w":4,"h":4,"i":"a9b9f8e5","name":"Squid - Cache Hits",
            "queries":[{"query":"SELECT non_negative_derivative(max(\"cache_hit\"), 1s) AS \"hits\" FROM \":db:\".\":rp:\".\"squid\"","groupbys":[]}]}]}"#,
    )
    .unwrap();
    std::fs::write(canned.join("broken.json"), "{\"app\": ").unwrap();
    let canned_arg = canned.display().to_string();
    let (_c, port) = start_chronograf(dir.path(), &store, &["--canned-path", &canned_arg]);

    let all: serde_json::Value = get(port, "/chronograf/v1/layouts").json().unwrap();
    let all = all["layouts"].as_array().unwrap().clone();
    assert!(all.len() > 40, "{}", all.len());
    let cpu = all.iter().find(|l| l["measurement"] == "cpu").unwrap();
    assert_eq!(cpu["app"], "system");
    assert_eq!(cpu["autoflow"], true);
    let id = cpu["id"].as_str().unwrap();
    assert_eq!(cpu["link"]["href"], format!("/chronograf/v1/layouts/{id}"));
    let cell = &cpu["cells"][0];
    for key in [
        "x", "y", "w", "h", "i", "name", "queries", "type", "axes", "colors",
    ] {
        assert!(!cell[key].is_null(), "cell without {key}: {cell}");
    }
    assert_eq!(cell["axes"]["y"]["suffix"], "%");
    let one: serde_json::Value = get(port, &format!("/chronograf/v1/layouts/{id}"))
        .json()
        .unwrap();
    assert_eq!(&one, cpu);
    let missing = get(port, "/chronograf/v1/layouts/nope");
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        missing.json::<serde_json::Value>().unwrap()["message"],
        "ID nope not found"
    );
    let some: serde_json::Value = get(
        port,
        "/chronograf/v1/layouts?app=squid&measurement=mem&app=redis",
    )
    .json()
    .unwrap();
    let mut picked: Vec<String> = some["layouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}/{}",
                l["app"].as_str().unwrap(),
                l["measurement"].as_str().unwrap()
            )
        })
        .collect();
    picked.sort();
    assert_eq!(
        picked,
        [
            "redis/redis",
            "redis/redis_cmdstat",
            "redis/redis_errorstat",
            "redis/redis_keyspace",
            "redis/redis_replication",
            "squid/squid",
            "system/mem"
        ]
    );

    let (hosts, web1) = host_row(port, "web1");
    assert_eq!(
        web1["apps"],
        serde_json::json!(["redis", "squid", "system"]),
        "{hosts}"
    );
    let list = get(port, "/sources/1/hosts").text().unwrap();
    assert!(list.contains("/sources/1/hosts/web1?app=squid"), "{list}");
    let system = get(port, "/sources/1/hosts/web1").text().unwrap();
    assert!(system.contains("CPU Usage") && !system.contains("Squid - Cache Hits"));
    assert!(
        system.contains("?app=squid&amp;range=1h"),
        "a tab per app: {system}"
    );
    let squid = get(port, "/sources/1/hosts/web1?app=squid").text().unwrap();
    assert!(
        squid.contains("Squid - Cache Hits") && !squid.contains("CPU Usage"),
        "{squid}"
    );
    let queries = chart_queries(&squid);
    assert_eq!(
        queries,
        ["SELECT non_negative_derivative(max(\"cache_hit\"), 1s) AS \"hits\" FROM \"telegraf\"..\"squid\" WHERE time > now() - 1h AND \"host\" = 'web1' GROUP BY time(1m)"]
    );
}

#[test]
fn every_built_in_layout_runs_on_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_hosts(dir.path());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let all: serde_json::Value = get(port, "/chronograf/v1/layouts").json().unwrap();
    let layouts = all["layouts"].as_array().unwrap();
    let t = now_ns() - 5_000_000_000;
    let body: String = layouts
        .iter()
        .map(|l| format!("{},host=web2 x=1 {t}\n", l["measurement"].as_str().unwrap()))
        .collect();
    write_telegraf(&store, body);
    let apps: std::collections::BTreeSet<&str> =
        layouts.iter().map(|l| l["app"].as_str().unwrap()).collect();
    let mut ran = 0;
    for app in apps {
        let html = get(port, &format!("/sources/1/hosts/web2?app={app}&range=24h"))
            .text()
            .unwrap();
        let queries = chart_queries(&html);
        assert!(!queries.is_empty(), "{app}: no charts");
        for query in queries {
            let answer = chart_series(port, &query);
            assert!(answer["error"].is_null(), "{app}: {query}: {answer}");
            ran += 1;
        }
    }
    let cells: usize = layouts
        .iter()
        .flat_map(|l| l["cells"].as_array().unwrap())
        .map(|c| c["queries"].as_array().unwrap().len())
        .sum();
    assert_eq!(ran, cells, "every cell of every layout was drawn");
}

/// What the agent's service and network inputs gather (each name checked against the real
/// server in `telegraf-rs/tests`), which a run on this machine without those servers cannot show.
const SERVICE_MEASUREMENTS: &[&str] = &[
    "apache",
    "docker",
    "docker_container_blkio",
    "docker_container_cpu",
    "docker_container_health",
    "docker_container_mem",
    "docker_container_net",
    "docker_container_status",
    "haproxy",
    "http_response",
    "memcached",
    "mysql",
    "mysql_info_schema",
    "mysql_innodb",
    "mysql_process_list",
    "mysql_users",
    "mysql_variables",
    "net_response",
    "nginx",
    "ping",
    "postgresql",
    "redis",
    "redis_cmdstat",
    "redis_errorstat",
    "redis_keyspace",
    "redis_replication",
    "syslog",
    "temp",
];

#[test]
fn every_measurement_the_agent_gathers_has_a_layout() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        "[[inputs.cpu]]\n[[inputs.disk]]\n[[inputs.diskio]]\n[[inputs.mem]]\n[[inputs.swap]]\n\
         [[inputs.system]]\n[[inputs.processes]]\n[[inputs.kernel]]\ncollect = [\"ksm\", \"psi\"]\n\
         [[inputs.interrupts]]\n[[inputs.linux_sysctl_fs]]\n[[inputs.net]]\n[[inputs.netstat]]\n\
         [[inputs.nstat]]\n[[inputs.internal]]\n[[inputs.procstat]]\npattern = \".\"\n\
         [[outputs.discard]]\n",
    )
    .unwrap();
    let out = std::process::Command::new(tick_tests::binary("telegraf-rs"))
        .arg("--config")
        .arg(&config)
        .arg("--test")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gathered: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("> "))
        .filter_map(|l| l.split([',', ' ']).next().map(str::to_string))
        .collect();
    assert!(gathered.len() >= 10, "{gathered:?}");
    let gathered: std::collections::BTreeSet<String> = gathered
        .into_iter()
        .chain(SERVICE_MEASUREMENTS.iter().map(|m| m.to_string()))
        .collect();
    let store = Store::start(&dir.path().join("store"), free_port());
    let (_c, port) = start_chronograf(dir.path(), &store, &[]);
    let all: serde_json::Value = get(port, "/chronograf/v1/layouts").json().unwrap();
    let shown: std::collections::BTreeSet<String> = all["layouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["measurement"].as_str().unwrap().to_string())
        .collect();
    let missing: Vec<&String> = gathered.difference(&shown).collect();
    assert!(missing.is_empty(), "no layout for {missing:?}");
}
