//! Database inputs against the real servers (Debian's packages, installed by `.ci/run`), each
//! started by the test on loopback with temporary data: Redis `INFO`, memcached `stats`,
//! PostgreSQL's `pg_stat_database`, MariaDB's `SHOW GLOBAL STATUS`, replica status,
//! `information_schema` and `performance_schema`; the values checked against what the server
//! reports of itself.

mod common;

use common::{
    field_of, free_port, installed, line_of, start, tag_of, test_certificates, test_output,
    test_run,
};
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

/// A MariaDB server of its own (Debian's `mariadbd`) on a free loopback port, with a binary
/// log and `extra` options; none when MariaDB is not installed.
struct Mariadb {
    _server: common::Service,
    port: u16,
    client: std::path::PathBuf,
}

impl Mariadb {
    fn start(dir: &std::path::Path, extra: &[&str]) -> Option<Mariadb> {
        let (Some(mariadbd), Some(install_db), Some(client)) = (
            installed("mariadbd"),
            installed("mariadb-install-db"),
            installed("mariadb"),
        ) else {
            return None;
        };
        let data = dir.join("data");
        let socket = dir.join("mysqld.sock");
        // A temporary directory of its own: servers bootstrapped side by side collide in /tmp.
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let init = Command::new(install_db)
            .args([
                &format!("--datadir={}", data.display()),
                &format!("--tmpdir={}", tmp.display()),
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
        let mut args = vec![
            "--no-defaults".to_string(),
            format!("--datadir={}", data.display()),
            format!("--socket={}", socket.display()),
            format!("--pid-file={}", dir.join("mysqld.pid").display()),
            format!("--tmpdir={}", tmp.display()),
            "--bind-address=127.0.0.1".to_string(),
            format!("--port={port}"),
            "--user=root".to_string(),
            "--skip-grant-tables".to_string(),
            format!("--log-bin={}", dir.join("binlog").display()),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = start(&mariadbd, &args, &dir.join("mariadb.log"), port);
        Some(Mariadb {
            _server: server,
            port,
            client,
        })
    }

    /// What the `mariadb` client prints for `statement` (tab-separated, no headers).
    fn sql(&self, statement: &str) -> String {
        let out = Command::new(&self.client)
            .args([
                "--protocol=tcp",
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                "root",
            ])
            .args(["-N", "-B", "-e", statement])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

#[test]
fn mysql_reports_what_show_global_status_says() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Mariadb::start(dir.path(), &[]) else {
        return;
    };
    let port = db.port;
    let sql = |statement: &str| db.sql(statement);
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

#[test]
fn mysql_schema_replication_and_performance_schema_match_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Mariadb::start(
        dir.path(),
        &["--performance-schema=ON", "--userstat=ON", "--server-id=7"],
    ) else {
        return;
    };
    let port = db.port;
    db.sql(
        "CREATE DATABASE app; \
         CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8)) ENGINE=InnoDB; \
         INSERT INTO app.t (v) VALUES ('a'), ('b'), ('c'); \
         USE app; SELECT count(*) FROM t WHERE v = 'b'; \
         ANALYZE TABLE app.t",
    );
    // A replica whose source is down: SHOW SLAVE STATUS has its row.
    let source_port = free_port();
    db.sql(&format!(
        "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {source_port}, \
         MASTER_USER = 'repl', MASTER_CONNECT_RETRY = 60"
    ));
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/\"]\n  \
             metric_version = 2\n  gather_global_variables = false\n  gather_slave_status = true\n  \
             gather_user_statistics = true\n  gather_info_schema_auto_inc = true\n  \
             gather_table_schema = true\n  table_schema_databases = [\"app\"]\n  \
             gather_table_io_waits = true\n  gather_index_io_waits = true\n  \
             gather_table_lock_waits = true\n  gather_event_waits = true\n  \
             gather_file_events_stats = true\n  gather_perf_events_statements = true\n  \
             gather_perf_sum_per_acc_per_event = true\n  \
             perf_summary_events = [\"statement/sql/select\", \"statement/sql/insert\"]\n"
        ),
    );
    let of = |measurement: &str, tags: &[(&str, &str)]| -> &String {
        lines
            .iter()
            .find(|l| {
                l.split([',', ' ']).next() == Some(measurement)
                    && tags
                        .iter()
                        .all(|(k, v)| tag_of(l, k).as_deref() == Some(*v))
            })
            .unwrap_or_else(|| panic!("no {measurement} with {tags:?} in {lines:#?}"))
    };
    let number = |line: &str, field: &str| -> f64 {
        field_of(line, field)
            .unwrap_or_else(|| panic!("no {field} in {line}"))
            .trim_end_matches(['i', 'u'])
            .parse()
            .unwrap()
    };
    // Replication: the row SHOW SLAVE STATUS has, typed by column.
    let slave = lines
        .iter()
        .find(|l| l.starts_with("mysql,") && l.contains("slave_master_port="))
        .unwrap_or_else(|| panic!("no slave status in {lines:#?}"));
    assert_eq!(number(slave, "slave_master_port"), f64::from(source_port));
    assert_eq!(
        field_of(slave, "slave_master_host").as_deref(),
        Some("\"127.0.0.1\"")
    );
    assert_eq!(
        field_of(slave, "slave_master_user").as_deref(),
        Some("\"repl\"")
    );
    assert_eq!(number(slave, "slave_connect_retry"), 60.0, "{slave}");
    assert!(
        field_of(slave, "slave_slave_io_running").is_some(),
        "{slave}"
    );
    // The auto-increment column: the next value and the largest a signed INT holds.
    let inc = of(
        "mysql_table_schema",
        &[("schema", "app"), ("table", "t"), ("column", "id")],
    );
    assert_eq!(number(inc, "auto_increment_column"), 4.0, "{inc}");
    assert_eq!(
        number(inc, "auto_increment_column_max"),
        2_147_483_647.0,
        "{inc}"
    );
    // The table's rows and sizes, as information_schema.TABLES says.
    let sizes = lines
        .iter()
        .find(|l| l.starts_with("mysql_table_schema,") && l.contains("data_length="))
        .unwrap_or_else(|| panic!("no table sizes in {lines:#?}"));
    let told = db.sql(
        "SELECT TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 't'",
    );
    let told: Vec<f64> = told.split('\t').map(|v| v.parse().unwrap()).collect();
    assert_eq!(
        [
            number(sizes, "rows"),
            number(sizes, "data_length"),
            number(sizes, "index_length")
        ],
        [told[0], told[1], told[2]],
        "{sizes}"
    );
    let version = of("mysql_table_schema_version", &[("table", "t")]);
    assert_eq!(tag_of(version, "engine").as_deref(), Some("InnoDB"));
    assert_eq!(tag_of(version, "type").as_deref(), Some("BASE TABLE"));
    // User statistics: root's row, its counters no more than the server's now.
    let user = of("mysql_user_stats", &[("user", "root")]);
    let connections: f64 = db
        .sql("SELECT TOTAL_CONNECTIONS FROM information_schema.USER_STATISTICS WHERE USER = 'root'")
        .parse()
        .unwrap();
    let reported = number(user, "total_connections");
    assert!(reported >= 1.0 && reported <= connections, "{user}");
    assert!(
        field_of(user, "busy_time").is_some_and(|v| !v.ends_with('i')),
        "{user}"
    );
    // performance_schema: the three inserts into app.t, counted per table and per index.
    let inserts: f64 = db
        .sql(
            "SELECT COUNT_INSERT FROM performance_schema.table_io_waits_summary_by_table \
             WHERE OBJECT_SCHEMA = 'app' AND OBJECT_NAME = 't'",
        )
        .parse()
        .unwrap();
    assert!(inserts >= 3.0, "{inserts}");
    let io = lines
        .iter()
        .find(|l| {
            l.starts_with("mysql_perf_schema,")
                && l.contains("table_io_waits_total_insert=")
                && tag_of(l, "name").as_deref() == Some("t")
        })
        .unwrap_or_else(|| panic!("no table I/O waits of app.t in {lines:#?}"));
    assert_eq!(number(io, "table_io_waits_total_insert"), inserts, "{io}");
    assert!(
        lines.iter().any(|l| l.starts_with("mysql_perf_schema,")
            && tag_of(l, "index").as_deref() == Some("NONE")
            && l.contains("index_io_waits_total_insert=")),
        "{lines:#?}"
    );
    for query in [
        "sql_lock_waits_total",
        "sql_lock_waits_seconds_total",
        "external_lock_waits_total",
        "external_lock_waits_seconds_total",
    ] {
        of(
            "mysql_perf_schema",
            &[("table", "t"), ("perf_query", query)],
        );
    }
    for mode in ["misc", "read", "write"] {
        let file = of("mysql_perf_schema", &[("mode", mode)]);
        assert!(field_of(file, "file_events_total").is_some(), "{file}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("mysql_perf_schema,")
            && l.contains("events_waits_total=")
            && tag_of(l, "event_name").is_some()),
        "{lines:#?}"
    );
    // The statement digests run in `app`: the SELECT among them, counted once.
    let digests: Vec<&String> = lines
        .iter()
        .filter(|l| {
            l.starts_with("mysql_perf_schema,")
                && l.contains("events_statements_total=")
                && tag_of(l, "schema").as_deref() == Some("app")
        })
        .collect();
    let select = digests
        .iter()
        .find(|l| tag_of(l, "digest_text").is_some_and(|t| t.starts_with("SELECT COUNT")))
        .unwrap_or_else(|| panic!("no SELECT digest in {digests:#?}"));
    assert_eq!(number(select, "events_statements_total"), 1.0, "{select}");
    // Per account and event: only the two events listed.
    let per_account: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("mysql_perf_acc_event,"))
        .collect();
    assert!(!per_account.is_empty(), "{lines:#?}");
    assert!(
        per_account.iter().all(|l| matches!(
            tag_of(l, "event").as_deref(),
            Some("statement/sql/select" | "statement/sql/insert")
        )),
        "{per_account:#?}"
    );
}

#[test]
fn mysql_over_tls_trusts_the_inputs_ca_and_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some([ca, cert, key]) = test_certificates(dir.path()) else {
        return;
    };
    let options = [
        format!("--ssl-ca={}", ca.display()),
        format!("--ssl-cert={}", cert.display()),
        format!("--ssl-key={}", key.display()),
    ];
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let Some(db) = Mariadb::start(dir.path(), &options) else {
        return;
    };
    let port = db.port;
    let conf = |tls: &str, extra: &str| {
        format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/?tls={tls}\"]\n  \
             metric_version = 2\n  gather_global_variables = false\n{extra}"
        )
    };
    // tls=custom with the input's CA: the agent's own session is encrypted.
    let lines = test_run(
        dir.path(),
        &conf("custom", &format!("  tls_ca = \"{}\"\n", ca.display())),
    );
    let status = line_of(&lines, "mysql");
    let cipher = field_of(status, "ssl_cipher").unwrap_or_default();
    assert!(cipher.len() > 2, "no TLS cipher in the session: {status}");
    assert!(
        field_of(status, "ssl_version").is_some_and(|v| v.contains("TLS")),
        "{status}"
    );
    // The public roots do not know the test's CA: tls=true fails, naming the server.
    let out = test_output(dir.path(), &conf("true", ""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("server 127.0.0.1:{port}")) && stderr.contains("ertificate"),
        "{stderr}"
    );
    // skip-verify encrypts without checking.
    let lines = test_run(dir.path(), &conf("skip-verify", ""));
    assert!(
        field_of(line_of(&lines, "mysql"), "ssl_cipher").is_some_and(|c| c.len() > 2),
        "{lines:?}"
    );
}

/// The Go driver's DSN parameters: an unknown name is a session variable set on connecting
/// (a wrong one is the server's error, naming it), `charset` becomes `SET NAMES`, a
/// parameter without effect here is named in a warning.
#[test]
fn mysql_dsn_parameters_as_the_go_driver_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = Mariadb::start(dir.path(), &[]) else {
        return;
    };
    let port = db.port;
    let conf = |params: &str| {
        format!(
            "[agent]\n  omit_hostname = true\n[[inputs.mysql]]\n  servers = [\"root@tcp(127.0.0.1:{port})/?{params}\"]\n  \
             metric_version = 2\n  gather_global_variables = false\n"
        )
    };
    let out = test_output(dir.path(), &conf("no_such_variable=1&charset=utf8mb4"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("server 127.0.0.1:{port}")) && stderr.contains("no_such_variable"),
        "the session variable was not set: {stderr}"
    );
    let out = test_output(
        dir.path(),
        &conf("sql_mode=%27ANSI_QUOTES%27&charset=latin1,utf8mb4&parseTime=true&timeout=2s"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.lines().any(|l| l.starts_with("> mysql,")),
        "{stdout}"
    );
    assert!(
        stderr.contains("parameter parseTime") && !stderr.contains("timeout ("),
        "{stderr}"
    );
}
