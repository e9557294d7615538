//! `inputs.docker`: the Docker engine and its containers, read from the Engine API (the unix
//! socket by default) through the `bollard` client, with Telegraf's measurements, tags and
//! fields: `docker` (engine counts), and per container `docker_container_status`,
//! `docker_container_health`, `docker_container_mem`, `docker_container_cpu` (per CPU and
//! `cpu-total`), `docker_container_net` (per network and `total`) and
//! `docker_container_blkio` (per device and `total`), tagged `engine_host`, `server_version`,
//! `container_name`, `container_image`, `container_version`, `container_status`, the
//! container's labels and chosen environment variables; with `gather_services`, the Swarm
//! services of a manager node (`swarm`); with `storage_objects`, the engine's disk usage
//! (`disk_usage`).

mod disk_usage;
mod swarm;

use super::{gathered_all, Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::metric::Metric;
use crate::options::GoDuration;
use bollard::models::{ContainerStatsResponse, ContainerSummary};
use bollard::query_parameters::{ListContainersOptionsBuilder, StatsOptionsBuilder};
use bollard::Docker;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Options of `[[inputs.docker]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DockerConfig {
    /// `unix:///var/run/docker.sock`, `tcp://host:2375`, or `ENV` (`DOCKER_HOST`).
    pub endpoint: String,
    /// Also the Swarm services' running and desired tasks (`docker_swarm`).
    pub gather_services: bool,
    /// Deprecated list of container names to report (all when empty).
    pub container_names: Vec<String>,
    /// Adds `source` = the container's short id.
    pub source_tag: bool,
    /// Container names (globs) to report.
    pub container_name_include: Vec<String>,
    /// Container names (globs) not to report.
    pub container_name_exclude: Vec<String>,
    /// Container states (globs) to report; `running` when both lists are empty.
    pub container_state_include: Vec<String>,
    /// Container states (globs) not to report.
    pub container_state_exclude: Vec<String>,
    /// How long one call to the engine may take.
    pub timeout: GoDuration,
    /// Deprecated: per-device network and blkio too (true, for compatibility).
    pub perdevice: bool,
    /// What is reported per device: `cpu`, `blkio`, `network`.
    pub perdevice_include: Vec<String>,
    /// Deprecated: totals of blkio and network too (false, for compatibility).
    pub total: bool,
    /// What is reported as a total: `cpu`, `blkio`, `network`.
    pub total_include: Vec<String>,
    /// Labels (globs) that become tags (all when empty).
    pub docker_label_include: Vec<String>,
    /// Labels (globs) that do not.
    pub docker_label_exclude: Vec<String>,
    /// Environment variables of the containers that become tags.
    pub tag_env: Vec<String>,
    /// Disk usage of these kinds of object (`container`, `image`, `volume`) as
    /// `docker_disk_usage`; none when empty.
    pub storage_objects: Vec<String>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            endpoint: "unix:///var/run/docker.sock".into(),
            gather_services: false,
            container_names: Vec::new(),
            source_tag: false,
            container_name_include: Vec::new(),
            container_name_exclude: Vec::new(),
            container_state_include: Vec::new(),
            container_state_exclude: Vec::new(),
            timeout: GoDuration::secs(5),
            perdevice: true,
            perdevice_include: vec!["cpu".into()],
            total: false,
            total_include: vec!["cpu".into(), "blkio".into(), "network".into()],
            docker_label_include: Vec::new(),
            docker_label_exclude: Vec::new(),
            tag_env: vec!["JAVA_HOME".into(), "HEAP_SIZE".into()],
            storage_objects: Vec::new(),
        }
    }
}

/// The container states Docker knows (what `container_state_*` filter).
const STATES: [&str; 7] = [
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// An include/exclude pair of glob lists.
struct Filter {
    include: Option<globset::GlobSet>,
    exclude: Option<globset::GlobSet>,
}

impl Filter {
    fn new(name: &str, include: &[String], exclude: &[String]) -> Result<Self, InputError> {
        Ok(Filter {
            include: super::glob_set(&format!("{name}_include"), include)?,
            exclude: super::glob_set(&format!("{name}_exclude"), exclude)?,
        })
    }

    fn matches(&self, s: &str) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(s))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(s))
    }
}

/// Builds the input: the endpoint's client (it connects on first use) and the filters, with
/// Telegraf's compatibility rules for `perdevice` and `total`.
pub fn build(c: &DockerConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let timeout = c.timeout.0.as_secs().max(1);
    let endpoint = match c.endpoint.as_str() {
        "ENV" => {
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
        }
        e => e.to_string(),
    };
    let version = bollard::API_DEFAULT_VERSION;
    let client = if let Some(addr) = endpoint.strip_prefix("tcp://") {
        Docker::connect_with_http(&format!("http://{addr}"), timeout, version)
    } else if endpoint.starts_with("http://") {
        Docker::connect_with_http(&endpoint, timeout, version)
    } else {
        Docker::connect_with_unix(&endpoint, timeout, version)
    }
    .map_err(|e| InputError::Settings(format!("endpoint {endpoint:?}: {e}")))?;
    let mut perdevice = c.perdevice_include.clone();
    if c.perdevice {
        for extra in ["network", "blkio"] {
            if !perdevice.iter().any(|p| p == extra) {
                perdevice.push(extra.into());
            }
        }
    }
    let total = match c.total {
        true => c.total_include.clone(),
        false if c.total_include.iter().any(|t| t == "cpu") => vec!["cpu".into()],
        false => Vec::new(),
    };
    for choice in perdevice.iter().chain(&total) {
        if !matches!(choice.as_str(), "cpu" | "blkio" | "network") {
            return Err(InputError::Settings(format!(
                "perdevice_include/total_include: {choice:?} is not cpu, blkio or network"
            )));
        }
    }
    for kind in &c.storage_objects {
        if !disk_usage::KINDS.contains(&kind.as_str()) {
            return Err(InputError::Settings(format!(
                "storage_objects: {kind:?} is not container, image or volume"
            )));
        }
    }
    let mut names = c.container_name_include.clone();
    names.extend(c.container_names.iter().cloned());
    let states = match c.container_state_include.is_empty() && c.container_state_exclude.is_empty()
    {
        true => vec!["running".to_string()],
        false => c.container_state_include.clone(),
    };
    Ok(Box::new(DockerInput {
        client,
        endpoint,
        storage_objects: c.storage_objects.clone(),
        names: Filter::new("container_name", &names, &c.container_name_exclude)?,
        states: Filter::new("container_state", &states, &c.container_state_exclude)?,
        labels: Filter::new(
            "docker_label",
            &c.docker_label_include,
            &c.docker_label_exclude,
        )?,
        perdevice,
        total,
        tag_env: c.tag_env.clone(),
        source_tag: c.source_tag,
        timeout: c.timeout.0,
        gather_services: c.gather_services,
    }))
}

struct DockerInput {
    client: Docker,
    /// The engine's address, for the requests made without `client`.
    endpoint: String,
    storage_objects: Vec<String>,
    names: Filter,
    states: Filter,
    labels: Filter,
    perdevice: Vec<String>,
    total: Vec<String>,
    tag_env: Vec<String>,
    source_tag: bool,
    timeout: std::time::Duration,
    gather_services: bool,
}

/// An image reference split as Telegraf splits it: name (with its registry) and tag
/// (`unknown` when none).
pub fn parse_image(image: &str) -> (String, String) {
    let (domain, rest) = match image.split_once('/') {
        Some((d, r)) if d.contains(['.', ':']) || d == "localhost" => (Some(d), r),
        _ => (None, image),
    };
    let (name, version) = match rest.rsplit_once(':') {
        Some((n, v)) => (n, v),
        None => (rest, "unknown"),
    };
    let name = match domain {
        Some(d) => format!("{d}/{name}"),
        None => name.to_string(),
    };
    (name, version.to_string())
}

/// The container's name: the first of its names without a `/` inside.
fn container_name(c: &ContainerSummary) -> Option<String> {
    container_name_of(c.names.as_deref().unwrap_or_default())
}

/// The first of a container's `names` without a `/` inside (after the leading one).
fn container_name_of(names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| n.trim_start_matches('/'))
        .find(|n| !n.contains('/'))
        .map(str::to_string)
}

/// `YYYY-…Z` as ns; `None` for Docker's zero time.
fn rfc3339_nanos(t: Option<&str>) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(t?).ok()?;
    (t.timestamp() > 0)
        .then(|| t.timestamp_nanos_opt())
        .flatten()
}

impl DockerInput {
    async fn with_timeout<T, E: std::fmt::Display>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{what}: {e}")),
            Err(_) => Err(format!("{what}: timed out after {:?}", self.timeout)),
        }
    }

    /// The engine's `docker` metrics; its name and version (the tags of every metric).
    async fn engine(&self, acc: &mut Accumulator) -> Result<BTreeMap<String, String>, String> {
        let info = self.with_timeout("info", self.client.info()).await?;
        let tags = BTreeMap::from([
            (
                "engine_host".to_string(),
                info.name.clone().unwrap_or_default(),
            ),
            (
                "server_version".to_string(),
                info.server_version.clone().unwrap_or_default(),
            ),
        ]);
        let mut m = acc.metric("docker");
        m.tags = tags.clone();
        for (k, v) in [
            ("n_used_file_descriptors", info.nfd),
            ("n_cpus", info.ncpu),
            ("n_containers", info.containers),
            ("n_containers_running", info.containers_running),
            ("n_containers_stopped", info.containers_stopped),
            ("n_containers_paused", info.containers_paused),
            ("n_images", info.images),
            ("n_goroutines", info.n_goroutines),
            ("n_listener_events", info.n_events_listener),
        ] {
            m.add_field(k, v.unwrap_or_default());
        }
        acc.push(m);
        let mut total = acc.metric("docker");
        total.tags = tags.clone();
        total.add_field("memory_total", info.mem_total.unwrap_or_default());
        acc.push(total);
        Ok(tags)
    }

    /// The Swarm services' metrics (none when there is no service).
    async fn services(&self, now: i64) -> Result<Vec<Metric>, String> {
        let services = self
            .with_timeout("list services", self.client.list_services(None))
            .await?;
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let tasks = self
            .with_timeout("list tasks", self.client.list_tasks(None))
            .await?;
        Ok(swarm::service_metrics(&services, &tasks, now))
    }

    /// The `docker_disk_usage` metrics of the chosen storage objects.
    async fn disk_usage(
        &self,
        engine: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<Vec<Metric>, String> {
        let path = disk_usage::request_path(&self.storage_objects);
        let body = self
            .with_timeout("/system/df", disk_usage::get(&self.endpoint, &path))
            .await?;
        disk_usage::metrics(&body, &self.storage_objects, engine, self.source_tag, now)
    }

    /// Every metric of one container.
    async fn container(
        &self,
        c: &ContainerSummary,
        engine: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<Vec<Metric>, String> {
        let Some(name) = container_name(c) else {
            return Ok(Vec::new());
        };
        let id = c.id.clone().unwrap_or_default();
        let (image, version) = parse_image(c.image.as_deref().unwrap_or_default());
        let mut tags = engine.clone();
        tags.insert("container_name".into(), name.clone());
        tags.insert("container_image".into(), image);
        tags.insert("container_version".into(), version);
        if self.source_tag {
            tags.insert("source".into(), id.chars().take(12).collect());
        }
        for (k, v) in c.labels.iter().flatten() {
            if self.labels.matches(k) {
                tags.insert(k.clone(), v.clone());
            }
        }
        let options = StatsOptionsBuilder::new().stream(false).build();
        let stats = self
            .with_timeout("stats", async {
                let mut stream = self.client.stats(&id, Some(options));
                stream.next().await.unwrap_or_else(|| {
                    Err(bollard::errors::Error::DockerStreamError {
                        error: "the engine sent no stats".into(),
                    })
                })
            })
            .await?;
        let info = self
            .with_timeout("inspect", self.client.inspect_container(&id, None))
            .await?;
        for env in info.config.iter().flat_map(|c| c.env.iter().flatten()) {
            if let Some((k, v)) = env.split_once('=') {
                if !v.trim().is_empty() && self.tag_env.iter().any(|t| t == k) {
                    tags.insert(k.into(), v.into());
                }
            }
        }
        let mut out = Vec::new();
        if let Some(state) = &info.state {
            if let Some(status) = &state.status {
                tags.insert("container_status".into(), status.to_string());
            }
            let mut m = Metric::new("docker_container_status", now);
            m.tags = tags.clone();
            m.add_field("oomkilled", state.oom_killed.unwrap_or_default());
            m.add_field("pid", state.pid.unwrap_or_default());
            m.add_field("exitcode", state.exit_code.unwrap_or_default());
            m.add_field("container_id", id.clone());
            let finished = rfc3339_nanos(state.finished_at.as_deref());
            if let Some(f) = finished {
                m.add_field("finished_at", f);
            }
            if let Some(started) = rfc3339_nanos(state.started_at.as_deref()) {
                m.add_field("started_at", started);
                let end = finished.filter(|f| *f >= started).unwrap_or(now);
                m.add_field("uptime_ns", end - started);
            }
            out.push(m);
            if let Some(health) = &state.health {
                let mut h = Metric::new("docker_container_health", now);
                h.tags = tags.clone();
                h.add_field(
                    "health_status",
                    health.status.map(|s| s.to_string()).unwrap_or_default(),
                );
                h.add_field("failing_streak", health.failing_streak.unwrap_or_default());
                out.push(h);
            }
        }
        out.extend(stats_metrics(
            &stats,
            &tags,
            &id,
            &self.perdevice,
            &self.total,
            now,
        ));
        Ok(out)
    }
}

fn has(list: &[String], what: &str) -> bool {
    list.iter().any(|l| l == what)
}

/// Cgroup v1's memory statistics Telegraf reports (cgroup v2 engines report other keys).
const MEMORY_STATS: [&str; 29] = [
    "active_anon",
    "active_file",
    "cache",
    "hierarchical_memory_limit",
    "inactive_anon",
    "inactive_file",
    "mapped_file",
    "pgfault",
    "pgmajfault",
    "pgpgin",
    "pgpgout",
    "rss",
    "rss_huge",
    "total_active_anon",
    "total_active_file",
    "total_cache",
    "total_inactive_anon",
    "total_inactive_file",
    "total_mapped_file",
    "total_pgfault",
    "total_pgmajfault",
    "total_pgpgin",
    "total_pgpgout",
    "total_rss",
    "total_rss_huge",
    "total_unevictable",
    "total_writeback",
    "unevictable",
    "writeback",
];

/// The memory, CPU, network and block I/O metrics of one stats answer, as Telegraf computes
/// them (memory usage without the page cache, CPU percent from the previous reading).
pub fn stats_metrics(
    s: &ContainerStatsResponse,
    tags: &BTreeMap<String, String>,
    id: &str,
    perdevice: &[String],
    total: &[String],
    now: i64,
) -> Vec<Metric> {
    let time = s
        .read
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().and_then(|t| rfc3339_nanos(Some(t))))
        .unwrap_or(now);
    let metric = |name: &str, extra: Option<(&str, String)>| {
        let mut m = Metric::new(name, time);
        m.tags = tags.clone();
        if let Some((k, v)) = extra {
            m.tags.insert(k.into(), v);
        }
        m
    };
    let mut out = Vec::new();

    let mem = s.memory_stats.clone().unwrap_or_default();
    let stats: HashMap<String, u64> = mem.stats.clone().unwrap_or_default();
    let mut m = metric("docker_container_mem", None);
    m.add_field("container_id", id.to_string());
    for key in MEMORY_STATS {
        if let Some(v) = stats.get(key) {
            m.add_field(key, *v);
        }
    }
    if let Some(f) = mem.failcnt.filter(|f| *f != 0) {
        m.add_field("fail_count", f);
    }
    let usage = mem.usage.unwrap_or_default();
    let limit = mem.limit.unwrap_or_default();
    let cache = match stats.get("total_inactive_file") {
        Some(v) if *v < usage => *v,
        _ => stats
            .get("inactive_file")
            .copied()
            .filter(|v| *v < usage)
            .unwrap_or(0),
    };
    let used = usage - cache;
    m.add_field("limit", limit);
    m.add_field("max_usage", mem.max_usage.unwrap_or_default());
    m.add_field("usage", used);
    m.add_field(
        "usage_percent",
        match limit {
            0 => 0.0,
            l => used as f64 / l as f64 * 100.0,
        },
    );
    out.push(m);

    let cpu = s.cpu_stats.clone().unwrap_or_default();
    let usage = cpu.cpu_usage.clone().unwrap_or_default();
    if has(total, "cpu") {
        let throttling = cpu.throttling_data.clone().unwrap_or_default();
        let mut m = metric("docker_container_cpu", Some(("cpu", "cpu-total".into())));
        m.add_field("usage_total", usage.total_usage.unwrap_or_default());
        m.add_field(
            "usage_in_usermode",
            usage.usage_in_usermode.unwrap_or_default(),
        );
        m.add_field(
            "usage_in_kernelmode",
            usage.usage_in_kernelmode.unwrap_or_default(),
        );
        m.add_field("usage_system", cpu.system_cpu_usage.unwrap_or_default());
        m.add_field("throttling_periods", throttling.periods.unwrap_or_default());
        m.add_field(
            "throttling_throttled_periods",
            throttling.throttled_periods.unwrap_or_default(),
        );
        m.add_field(
            "throttling_throttled_time",
            throttling.throttled_time.unwrap_or_default(),
        );
        m.add_field("container_id", id.to_string());
        let pre = s.precpu_stats.clone().unwrap_or_default();
        let cpu_delta = usage.total_usage.unwrap_or_default() as f64
            - pre
                .cpu_usage
                .and_then(|u| u.total_usage)
                .unwrap_or_default() as f64;
        let system_delta = cpu.system_cpu_usage.unwrap_or_default() as f64
            - pre.system_cpu_usage.unwrap_or_default() as f64;
        let online = match cpu.online_cpus.unwrap_or_default() {
            0 => usage.percpu_usage.as_ref().map_or(0, Vec::len) as f64,
            n => f64::from(n),
        };
        let percent = match system_delta > 0.0 && cpu_delta > 0.0 {
            true => cpu_delta / system_delta * online * 100.0,
            false => 0.0,
        };
        m.add_field("usage_percent", percent);
        out.push(m);
    }
    if has(perdevice, "cpu") {
        let per = usage.percpu_usage.clone().unwrap_or_default();
        let online = match cpu.online_cpus {
            Some(n) if n > 0 => (n as usize).min(per.len()),
            _ => per.len(),
        };
        for (i, v) in per.iter().take(online).enumerate() {
            let mut m = metric("docker_container_cpu", Some(("cpu", format!("cpu{i}"))));
            m.add_field("usage_total", *v);
            m.add_field("container_id", id.to_string());
            out.push(m);
        }
    }

    let mut net_total: BTreeMap<&str, u64> = BTreeMap::new();
    let mut networks: Vec<_> = s.networks.iter().flatten().collect();
    networks.sort_by(|a, b| a.0.cmp(b.0));
    for (name, n) in networks {
        let fields = [
            ("rx_dropped", n.rx_dropped),
            ("rx_bytes", n.rx_bytes),
            ("rx_errors", n.rx_errors),
            ("tx_packets", n.tx_packets),
            ("tx_dropped", n.tx_dropped),
            ("rx_packets", n.rx_packets),
            ("tx_errors", n.tx_errors),
            ("tx_bytes", n.tx_bytes),
        ];
        if has(perdevice, "network") {
            let mut m = metric("docker_container_net", Some(("network", name.clone())));
            for (k, v) in fields {
                m.add_field(k, v.unwrap_or_default());
            }
            m.add_field("container_id", id.to_string());
            out.push(m);
        }
        for (k, v) in fields {
            *net_total.entry(k).or_default() += v.unwrap_or_default();
        }
    }
    if has(total, "network") && !net_total.is_empty() {
        let mut m = metric("docker_container_net", Some(("network", "total".into())));
        for (k, v) in net_total {
            m.add_field(k, v);
        }
        m.add_field("container_id", id.to_string());
        out.push(m);
    }

    let mut devices: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    if let Some(b) = &s.blkio_stats {
        let lists = [
            ("io_service_bytes_recursive_", &b.io_service_bytes_recursive),
            ("io_serviced_recursive_", &b.io_serviced_recursive),
            ("io_queue_recursive_", &b.io_queue_recursive),
            ("io_service_time_recursive_", &b.io_service_time_recursive),
            ("io_wait_time_", &b.io_wait_time_recursive),
            ("io_merged_recursive_", &b.io_merged_recursive),
            ("io_time_recursive", &b.io_time_recursive),
            ("sectors_recursive", &b.sectors_recursive),
        ];
        for (prefix, list) in lists {
            for e in list.iter().flatten() {
                let device = format!(
                    "{}:{}",
                    e.major.unwrap_or_default(),
                    e.minor.unwrap_or_default()
                );
                let field = match prefix.ends_with('_') {
                    true => format!(
                        "{prefix}{}",
                        e.op.as_deref().unwrap_or_default().to_lowercase()
                    ),
                    false => prefix.to_string(),
                };
                let entry = devices.entry(device).or_default();
                match entry.iter_mut().find(|(k, _)| *k == field) {
                    Some(slot) => slot.1 = e.value.unwrap_or_default(),
                    None => entry.push((field, e.value.unwrap_or_default())),
                }
            }
        }
    }
    let mut blk_total: BTreeMap<String, u64> = BTreeMap::new();
    for (device, fields) in &devices {
        if has(perdevice, "blkio") {
            let mut m = metric("docker_container_blkio", Some(("device", device.clone())));
            for (k, v) in fields {
                m.add_field(k.clone(), *v);
            }
            m.add_field("container_id", id.to_string());
            out.push(m);
        }
        for (k, v) in fields {
            *blk_total.entry(k.clone()).or_default() += v;
        }
    }
    if has(total, "blkio") {
        let mut m = metric("docker_container_blkio", Some(("device", "total".into())));
        for (k, v) in blk_total {
            m.add_field(k, v);
        }
        m.add_field("container_id", id.to_string());
        out.push(m);
    }
    out
}

impl Input for DockerInput {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let engine = self
                .engine(acc)
                .await
                .map_err(|message| InputError::Command {
                    command: "docker".into(),
                    message,
                })?;
            let mut errors = Vec::new();
            if self.gather_services {
                match self.services(acc.time).await {
                    Ok(metrics) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Err(e) => errors.push(format!("swarm: {e}")),
                }
            }
            if !self.storage_objects.is_empty() {
                match self.disk_usage(&engine, acc.time).await {
                    Ok(metrics) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Err(e) => errors.push(format!("disk usage: {e}")),
                }
            }
            let states: Vec<String> = STATES
                .iter()
                .filter(|s| self.states.matches(s))
                .map(|s| s.to_string())
                .collect();
            if states.is_empty() {
                return gathered_all("docker", errors);
            }
            let filters = HashMap::from([("status", states)]);
            let options = ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build();
            let containers = self
                .with_timeout(
                    "list containers",
                    self.client.list_containers(Some(options)),
                )
                .await
                .map_err(|message| InputError::Command {
                    command: "docker".into(),
                    message,
                })?;
            let chosen: Vec<&ContainerSummary> = containers
                .iter()
                .filter(|c| container_name(c).is_some_and(|n| self.names.matches(&n)))
                .collect();
            let now = acc.time;
            let results =
                futures::future::join_all(chosen.iter().map(|c| self.container(c, &engine, now)))
                    .await;
            for (c, result) in chosen.iter().zip(results) {
                match result {
                    Ok(metrics) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Err(e) => errors.push(format!(
                        "container {}: {e}",
                        container_name(c).unwrap_or_default()
                    )),
                }
            }
            gathered_all("docker", errors)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::FieldValue;

    #[test]
    fn images_split_as_telegraf_splits_them() {
        let cases = [
            ("redis", ("redis", "unknown")),
            ("redis:7.2", ("redis", "7.2")),
            (
                "quay.io/prometheus/node-exporter:v1",
                ("quay.io/prometheus/node-exporter", "v1"),
            ),
            ("localhost:5000/app", ("localhost:5000/app", "unknown")),
            ("library/nginx:1.25", ("library/nginx", "1.25")),
        ];
        for (image, (name, version)) in cases {
            assert_eq!(
                parse_image(image),
                (name.to_string(), version.to_string()),
                "{image}"
            );
        }
    }

    /// A cgroup v1 stats answer, as the Engine API documents it.
    const STATS: &str = r#"{
      "read": "2024-05-01T10:00:01.000000000Z",
      "cpu_stats": {"cpu_usage": {"total_usage": 400, "percpu_usage": [100, 300], "usage_in_usermode": 50, "usage_in_kernelmode": 20},
                    "system_cpu_usage": 2000, "online_cpus": 2,
                    "throttling_data": {"periods": 1, "throttled_periods": 0, "throttled_time": 0}},
      "precpu_stats": {"cpu_usage": {"total_usage": 200}, "system_cpu_usage": 1000},
      "memory_stats": {"usage": 1000, "max_usage": 1500, "limit": 4000, "failcnt": 0,
                       "stats": {"total_inactive_file": 200, "rss": 700, "cache": 300}},
      "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20, "rx_packets": 1, "tx_packets": 2, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0},
                   "eth1": {"rx_bytes": 5, "tx_bytes": 5, "rx_packets": 1, "tx_packets": 1, "rx_errors": 0, "tx_errors": 0, "rx_dropped": 0, "tx_dropped": 0}},
      "blkio_stats": {"io_service_bytes_recursive": [{"major": 8, "minor": 0, "op": "Read", "value": 100}, {"major": 8, "minor": 0, "op": "Write", "value": 50}],
                      "io_serviced_recursive": [{"major": 8, "minor": 0, "op": "Read", "value": 3}]}
    }"#;

    #[test]
    fn stats_become_telegrafs_metrics() {
        let s: ContainerStatsResponse = serde_json::from_str(STATS).unwrap();
        let tags = BTreeMap::from([("container_name".to_string(), "web".to_string())]);
        let all = ["cpu".to_string(), "network".into(), "blkio".into()];
        let out = stats_metrics(&s, &tags, "abc", &all, &all, 0);
        let find = |name: &str, tag: Option<(&str, &str)>| {
            out.iter()
                .find(|m| {
                    m.name == name
                        && tag.is_none_or(|(k, v)| m.tags.get(k).map(String::as_str) == Some(v))
                })
                .unwrap_or_else(|| panic!("no {name} {tag:?} in {out:#?}"))
        };
        let mem = find("docker_container_mem", None);
        assert_eq!(
            mem.field("usage"),
            Some(&FieldValue::UInt(800)),
            "without the cache"
        );
        assert_eq!(mem.field("usage_percent"), Some(&FieldValue::Float(20.0)));
        assert_eq!(mem.field("rss"), Some(&FieldValue::UInt(700)));
        assert_eq!(mem.field("fail_count"), None);
        assert_eq!(
            mem.time, 1_714_557_601_000_000_000,
            "stamped with the stats' time"
        );
        let cpu = find("docker_container_cpu", Some(("cpu", "cpu-total")));
        assert_eq!(cpu.field("usage_percent"), Some(&FieldValue::Float(40.0)));
        assert_eq!(cpu.field("usage_system"), Some(&FieldValue::UInt(2000)));
        let cpu1 = find("docker_container_cpu", Some(("cpu", "cpu1")));
        assert_eq!(cpu1.field("usage_total"), Some(&FieldValue::UInt(300)));
        let net = find("docker_container_net", Some(("network", "total")));
        assert_eq!(net.field("rx_bytes"), Some(&FieldValue::UInt(15)));
        let blk = find("docker_container_blkio", Some(("device", "8:0")));
        assert_eq!(
            blk.field("io_service_bytes_recursive_read"),
            Some(&FieldValue::UInt(100))
        );
        assert_eq!(
            blk.field("io_serviced_recursive_read"),
            Some(&FieldValue::UInt(3))
        );
        assert_eq!(blk.tags["container_name"], "web");
        let only_cpu = stats_metrics(&s, &tags, "abc", &["cpu".into()], &[], 0);
        assert!(only_cpu.iter().all(|m| m.name != "docker_container_net"
            && m.tags.get("cpu").map(String::as_str) != Some("cpu-total")));
    }
}
