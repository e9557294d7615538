//! `storage_objects`: the engine's disk usage (`/system/df`) as Telegraf's
//! `docker_disk_usage` measurement — `layers_size` of the engine; `size_rw` and
//! `size_root_fs` per container (tags `container_name`, `container_image`,
//! `container_version`); `size` and `shared_size` per image (`image_id`: 12 characters of
//! the digest, `image_name`, `image_version` from its first tag); `size` per volume
//! (`volume_name`) — each with the engine's `engine_host` and `server_version`.
//!
//! The answer is read with a plain HTTP request rather than through `bollard`, whose model
//! of `/system/df` is API 1.52's (`ImageUsage`, `ContainerUsage`, … with `Items`): engines
//! before Docker 29 answer the older shape (`LayersSize`, `Images`, `Containers`,
//! `Volumes`). Both shapes are read.

use super::{container_name_of, parse_image};
use crate::metric::Metric;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The kinds of storage object Telegraf's `storage_objects` names.
pub(super) const KINDS: &[&str] = &["container", "image", "volume"];

/// `/system/df` in either shape.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DiskUsage {
    layers_size: Option<i64>,
    images: Option<Vec<ImageUsage>>,
    containers: Option<Vec<ContainerUsage>>,
    volumes: Option<Vec<VolumeUsage>>,
    image_usage: Option<Items<ImageUsage>>,
    container_usage: Option<Items<ContainerUsage>>,
    volume_usage: Option<Items<VolumeUsage>>,
}

/// API 1.52's lists (with `verbose`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Items<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImageUsage {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "SharedSize")]
    shared_size: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContainerUsage {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Names")]
    names: Option<Vec<String>>,
    #[serde(rename = "Image")]
    image: String,
    #[serde(rename = "SizeRw")]
    size_rw: i64,
    #[serde(rename = "SizeRootFs")]
    size_root_fs: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VolumeUsage {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "UsageData")]
    usage_data: Option<VolumeData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VolumeData {
    #[serde(rename = "Size")]
    size: i64,
}

/// The `/system/df` path asking for `kinds` (engines before API 1.42 answer every kind).
pub(super) fn request_path(kinds: &[String]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("verbose", "1");
    for kind in kinds {
        query.append_pair("type", kind);
    }
    format!("/system/df?{}", query.finish())
}

/// `docker_disk_usage` metrics of the objects of `kinds` in `/system/df`'s answer `body`.
pub(super) fn metrics(
    body: &[u8],
    kinds: &[String],
    engine: &BTreeMap<String, String>,
    source_tag: bool,
    time: i64,
) -> Result<Vec<Metric>, String> {
    let du: DiskUsage =
        serde_json::from_slice(body).map_err(|e| format!("/system/df answer: {e}"))?;
    let wants = |kind: &str| kinds.iter().any(|k| k == kind);
    let metric = || {
        let mut m = Metric::new("docker_disk_usage", time);
        m.tags = engine.clone();
        m
    };
    let mut out = vec![metric().with_field("layers_size", du.layers_size.unwrap_or_default())];
    if wants("container") {
        let listed = du.containers.into_iter().flatten();
        let items = du.container_usage.into_iter().flat_map(|u| u.items);
        for c in listed.chain(items) {
            let (image, version) = parse_image(&c.image);
            let mut m = metric()
                .with_tag(
                    "container_name",
                    container_name_of(c.names.as_deref().unwrap_or_default()).unwrap_or_default(),
                )
                .with_tag("container_image", image)
                .with_tag("container_version", version)
                .with_field("size_rw", c.size_rw)
                .with_field("size_root_fs", c.size_root_fs);
            if source_tag {
                m = m.with_tag("source", c.id.chars().take(12).collect::<String>());
            }
            out.push(m);
        }
    }
    if wants("image") {
        let listed = du.images.into_iter().flatten();
        let items = du.image_usage.into_iter().flat_map(|u| u.items);
        for image in listed.chain(items) {
            // "sha256:" and then the first 12 characters, as Telegraf cuts it.
            let id: String = image.id.chars().skip(7).take(12).collect();
            let mut m = metric()
                .with_tag("image_id", id)
                .with_field("size", image.size)
                .with_field("shared_size", image.shared_size);
            if let Some(tag) = image.repo_tags.as_ref().and_then(|t| t.first()) {
                let (name, version) = parse_image(tag);
                m = m
                    .with_tag("image_name", name)
                    .with_tag("image_version", version);
            }
            out.push(m);
        }
    }
    if wants("volume") {
        let listed = du.volumes.into_iter().flatten();
        let items = du.volume_usage.into_iter().flat_map(|u| u.items);
        for volume in listed.chain(items) {
            out.push(
                metric()
                    .with_tag("volume_name", volume.name)
                    .with_field("size", volume.usage_data.unwrap_or_default().size),
            );
        }
    }
    Ok(out)
}

/// GETs `path` from the engine at `endpoint` (`unix:///…`, `tcp://host:port`,
/// `http://host:port`): the body of a 2xx answer, else the status and the engine's message.
pub(super) async fn get(endpoint: &str, path: &str) -> Result<Bytes, String> {
    if let Some(socket) = endpoint.strip_prefix("unix://") {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| format!("{socket}: {e}"))?;
        request(stream, path).await
    } else {
        let address = endpoint
            .trim_start_matches("tcp://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("{address}: {e}"))?;
        request(stream, path).await
    }
}

async fn request<S>(stream: S, path: &str) -> Result<Bytes, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let answer = async {
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        match status.is_success() {
            true => Ok(body),
            false => Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body).trim()
            )),
        }
    }
    .await;
    drop(sender);
    driver.abort();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("engine_host".to_string(), "box".to_string()),
            ("server_version".to_string(), "20.10.24".to_string()),
        ])
    }

    /// The metrics as lines of line protocol, without their newlines.
    fn lines_of(metrics: &[Metric]) -> Vec<String> {
        metrics
            .iter()
            .map(|m| {
                String::from_utf8_lossy(&m.to_line(true).unwrap())
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn all() -> Vec<String> {
        KINDS.iter().map(|k| k.to_string()).collect()
    }

    /// The shape of engines before API 1.52, as Docker 20.10 answers.
    const LEGACY: &str = r#"{"LayersSize":1092588,"Images":[{"Containers":1,"Created":1590000000,
        "Id":"sha256:3b3c9a2e1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c","Labels":null,
        "ParentId":"","RepoDigests":null,"RepoTags":["quay.io/prom/node:v1.2"],"SharedSize":0,
        "Size":1092588,"VirtualSize":1092588},{"Id":"sha256:0123456789abcdef0123","RepoTags":null,
        "Size":5,"SharedSize":-1}],
        "Containers":[{"Id":"e8c7d6b5a4f3e2d1c0b9a8f7","Names":["/web"],"Image":"nginx:1.25",
        "SizeRw":12,"SizeRootFs":1092600,"State":"running"}],
        "Volumes":[{"Name":"data","Driver":"local","UsageData":{"RefCount":1,"Size":4096}}],
        "BuildCache":null}"#;

    #[test]
    fn the_older_shape_as_telegraf_reports_it() {
        let got = metrics(LEGACY.as_bytes(), &all(), &engine(), true, 7).unwrap();
        let lines = lines_of(&got);
        assert_eq!(
            lines,
            [
                "docker_disk_usage,engine_host=box,server_version=20.10.24 layers_size=1092588i 7",
                "docker_disk_usage,container_image=nginx,container_name=web,container_version=1.25,engine_host=box,server_version=20.10.24,source=e8c7d6b5a4f3 size_rw=12i,size_root_fs=1092600i 7",
                "docker_disk_usage,engine_host=box,image_id=3b3c9a2e1f9e,image_name=quay.io/prom/node,image_version=v1.2,server_version=20.10.24 size=1092588i,shared_size=0i 7",
                "docker_disk_usage,engine_host=box,image_id=0123456789ab,server_version=20.10.24 size=5i,shared_size=-1i 7",
                "docker_disk_usage,engine_host=box,server_version=20.10.24,volume_name=data size=4096i 7",
            ]
        );
        let only_volumes =
            metrics(LEGACY.as_bytes(), &["volume".into()], &engine(), false, 7).unwrap();
        assert_eq!(only_volumes.len(), 2, "{only_volumes:?}");
    }

    #[test]
    fn api_1_52_items_are_read_too() {
        let body = r#"{"ImageUsage":{"ActiveCount":1,"TotalCount":1,"Reclaimable":0,"TotalSize":9,
            "Items":[{"Id":"sha256:aaaaaaaaaaaabbbb","RepoTags":["alpine:3"],"Size":9,"SharedSize":0}]},
            "ContainerUsage":{"ActiveCount":0,"TotalCount":0,"Reclaimable":0,"TotalSize":0},
            "VolumeUsage":{"Items":[{"Name":"v","UsageData":{"RefCount":0,"Size":-1}}]}}"#;
        let got = metrics(body.as_bytes(), &all(), &engine(), false, 1).unwrap();
        let lines = lines_of(&got);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[1].contains("image_id=aaaaaaaaaaaa,image_name=alpine,image_version=3"),
            "{lines:?}"
        );
        assert!(lines[2].ends_with("size=-1i 1"), "{lines:?}");
    }

    #[test]
    fn a_broken_answer_is_an_error_not_a_panic() {
        for body in [
            "",
            "{\"Images\":7}",
            "{\"Volumes\":[{\"UsageData\":\"x\"}]}",
        ] {
            assert!(
                metrics(body.as_bytes(), &all(), &engine(), false, 1).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn the_path_asks_for_the_kinds() {
        assert_eq!(
            request_path(&["image".into(), "volume".into()]),
            "/system/df?verbose=1&type=image&type=volume"
        );
    }
}
