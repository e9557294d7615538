//! Database inputs against the real servers (Debian's packages, installed by `.ci/run`), each
//! started by the test on loopback with temporary data: Redis `INFO`, memcached `stats`,
//! PostgreSQL's `pg_stat_database`, MariaDB's `SHOW GLOBAL STATUS`; the values checked against
//! what the server reports of itself.

mod common;

use common::{field_of, free_port, installed, line_of, start, tag_of, test_run};
use std::process::Command;

/// What `redis-cli` answers on `port`.
fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `key` in an `INFO` answer.
fn info_value(info: &str, key: &str) -> String {
    info.lines()
        .find_map(|l| l.trim_end().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in {info}"))
        .to_string()
}

#[test]
fn redis_reports_what_info_says() {
    let Some(redis) = installed("redis-server") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_text = port.to_string();
    let data = dir.path().to_string_lossy().into_owned();
    let _server = start(
        &redis,
        &[
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--dir",
            &data,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        &dir.path().join("redis.log"),
        port,
    );
    redis_cli(port, &["SET", "a", "1"]);
    redis_cli(port, &["SET", "b", "2", "EX", "1000"]);
    redis_cli(port, &["GET", "a"]);
    redis_cli(port, &["GET", "missing"]);
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.redis]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n\
             [[inputs.redis.commands]]\n    command = [\"get\", \"a\"]\n    field = \"a_value\"\n    type = \"integer\"\n"
        ),
    );
    let info = redis_cli(port, &["INFO", "ALL"]);
    let main = line_of(&lines, "redis");
    assert_eq!(tag_of(main, "server").as_deref(), Some("127.0.0.1"));
    assert_eq!(tag_of(main, "port"), Some(port_text.clone()));
    assert_eq!(tag_of(main, "replication_role").as_deref(), Some("master"));
    assert_eq!(
        field_of(main, "redis_version"),
        Some(format!("\"{}\"", info_value(&info, "redis_version")))
    );
    assert_eq!(field_of(main, "keyspace_hits").as_deref(), Some("1i"));
    assert_eq!(field_of(main, "keyspace_misses").as_deref(), Some("1i"));
    assert_eq!(field_of(main, "keyspace_hitrate").as_deref(), Some("0.5"));
    assert_eq!(
        field_of(main, "maxmemory"),
        Some(format!("{}i", info_value(&info, "maxmemory")))
    );
    let uptime: i64 = info_value(&info, "uptime_in_seconds").parse().unwrap();
    let ours: i64 = field_of(main, "uptime")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    assert!((uptime - ours).abs() <= 2, "{uptime} vs {ours}");
    let keyspace = line_of(&lines, "redis_keyspace");
    let db0 = info_value(&info, "db0");
    assert_eq!(tag_of(keyspace, "database").as_deref(), Some("db0"));
    assert!(db0.starts_with("keys=2,expires=1,"), "{db0}");
    assert_eq!(field_of(keyspace, "keys").as_deref(), Some("2i"));
    assert_eq!(field_of(keyspace, "expires").as_deref(), Some("1i"));
    let set = lines
        .iter()
        .find(|l| l.starts_with("redis_cmdstat,") && tag_of(l, "command").as_deref() == Some("set"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert_eq!(field_of(set, "calls").as_deref(), Some("2i"));
    let commands = line_of(&lines, "redis_commands");
    assert_eq!(field_of(commands, "a_value").as_deref(), Some("1i"));
}

#[test]
fn redis_that_is_down_is_an_error_naming_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("telegraf.conf");
    std::fs::write(
        &path,
        format!("[[inputs.redis]]\n  servers = [\"tcp://127.0.0.1:{port}\"]\n  timeout = \"2s\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_telegraf-rs"))
        .args(["--test", "--config"])
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("tcp://127.0.0.1:{port}")),
        "{stderr}"
    );
}

/// `stats` as memcached answers it on `port`: name → value.
fn memcached_stats(port: u16) -> std::collections::HashMap<String, String> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"stats\r\n").unwrap();
    let mut stats = std::collections::HashMap::new();
    for line in BufReader::new(stream).lines().take(500) {
        let line = line.unwrap();
        if line.trim_end() == "END" {
            break;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["STAT", name, value] = words[..] {
            stats.insert(name.to_string(), value.to_string());
        }
    }
    stats
}

#[test]
fn memcached_reports_what_stats_says() {
    let Some(memcached) = installed("memcached") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_text = port.to_string();
    let _server = start(
        &memcached,
        &[
            "-l",
            "127.0.0.1",
            "-p",
            &port_text,
            "-U",
            "0",
            "-u",
            "root",
            "-m",
            "16",
        ],
        &dir.path().join("memcached.log"),
        port,
    );
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"set k 0 0 1\r\nv\r\nget k\r\nget nope\r\n")
            .unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
    }
    let lines = test_run(
        dir.path(),
        &format!("[agent]\n  omit_hostname = true\n[[inputs.memcached]]\n  servers = [\"127.0.0.1:{port}\"]\n"),
    );
    let stats = memcached_stats(port);
    let line = line_of(&lines, "memcached");
    assert_eq!(tag_of(line, "server"), Some(format!("127.0.0.1:{port}")));
    for key in [
        "curr_items",
        "total_items",
        "cmd_set",
        "limit_maxbytes",
        "threads",
        "evictions",
    ] {
        assert_eq!(
            field_of(line, key),
            Some(format!("{}i", stats[key])),
            "{key}: {line}"
        );
    }
    let ours: i64 = field_of(line, "total_connections")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    let theirs: i64 = stats["total_connections"].parse().unwrap();
    assert_eq!(theirs, ours + 1, "our own stats connection came after");
}

/// A PostgreSQL program of Debian's package (`/usr/lib/postgresql/<version>/bin/<name>`).
fn postgres_program(name: &str) -> Option<std::path::PathBuf> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|v| v.path().join("bin").join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!("{name} of PostgreSQL is not installed (.ci/run installs it): test skipped");
    }
    found
}

/// `program` with `args`, as the `postgres` user when this runs as root (PostgreSQL refuses
/// to run as root); `setpriv` execs it, so its PID is the server's.
fn as_postgres(program: &std::path::Path, args: &[&str]) -> (std::path::PathBuf, Vec<String>) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let args = args.iter().map(|a| a.to_string()).collect();
        return (program.to_path_buf(), args);
    }
    let mut all: Vec<String> = [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    all.push(program.to_string_lossy().into_owned());
    all.extend(args.iter().map(|a| a.to_string()));
    (std::path::PathBuf::from("setpriv"), all)
}

#[test]
fn postgresql_reports_what_pg_stat_database_says() {
    let (Some(initdb), Some(postgres), Some(psql)) = (
        postgres_program("initdb"),
        postgres_program("postgres"),
        postgres_program("psql"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let uid = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
    }
    let data = dir.path().join("data");
    let (program, args) = as_postgres(
        &initdb,
        &[
            "-D",
            &data.to_string_lossy(),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
    );
    let init = Command::new(program).args(&args).output().unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let (program, args) = as_postgres(
        &postgres,
        &[
            "-D",
            &data.to_string_lossy(),
            "-k",
            &dir.path().to_string_lossy(),
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _server = start(&program, &args, &dir.path().join("postgres.log"), port);
    let sql = |db: &str, statement: &str| -> String {
        let out = Command::new(&psql)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .args(["-d", db, "-At", "-c", statement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    sql("postgres", "CREATE DATABASE tick");
    sql(
        "tick",
        "CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 42)",
    );
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.postgresql]]\n  \
             address = \"postgres://postgres:secret@127.0.0.1:{port}/postgres?sslmode=disable\"\n  \
             outputaddress = \"pg-test\"\n  databases = [\"tick\"]\n"
        ),
    );
    let theirs = sql(
        "postgres",
        "SELECT datid, tup_inserted, numbackends FROM pg_stat_database WHERE datname = 'tick'",
    );
    let theirs: Vec<&str> = theirs.split('|').collect();
    let tick = lines
        .iter()
        .find(|l| tag_of(l, "db").as_deref() == Some("tick"))
        .unwrap_or_else(|| panic!("no db=tick in {lines:#?}"));
    assert_eq!(tag_of(tick, "server").as_deref(), Some("pg-test"));
    assert_eq!(field_of(tick, "datid"), Some(format!("{}i", theirs[0])));
    assert_eq!(
        field_of(tick, "tup_inserted"),
        Some(format!("{}i", theirs[1]))
    );
    assert!(theirs[1].parse::<i64>().unwrap() >= 42, "{theirs:?}");
    assert_eq!(field_of(tick, "datname").as_deref(), Some("\"tick\""));
    assert_eq!(field_of(tick, "stats_reset"), None);
    assert!(
        lines
            .iter()
            .all(|l| tag_of(l, "db").as_deref() != Some("template1")),
        "only the databases asked for: {lines:#?}"
    );
    let bgwriter = lines
        .iter()
        .find(|l| field_of(l, "buffers_clean").is_some())
        .unwrap_or_else(|| panic!("no pg_stat_bgwriter row in {lines:#?}"));
    assert_eq!(tag_of(bgwriter, "db").as_deref(), Some("postgres"));
}

#[test]
fn mysql_reports_what_show_global_status_says() {
    let (Some(mariadbd), Some(install_db), Some(client)) = (
        installed("mariadbd"),
        installed("mariadb-install-db"),
        installed("mariadb"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let socket = dir.path().join("mysqld.sock");
    let init = Command::new(install_db)
        .args([
            &format!("--datadir={}", data.display()),
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let _server = start(
        &mariadbd,
        &[
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            &format!("--socket={}", socket.display()),
            &format!("--pid-file={}", dir.path().join("mysqld.pid").display()),
            "--bind-address=127.0.0.1",
            &format!("--port={port}"),
            "--user=root",
            "--skip-grant-tables",
            &format!("--log-bin={}", dir.path().join("binlog").display()),
        ],
        &dir.path().join("mariadb.log"),
        port,
    );
    let sql = |statement: &str| -> String {
        let out = Command::new(&client)
            .args([
                "--protocol=tcp",
                "-h",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-u",
                "root",
            ])
            .args(["-N", "-B", "-e", statement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let value = |text: String| text.split('\t').nth(1).unwrap_or_default().to_string();
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/\"]\n  \
             gather_process_list = true\n  gather_innodb_metrics = true\n  gather_binary_logs = true\n  \
             mariadb_dialect = true\n  metric_version = 2\n"
        ),
    );
    let connections = value(sql("SHOW GLOBAL STATUS LIKE 'Connections'"));
    let status = line_of(&lines, "mysql");
    assert_eq!(tag_of(status, "server"), Some(format!("127.0.0.1:{port}")));
    // The agent's connection came before the test's own.
    let ours: i64 = field_of(status, "connections")
        .unwrap()
        .trim_end_matches('i')
        .parse()
        .unwrap();
    assert_eq!(ours + 1, connections.parse::<i64>().unwrap(), "{status}");
    assert!(
        field_of(status, "uptime").is_some_and(|u| u.ends_with('i')),
        "{status}"
    );
    let variables = line_of(&lines, "mysql_variables");
    let max_connections = value(sql("SHOW GLOBAL VARIABLES LIKE 'max_connections'"));
    assert_eq!(
        field_of(variables, "max_connections"),
        Some(format!("{max_connections}i"))
    );
    assert_eq!(
        field_of(variables, "port"),
        Some(format!("{port}i")),
        "{variables}"
    );
    let version = value(sql("SHOW GLOBAL VARIABLES LIKE 'version'"));
    assert_eq!(tag_of(variables, "version"), Some(version), "{variables}");
    // The binary logs as the server lists them.
    let logs = sql("SHOW BINARY LOGS");
    let binlog = lines
        .iter()
        .find(|l| l.contains("binary_files_count="))
        .unwrap_or_else(|| panic!("no binary logs in {lines:#?}"));
    assert_eq!(
        field_of(binlog, "binary_files_count").map(|v| v.trim_end_matches(['i', 'u']).to_string()),
        Some(logs.lines().count().to_string()),
        "{binlog}\n{logs}"
    );
    // Every state Telegraf counts is a field; the server's own threads are counted.
    let threads = line_of(&lines, "mysql_process_list");
    for state in ["idle", "waiting_for_lock", "other", "executing"] {
        assert!(
            field_of(threads, &format!("threads_{state}")).is_some(),
            "{threads}"
        );
    }
    let users = lines
        .iter()
        .find(|l| l.starts_with("mysql_users,") && tag_of(l, "user").as_deref() == Some("root"))
        .unwrap_or_else(|| panic!("no mysql_users for root in {lines:#?}"));
    assert!(field_of(users, "connections").is_some(), "{users}");
    // A counter InnoDB keeps enabled, as INNODB_METRICS says.
    let innodb = line_of(&lines, "mysql_innodb");
    let pool =
        sql("SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'buffer_pool_size'");
    assert_eq!(
        field_of(innodb, "buffer_pool_size"),
        Some(format!("{pool}i")),
        "{innodb}"
    );
    // Without metric_version, Telegraf's older names: `Com_select` is `commands_select`, the
    // process list is `mysql_info_schema`.
    let v1 = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/\"]\n  \
             gather_process_list = true\n"
        ),
    );
    let status = line_of(&v1, "mysql");
    let selects: i64 = value(sql("SHOW GLOBAL STATUS LIKE 'Com_select'"))
        .parse()
        .unwrap();
    let reported: i64 = field_of(status, "commands_select")
        .unwrap_or_else(|| panic!("{status}"))
        .trim_end_matches('i')
        .parse()
        .unwrap();
    assert!(reported <= selects, "{status}");
    assert!(field_of(status, "com_select").is_none(), "{status}");
    assert!(
        v1.iter().any(|l| l.starts_with("mysql_info_schema,")),
        "{v1:#?}"
    );
    let variables = line_of(&v1, "mysql_variables");
    assert_eq!(
        field_of(variables, "max_connections"),
        Some(format!("{max_connections}i"))
    );
}
