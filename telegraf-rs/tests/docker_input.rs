//! `inputs.docker` against the Docker engine this machine runs: a container the test makes
//! (an image built `FROM scratch` out of Debian's `sleep` and the libraries it links, so no
//! image is pulled) with a memory limit, a label and an environment variable, and what the
//! agent reports of it checked against `docker inspect` and `docker info`; the engine's disk
//! usage (`storage_objects`) against `docker inspect --size` and `docker image inspect`.

mod common;

use common::{field_of, tag_of, test_output, test_run};
use std::process::Command;

/// `docker` with `args`: its output, trimmed; `None` when it failed.
fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
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

/// Builds an image holding only `/bin/sleep` and its libraries; its tag.
fn sleep_image(dir: &std::path::Path, tag: &str) -> Option<String> {
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
    docker(&["build", "-q", "-t", tag, &dir.to_string_lossy()])
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
    let image = sleep_image(dir.path(), &tag).expect("building the test image");
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
