//! `gather_services`: the Swarm services of a manager node as Telegraf's `docker_swarm`
//! measurement — tags `service_id`, `service_name`, `service_mode` (`replicated`, `global`,
//! `replicated_job`, `global_job`); field `tasks_running` (the service's tasks in state
//! `running`), `tasks_desired` (a replicated service's replicas; for a global one its tasks not
//! meant to shut down), and for replicated jobs `max_concurrent` and `total_completions`. A
//! service of another mode is left out.

use crate::metric::{FieldValue, Metric};
use bollard::models::{Service, Task, TaskState};
use std::collections::HashMap;

/// One `docker_swarm` metric per service, counted from the tasks.
pub(super) fn service_metrics(services: &[Service], tasks: &[Task], time: i64) -> Vec<Metric> {
    let mut running: HashMap<&str, i64> = HashMap::new();
    let mut not_shutting_down: HashMap<&str, u64> = HashMap::new();
    for task in tasks {
        let service = task.service_id.as_deref().unwrap_or_default();
        if task.desired_state != Some(TaskState::SHUTDOWN) {
            *not_shutting_down.entry(service).or_default() += 1;
        }
        if task.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING) {
            *running.entry(service).or_default() += 1;
        }
    }
    let count = |n: Option<i64>| FieldValue::UInt(n.unwrap_or_default().max(0).unsigned_abs());
    services
        .iter()
        .filter_map(|service| {
            let id = service.id.clone().unwrap_or_default();
            let spec = service.spec.as_ref();
            let mode = spec.and_then(|s| s.mode.as_ref())?;
            let mut m = Metric::new("docker_swarm", time)
                .with_tag("service_id", id.clone())
                .with_tag(
                    "service_name",
                    spec.and_then(|s| s.name.clone()).unwrap_or_default(),
                )
                .with_field(
                    "tasks_running",
                    running.get(id.as_str()).copied().unwrap_or_default(),
                );
            let kind = if let Some(replicas) = mode.replicated.as_ref().and_then(|r| r.replicas) {
                m.add_field("tasks_desired", count(Some(replicas)));
                "replicated"
            } else if mode.global.is_some() {
                let desired = not_shutting_down.get(id.as_str()).copied();
                m.add_field(
                    "tasks_desired",
                    FieldValue::UInt(desired.unwrap_or_default()),
                );
                "global"
            } else if let Some(job) = &mode.replicated_job {
                if job.max_concurrent.is_some() {
                    m.add_field("max_concurrent", count(job.max_concurrent));
                }
                if job.total_completions.is_some() {
                    m.add_field("total_completions", count(job.total_completions));
                }
                "replicated_job"
            } else if mode.global_job.is_some() {
                "global_job"
            } else {
                return None;
            };
            Some(m.with_tag("service_mode", kind))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Services and tasks as the Engine API lists them (the shapes of Telegraf's test data).
    const SERVICES: &str = r#"[
        {"ID": "qolkls9g5iasdiuihcyz9rnx2", "Spec": {"Name": "test1", "Mode": {"Replicated": {"Replicas": 2}}}},
        {"ID": "qolkls9g5iasdiuihcyz9rn3", "Spec": {"Name": "test2", "Mode": {"Global": {}}}},
        {"ID": "rfmqydhe8cluzl9hayyrhw5ga", "Spec": {"Name": "test3", "Mode": {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}}},
        {"ID": "mp50lo68vqgkory4e26ts8f9d", "Spec": {"Name": "test4", "Mode": {"GlobalJob": {}}}},
        {"ID": "nomode", "Spec": {"Name": "test5"}}
    ]"#;
    const TASKS: &str = r#"[
        {"ID": "t1", "ServiceID": "qolkls9g5iasdiuihcyz9rnx2", "DesiredState": "running", "Status": {"State": "running"}},
        {"ID": "t2", "ServiceID": "qolkls9g5iasdiuihcyz9rnx2", "DesiredState": "running", "Status": {"State": "running"}},
        {"ID": "t3", "ServiceID": "qolkls9g5iasdiuihcyz9rn3", "DesiredState": "running", "Status": {"State": "running"}},
        {"ID": "t4", "ServiceID": "qolkls9g5iasdiuihcyz9rn3", "DesiredState": "shutdown", "Status": {"State": "shutdown"}},
        {"ID": "t5", "ServiceID": "qolkls9g5iasdiuihcyz9rn3", "DesiredState": "running", "Status": {"State": "preparing"}},
        {"ID": "t6", "ServiceID": "rfmqydhe8cluzl9hayyrhw5ga", "DesiredState": "complete", "Status": {"State": "running"}},
        {"ID": "t7", "ServiceID": "mp50lo68vqgkory4e26ts8f9d", "DesiredState": "complete", "Status": {"State": "complete"}}
    ]"#;

    #[test]
    fn services_counted_as_telegraf_counts_them() {
        let services: Vec<Service> = serde_json::from_str(SERVICES).unwrap();
        let tasks: Vec<Task> = serde_json::from_str(TASKS).unwrap();
        let lines: Vec<String> = service_metrics(&services, &tasks, 7)
            .iter()
            .map(|m| String::from_utf8(m.to_line(true).unwrap()).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "docker_swarm,service_id=qolkls9g5iasdiuihcyz9rnx2,service_mode=replicated,service_name=test1 tasks_running=2i,tasks_desired=2u 7\n",
                "docker_swarm,service_id=qolkls9g5iasdiuihcyz9rn3,service_mode=global,service_name=test2 tasks_running=1i,tasks_desired=2u 7\n",
                "docker_swarm,service_id=rfmqydhe8cluzl9hayyrhw5ga,service_mode=replicated_job,service_name=test3 tasks_running=1i,max_concurrent=2u,total_completions=2u 7\n",
                "docker_swarm,service_id=mp50lo68vqgkory4e26ts8f9d,service_mode=global_job,service_name=test4 tasks_running=0i 7\n",
            ]
        );
    }
}
