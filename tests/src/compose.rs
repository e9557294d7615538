//! Drives `docker compose` (or the older `docker-compose`) for the compose test: one project
//! with a name of its own, the repository's compose file plus the override that builds the
//! image from static binaries, and settings passed as environment (as a user's `.env` would).
//! Dropping it removes everything the project made: containers, networks, volumes, images,
//! and the extra containers and images registered with it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Why Docker cannot be used here (the test is skipped, or fails under CI).
pub fn engine_unavailable() -> Option<String> {
    match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output()
    {
        Err(e) => Some(format!("the docker command cannot run: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "no Docker engine answers: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// `docker compose` when the v2 plugin is installed, else `docker-compose`: the program and
/// its first arguments.
fn compose_command() -> Option<(String, Vec<String>)> {
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if v2 {
        return Some(("docker".into(), vec!["compose".into()]));
    }
    let v1 = Command::new("docker-compose")
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    v1.then(|| ("docker-compose".into(), Vec::new()))
}

/// One compose project; torn down on drop.
pub struct Compose {
    program: String,
    program_args: Vec<String>,
    project: String,
    files: Vec<PathBuf>,
    env: Vec<(String, String)>,
    extra_containers: Vec<String>,
    extra_images: Vec<String>,
}

impl Compose {
    /// A project named `project` over `files`, with `env` set for every compose command.
    /// `None` when neither compose tool is installed.
    pub fn new(project: &str, files: &[&Path], env: &[(&str, String)]) -> Option<Compose> {
        let (program, program_args) = compose_command()?;
        Some(Compose {
            program,
            program_args,
            project: project.to_string(),
            files: files.iter().map(|f| f.to_path_buf()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            extra_containers: Vec::new(),
            extra_images: Vec::new(),
        })
    }

    /// The name compose gives the project's default network.
    pub fn network(&self) -> String {
        format!("{}_default", self.project)
    }

    /// The compose tool in use, for messages.
    pub fn tool(&self) -> String {
        let mut words = vec![self.program.clone()];
        words.extend(self.program_args.iter().cloned());
        words.join(" ")
    }

    /// Runs `compose <args>` and returns its output, whatever its status.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.program_args).args(["-p", &self.project]);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("{} cannot run: {e}", self.tool()))
    }

    /// Runs `compose <args>`, panicking with its output (and the services' logs) on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        if !out.status.success() {
            panic!(
                "`{} {}` failed: {}{}\n--- logs ---\n{}",
                self.tool(),
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last lines of every service's log.
    pub fn logs(&self) -> String {
        let out = self.run(&["logs", "--no-color", "--tail=60"]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The container id of `service` (empty when it has none).
    pub fn container(&self, service: &str) -> String {
        self.ok(&["ps", "-q", service]).trim().to_string()
    }

    /// The health of `service`'s container: `healthy`, `starting`, `unhealthy`, or `none`.
    pub fn health(&self, service: &str) -> String {
        let id = self.container(service);
        if id.is_empty() {
            return "none".into();
        }
        docker(&[
            "inspect",
            "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
            &id,
        ])
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("none ({e})"))
    }

    /// Waits (at most `limit`) until every one of `services` is healthy; panics with the
    /// services' states and logs otherwise.
    pub fn wait_healthy(&self, services: &[&str], limit: Duration) {
        let mut states = Vec::new();
        let healthy = crate::wait_until(limit, || {
            std::thread::sleep(Duration::from_millis(900));
            states = services
                .iter()
                .map(|s| format!("{s}={}", self.health(s)))
                .collect();
            states.iter().all(|s| s.ends_with("=healthy"))
        });
        assert!(
            healthy,
            "not healthy within {limit:?}: {states:?}\n--- logs ---\n{}",
            self.logs()
        );
    }

    /// Registers a container started beside the project, removed with it.
    pub fn own_container(&mut self, name: &str) {
        self.extra_containers.push(name.to_string());
    }

    /// Registers an image built for the project, removed with it.
    pub fn own_image(&mut self, name: &str) {
        self.extra_images.push(name.to_string());
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        for c in &self.extra_containers {
            let _ = docker(&["rm", "-f", "-v", c]);
        }
        let _ = self.run(&["down", "-v", "--remove-orphans", "--rmi", "all", "-t", "10"]);
        for i in &self.extra_images {
            let _ = docker(&["rmi", "-f", i]);
        }
    }
}

/// Runs `docker <args>`; its stdout, or its stderr as the error.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("docker cannot run: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
