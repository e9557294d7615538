//! `inputs.docker` against the Docker engine this machine runs: a container the test makes
//! (an image built `FROM scratch` out of Debian's `sleep` and the libraries it links, so no
//! image is pulled) with a memory limit, a label and an environment variable, and what the
//! agent reports of it checked against `docker inspect` and `docker info`; the engine's disk
//! usage (`storage_objects`) against `docker inspect --size` and `docker image inspect`; and
//! `gather_services` against a live Swarm — of a second engine the test starts for itself, so
//! that the machine's engine never becomes a Swarm manager.

mod common;

use common::{field_of, tag_of, test_output, test_run};
use std::process::Command;

/// `docker` with `args`: its output, trimmed; `None` when it failed.
fn docker(args: &[&str]) -> Option<String> {
    docker_at(None, args)
}

/// `docker` with `args` against the engine at `host` (a `-H` address), or the machine's.
fn docker_at(host: Option<&str>, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("docker");
    if let Some(host) = host {
        cmd.args(["-H", host]);
    }
    let out = cmd.args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Removes the test's container and image (by id) when dropped.
struct Cleanup {
    container: Option<String>,
    image: String,
    volume: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(id) = &self.container {
            let _ = docker(&["rm", "-f", id]);
        }
        let _ = docker(&["rmi", "-f", &self.image]);
        if let Some(name) = &self.volume {
            let _ = docker(&["volume", "rm", "-f", name]);
        }
    }
}

/// Builds an image holding only `/bin/sleep` and its libraries on the engine at `host` (or the
/// machine's); its id.
fn sleep_image(host: Option<&str>, dir: &std::path::Path, tag: &str) -> Option<String> {
    let root = dir.join("rootfs");
    let sleep = std::path::Path::new("/bin/sleep");
    std::fs::create_dir_all(root.join("bin")).ok()?;
    std::fs::copy(sleep, root.join("bin/sleep")).ok()?;
    let ldd = Command::new("ldd").arg(sleep).output().ok()?;
    for lib in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
    {
        let target = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent()?).ok()?;
        std::fs::copy(lib, &target).ok()?;
    }
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY rootfs/ /\nCMD [\"/bin/sleep\", \"600\"]\n",
    )
    .ok()?;
    docker_at(host, &["build", "-q", "-t", tag, &dir.to_string_lossy()])
}

/// The lines of `measurement` among `lines`.
fn of_in<'a>(lines: &'a [String], measurement: &str) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| l.starts_with(&format!("{measurement},")))
        .collect()
}

#[test]
fn docker_reports_what_the_engine_says_of_a_container() {
    if docker(&["info", "-f", "{{.ID}}"]).is_none() {
        assert!(
            std::env::var("CI").ok().as_deref() != Some("true"),
            "the Docker engine is required under CI=true"
        );
        eprintln!("SKIPPED: no Docker engine answers");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id();
    let tag = format!("tick-rs-docker-input:{pid}");
    let name = format!("tick-docker-input-{pid}");
    let image = sleep_image(None, dir.path(), &tag).expect("building the test image");
    let mut cleanup = Cleanup {
        container: None,
        image,
        volume: None,
    };
    let id = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--memory",
        "64m",
        "--label",
        "app=tick-test",
        "--label",
        "secret=hidden",
        "--env",
        "JAVA_HOME=/opt/java",
        &tag,
    ])
    .expect("starting the test container");
    cleanup.container = Some(id.clone());

    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.docker]]\n  endpoint = \"unix:///var/run/docker.sock\"\n  \
             container_name_include = [\"{name}\"]\n  docker_label_include = [\"app\"]\n  perdevice = false\n  \
             perdevice_include = []\n  total = true\n"
        ),
    );
    let of = |measurement: &str| of_in(&lines, measurement);
    let inspect = |format: &str| docker(&["inspect", "-f", format, &id]).unwrap();

    let engine = of("docker");
    let info_name = docker(&["info", "-f", "{{.Name}}"]).unwrap();
    assert!(
        engine
            .iter()
            .any(|l| tag_of(l, "engine_host").as_deref() == Some(info_name.as_str())),
        "{engine:?}"
    );
    let version = docker(&["version", "-f", "{{.Server.Version}}"]).unwrap();
    assert!(
        engine
            .iter()
            .all(|l| tag_of(l, "server_version").as_deref() == Some(version.as_str())),
        "{engine:?}"
    );
    assert!(
        engine.iter().any(|l| field_of(l, "memory_total").is_some()),
        "{engine:?}"
    );

    let status = of("docker_container_status");
    assert_eq!(status.len(), 1, "only the test's container: {lines:#?}");
    let status = status[0];
    assert_eq!(tag_of(status, "container_name"), Some(name.clone()));
    assert_eq!(
        tag_of(status, "container_image").as_deref(),
        Some("tick-rs-docker-input")
    );
    assert_eq!(tag_of(status, "container_version"), Some(pid.to_string()));
    assert_eq!(
        tag_of(status, "container_status").as_deref(),
        Some("running")
    );
    assert_eq!(tag_of(status, "app").as_deref(), Some("tick-test"));
    assert_eq!(tag_of(status, "secret"), None, "not an included label");
    assert_eq!(tag_of(status, "JAVA_HOME").as_deref(), Some("/opt/java"));
    assert_eq!(
        field_of(status, "pid"),
        Some(format!("{}i", inspect("{{.State.Pid}}")))
    );
    assert_eq!(field_of(status, "container_id"), Some(format!("\"{id}\"")));
    assert_eq!(field_of(status, "oomkilled").as_deref(), Some("false"));

    let mem = of("docker_container_mem");
    assert_eq!(
        field_of(mem[0], "limit"),
        Some(format!("{}i", inspect("{{.HostConfig.Memory}}"))),
        "the 64 MiB limit"
    );
    let cpu = of("docker_container_cpu");
    assert!(
        cpu.iter()
            .any(|l| tag_of(l, "cpu").as_deref() == Some("cpu-total")),
        "{cpu:?}"
    );
    assert!(
        cpu.iter()
            .all(|l| tag_of(l, "cpu").as_deref() == Some("cpu-total")),
        "no per-CPU metrics with perdevice_include = []: {cpu:?}"
    );
    assert!(
        of("docker_container_net")
            .iter()
            .any(|l| tag_of(l, "network").as_deref() == Some("total")),
        "{lines:#?}"
    );

    // `storage_objects`: the engine's disk usage of the test's container, image and volume.
    let volume = format!("tick-docker-input-{pid}");
    cleanup.volume = Some(docker(&["volume", "create", &volume]).expect("creating a volume"));
    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.docker]]\n  container_name_include = [\"{name}\"]\n  \
             storage_objects = [\"container\", \"image\", \"volume\"]\n"
        ),
    );
    let usage = of_in(&lines, "docker_disk_usage");
    assert!(
        usage
            .iter()
            .any(|l| field_of(l, "layers_size").is_some_and(|v| v != "0i")),
        "{usage:#?}"
    );
    let container = usage
        .iter()
        .find(|l| tag_of(l, "container_name").as_deref() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("the test's container: {usage:#?}"));
    let sizes = docker(&[
        "inspect",
        "--size",
        "-f",
        "{{.SizeRw}} {{.SizeRootFs}}",
        &id,
    ])
    .unwrap();
    assert_eq!(
        format!(
            "{} {}",
            field_of(container, "size_rw").unwrap_or_default(),
            field_of(container, "size_root_fs").unwrap_or_default()
        ),
        sizes
            .split(' ')
            .map(|n| format!("{n}i"))
            .collect::<Vec<_>>()
            .join(" "),
        "{container}"
    );
    assert_eq!(
        tag_of(container, "container_version"),
        Some(pid.to_string())
    );
    let image_id = docker(&["image", "inspect", "-f", "{{.Id}}", &tag]).unwrap();
    let image = usage
        .iter()
        .find(|l| tag_of(l, "image_id").as_deref() == image_id.get(7..19))
        .unwrap_or_else(|| panic!("the test's image {image_id}: {usage:#?}"));
    let image_size = docker(&["image", "inspect", "-f", "{{.Size}}", &tag]).unwrap();
    assert_eq!(
        field_of(image, "size"),
        Some(format!("{image_size}i")),
        "{image}"
    );
    assert_eq!(
        tag_of(image, "image_name").as_deref(),
        Some("tick-rs-docker-input")
    );
    assert_eq!(tag_of(image, "image_version"), Some(pid.to_string()));
    assert!(
        usage.iter().any(
            |l| tag_of(l, "volume_name").as_deref() == Some(volume.as_str())
                && field_of(l, "size").is_some()
        ),
        "{usage:#?}"
    );

    // `gather_services` on an engine that is no Swarm manager: the engine's refusal is the
    // gather's error, and the containers are still reported.
    let swarm = docker(&["info", "-f", "{{.Swarm.ControlAvailable}}"]).unwrap_or_default();
    if swarm != "true" {
        let out = test_output(
            dir.path(),
            &format!(
                "[agent]\n  omit_hostname = true\n[[inputs.docker]]\n  gather_services = true\n  \
                 container_name_include = [\"{name}\"]\n"
            ),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stderr.contains("swarm: list services"), "{stderr}");
        assert!(
            stdout.contains("docker_container_status,") && !stdout.contains("docker_swarm,"),
            "{stdout}"
        );
    }
}

/// A Docker engine of the test's own, made a one-node Swarm manager: a second `dockerd` with
/// its data, exec root and socket in a temporary directory, `vfs` storage, no iptables rules,
/// and bridges of the test's own making (its default bridge made by the test — with
/// `--bridge=none` dockerd deletes `docker0`, the machine engine's bridge — and its
/// `docker_gwbridge` under a Linux name and a subnet the test chose), so that the machine's
/// engine never joins a Swarm or loses a network. When dropped it leaves the Swarm, removes
/// both bridges and is stopped by its PID (its process group, which holds the containerd it
/// started, if it does not end by itself).
struct OwnSwarm {
    dir: tempfile::TempDir,
    dockerd: Option<std::process::Child>,
    host: String,
    bridge: String,
}

/// `ip` with `args`: whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

impl OwnSwarm {
    /// Starts the engine and makes it a Swarm manager; `Err` says which step failed.
    fn start() -> Result<OwnSwarm, String> {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::Builder::new()
            .prefix("tkswarm")
            .tempdir_in("/tmp")
            .map_err(|e| e.to_string())?;
        let root = dir.path().to_path_buf();
        let path = |name: &str| root.join(name).to_string_lossy().into_owned();
        std::fs::write(dir.path().join("daemon.json"), "{}").map_err(|e| e.to_string())?;
        let log =
            std::fs::File::create(dir.path().join("dockerd.log")).map_err(|e| e.to_string())?;
        let host = format!("unix://{}", path("sock"));
        let pid = std::process::id();
        let bridge = format!("tkbr{}", pid % 10_000_000);
        let mut swarm = OwnSwarm {
            dir,
            dockerd: None,
            host,
            bridge,
        };
        let made = ip(&["link", "add", &swarm.bridge, "type", "bridge"])
            && ip(&["addr", "add", "10.199.253.1/24", "dev", &swarm.bridge])
            && ip(&["link", "set", &swarm.bridge, "up"]);
        if !made {
            return Err(format!("making bridge {}", swarm.bridge));
        }
        swarm.dockerd = Some(
            Command::new("dockerd")
                .args(["--data-root", &path("root"), "--exec-root", &path("exec")])
                .args([
                    "--pidfile",
                    &path("pid"),
                    "-H",
                    &swarm.host,
                    "--config-file",
                ])
                .arg(path("daemon.json"))
                .arg(format!("--bridge={}", swarm.bridge))
                .args(["--iptables=false", "--ip6tables=false"])
                .args(["--storage-driver", "vfs"])
                .stdout(log.try_clone().map_err(|e| e.to_string())?)
                .stderr(log)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("starting dockerd: {e}"))?,
        );
        let ready = (0..600).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            swarm.docker(&["info", "-f", "{{.ID}}"]).is_some()
        });
        if !ready {
            let log =
                std::fs::read_to_string(swarm.dir.path().join("dockerd.log")).unwrap_or_default();
            return Err(format!(
                "the test's dockerd did not answer within 60 s: {log}"
            ));
        }
        let gateway_bridge = format!("tkgw{}", pid % 10_000_000);
        swarm
            .docker(&[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                "10.199.254.0/24",
                "--opt",
                &format!("com.docker.network.bridge.name={gateway_bridge}"),
                "--opt",
                "com.docker.network.bridge.enable_icc=false",
                "--opt",
                "com.docker.network.bridge.enable_ip_masquerade=false",
                "docker_gwbridge",
            ])
            .ok_or("creating docker_gwbridge")?;
        let port = 20_000 + (pid % 9_000) * 2;
        swarm
            .docker(&[
                "swarm",
                "init",
                "--advertise-addr",
                "127.0.0.1",
                "--listen-addr",
                &format!("127.0.0.1:{port}"),
                "--data-path-port",
                &(port + 1).to_string(),
                "--default-addr-pool",
                "10.198.0.0/16",
            ])
            .ok_or("swarm init")?;
        Ok(swarm)
    }

    /// `docker` against this engine.
    fn docker(&self, args: &[&str]) -> Option<String> {
        docker_at(Some(&self.host), args)
    }
}

impl Drop for OwnSwarm {
    fn drop(&mut self) {
        let _ = self.docker(&["swarm", "leave", "--force"]);
        // The tasks' containers go with the Swarm; wait (bounded) until the bridge is free.
        for _ in 0..50 {
            if self.docker(&["network", "rm", "docker_gwbridge"]).is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if let Some(dockerd) = &mut self.dockerd {
            let pid = dockerd.id() as libc::pid_t;
            // SAFETY: signals the process this test started, by its PID.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let ended = (0..300).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                matches!(dockerd.try_wait(), Ok(Some(_)))
            });
            // SAFETY: its process group (the group's id is its PID): what it left running.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            if !ended {
                let _ = dockerd.wait();
            }
        }
        ip(&["link", "del", &self.bridge]);
    }
}

/// `gather_services` against a live Swarm (the test's own engine, see [`OwnSwarm`]) with one
/// service of each mode: `docker_swarm` counts what `docker service ls` shows — running and
/// desired tasks of the replicated and global services, `max_concurrent` and
/// `total_completions` of the replicated job, no running task of the finished jobs.
#[test]
fn docker_swarm_counts_the_tasks_of_a_live_swarm() {
    let ci = std::env::var("CI").ok().as_deref() == Some("true");
    // SAFETY: geteuid has no preconditions.
    let running_as_root = unsafe { libc::geteuid() } == 0;
    if Command::new("dockerd").arg("--version").output().is_err() || !running_as_root {
        assert!(!ci, "dockerd, run as root, is required under CI=true");
        eprintln!("SKIPPED: no dockerd, or not root");
        return;
    }
    let docker0 = ip(&["link", "show", "docker0"]);
    let swarm = OwnSwarm::start().expect("a Swarm of the test's own");
    let dir = tempfile::tempdir().unwrap();
    sleep_image(Some(&swarm.host), dir.path(), "tick-sleep:1").expect("building the test image");
    let create = |args: &[&str]| {
        let mut all = vec!["service", "create", "-d"];
        all.extend_from_slice(args);
        swarm
            .docker(&all)
            .unwrap_or_else(|| panic!("docker service create {args:?}"))
    };
    create(&["--name", "rep", "--replicas", "2", "tick-sleep:1"]);
    create(&["--name", "glob", "--mode", "global", "tick-sleep:1"]);
    create(&[
        "--name",
        "rjob",
        "--mode",
        "replicated-job",
        "--replicas",
        "3",
        "--max-concurrent",
        "1",
        "tick-sleep:1",
        "/bin/sleep",
        "0.2",
    ]);
    create(&[
        "--name",
        "gjob",
        "--mode",
        "global-job",
        "tick-sleep:1",
        "/bin/sleep",
        "0.2",
    ]);
    let expected = [
        ("rep", "2/2"),
        ("glob", "1/1"),
        ("rjob", "0/1 (3/3 completed)"),
        ("gjob", "0/0 (1/1 completed)"),
    ];
    let settled = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let ls = swarm
            .docker(&["service", "ls", "--format", "{{.Name}} {{.Replicas}}"])
            .unwrap_or_default();
        expected
            .iter()
            .all(|(name, replicas)| ls.lines().any(|l| l == format!("{name} {replicas}")))
    });
    assert!(
        settled,
        "services did not settle within 60 s: {:?}",
        swarm.docker(&["service", "ls"])
    );

    let lines = test_run(
        dir.path(),
        &format!(
            "[agent]\n  omit_hostname = true\n[[inputs.docker]]\n  endpoint = \"{}\"\n  \
             gather_services = true\n",
            swarm.host
        ),
    );
    let swarm_lines = of_in(&lines, "docker_swarm");
    assert_eq!(swarm_lines.len(), 4, "{lines:#?}");
    let of_service = |name: &str| {
        let line = swarm_lines
            .iter()
            .find(|l| tag_of(l, "service_name").as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no docker_swarm line for {name}: {swarm_lines:#?}"));
        let id = swarm
            .docker(&["service", "inspect", "-f", "{{.ID}}", name])
            .unwrap();
        assert_eq!(tag_of(line, "service_id"), Some(id), "{line}");
        line.to_string()
    };
    type Fields<'a> = &'a [(&'a str, Option<&'a str>)];
    let counts: [(&str, &str, Fields); 4] = [
        (
            "rep",
            "replicated",
            &[("tasks_running", Some("2i")), ("tasks_desired", Some("2i"))],
        ),
        (
            "glob",
            "global",
            &[("tasks_running", Some("1i")), ("tasks_desired", Some("1i"))],
        ),
        (
            "rjob",
            "replicated_job",
            &[
                ("tasks_running", Some("0i")),
                ("max_concurrent", Some("1i")),
                ("total_completions", Some("3i")),
                ("tasks_desired", None),
            ],
        ),
        (
            "gjob",
            "global_job",
            &[("tasks_running", Some("0i")), ("tasks_desired", None)],
        ),
    ];
    for (name, mode, fields) in counts {
        let line = of_service(name);
        assert_eq!(
            tag_of(&line, "service_mode").as_deref(),
            Some(mode),
            "{line}"
        );
        for (field, value) in fields {
            assert_eq!(field_of(&line, field).as_deref(), *value, "{field}: {line}");
        }
    }
    drop(swarm);
    assert_eq!(
        ip(&["link", "show", "docker0"]),
        docker0,
        "the machine engine's bridge is as it was"
    );
}
