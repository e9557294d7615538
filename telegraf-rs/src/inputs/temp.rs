//! `inputs.temp`: the temperatures the kernel's hwmon drivers report
//! (`/sys/class/hwmon/hwmon*/temp*_input`, millidegrees), else its thermal zones
//! (`/sys/class/thermal/thermal_zone*`), as `temp` metrics tagged `sensor` — named as Telegraf
//! names them, `metric_format = "v2"` (`coretemp_core_0`) or `"v1"` (`coretemp_core0_input`,
//! plus one metric per `_crit`, `_max`, … reading).

use super::{glob_paths, Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Options of `[[inputs.temp]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TempConfig {
    /// `v2` (default): sensor `name_label` with spaces as `_`; `v1`: the names before
    /// Telegraf 1.22.4 (`name_label` without spaces, `_input` suffix, the extra readings too).
    pub metric_format: String,
    /// Adds a `device` tag (the hwmon device's name) to tell devices with one name apart.
    pub add_device_tag: bool,
}

impl Default for TempConfig {
    fn default() -> Self {
        TempConfig {
            metric_format: "v2".into(),
            add_device_tag: false,
        }
    }
}

/// Builds the input; the format must be `v1` or `v2`.
pub fn build(c: &TempConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let v1 = match c.metric_format.as_str() {
        "v1" => true,
        "v2" | "" => false,
        other => {
            return Err(InputError::Settings(format!(
                "metric_format: {other:?} is neither \"v1\" nor \"v2\""
            )))
        }
    };
    Ok(Box::new(Temp {
        host: ctx.host.clone(),
        v1,
        device_tag: c.add_device_tag,
    }))
}

struct Temp {
    host: HostPaths,
    v1: bool,
    device_tag: bool,
}

/// One sensor's readings, in °C.
#[derive(Debug, PartialEq)]
struct Sensor {
    name: String,
    label: String,
    device: String,
    temperature: f64,
    /// `crit`, `max`, `min`, … (the suffixes of the sensor's other files), sorted.
    extra: Vec<(String, f64)>,
}

/// A sysfs file's number in millidegrees, as °C.
fn millidegrees(path: &Path) -> Option<f64> {
    let text = super::read_text(path).ok()?;
    text.trim().parse::<f64>().ok().map(|v| v / 1000.0)
}

fn trimmed(path: &Path) -> Option<String> {
    super::read_text(path).ok().map(|t| t.trim().to_string())
}

/// The hwmon sensors: every `temp*_input`, with the `device` directory level some kernels
/// (CentOS) add when the first form finds nothing.
fn hwmon(sys: &Path) -> Vec<Sensor> {
    let root = sys.join("class/hwmon").to_string_lossy().into_owned();
    let mut inputs = glob_paths(&format!("{root}/hwmon*/temp*_input"));
    if inputs.is_empty() {
        inputs = glob_paths(&format!("{root}/hwmon*/device/temp*_input"));
    }
    let mut sensors = Vec::new();
    for input in inputs {
        let (Some(dir), Some(file)) = (input.parent(), input.file_name()) else {
            continue;
        };
        let file = file.to_string_lossy();
        let prefix = file.split('_').next().unwrap_or_default();
        let Some(temperature) = millidegrees(&input) else {
            continue;
        };
        let device = std::fs::read_link(dir.join("device"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let name = trimmed(&dir.join("name")).unwrap_or_else(|| device.clone());
        let label = trimmed(&dir.join(format!("{prefix}_label")))
            .unwrap_or_default()
            .to_lowercase();
        let mut extra = Vec::new();
        for other in glob_paths(&format!("{}/{prefix}_*", dir.to_string_lossy())) {
            let other_name = other
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some((_, suffix)) = other_name.split_once('_') else {
                continue;
            };
            if suffix == "label" || suffix == "input" {
                continue;
            }
            if let Some(v) = millidegrees(&other) {
                extra.push((suffix.to_string(), v));
            }
        }
        sensors.push(Sensor {
            name,
            label,
            device,
            temperature,
            extra,
        });
    }
    sensors
}

/// The thermal zones (the fallback where no hwmon driver reports): name from `type`.
fn thermal_zones(sys: &Path) -> Vec<Sensor> {
    let root = sys.join("class/thermal").to_string_lossy().into_owned();
    let mut zones = Vec::new();
    for dir in glob_paths(&format!("{root}/thermal_zone*/type")) {
        let Some(dir) = dir.parent() else { continue };
        let (Some(name), Some(temperature)) =
            (trimmed(&dir.join("type")), millidegrees(&dir.join("temp")))
        else {
            continue;
        };
        zones.push(Sensor {
            name,
            label: String::new(),
            device: String::new(),
            temperature,
            extra: Vec::new(),
        });
    }
    zones
}

impl SyncInput for Temp {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let mut sensors = hwmon(&self.host.sys);
        if sensors.is_empty() {
            sensors = thermal_zones(&self.host.sys);
        }
        for s in sensors {
            let mut sensor = s.name.clone();
            if !s.label.is_empty() {
                sensor.push('_');
                sensor.push_str(&s.label.replace(' ', if self.v1 { "" } else { "_" }));
            }
            let mut readings = vec![(String::new(), s.temperature)];
            if self.v1 {
                readings[0].0 = "_input".into();
                readings.extend(s.extra.iter().map(|(k, v)| (format!("_{k}"), *v)));
            }
            for (suffix, value) in readings {
                let mut m = acc.metric("temp");
                m.tags.insert("sensor".into(), format!("{sensor}{suffix}"));
                if self.device_tag {
                    m.tags.insert("device".into(), s.device.clone());
                }
                m.add_field("temp", value);
                acc.push(m);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    fn lines(format: &str, files: &[(&str, &str)]) -> Vec<String> {
        let fx = fixture(files);
        let config = TempConfig {
            metric_format: format.into(),
            ..TempConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        gather_with(&mut input)
            .iter()
            .map(|m| {
                let Some(FieldValue::Float(t)) = m.field("temp") else {
                    panic!("no temp in {m:?}")
                };
                format!("{}={t}", m.tags["sensor"])
            })
            .collect()
    }

    const NVME: &[(&str, &str)] = &[
        ("sys/class/hwmon/hwmon0/name", "nvme\n"),
        ("sys/class/hwmon/hwmon0/temp1_input", "35850\n"),
        ("sys/class/hwmon/hwmon0/temp1_label", "Composite\n"),
        ("sys/class/hwmon/hwmon0/temp1_crit", "84850\n"),
        ("sys/class/hwmon/hwmon0/temp1_max", "81850\n"),
        ("sys/class/hwmon/hwmon0/temp2_input", "38850\n"),
        ("sys/class/hwmon/hwmon0/temp2_label", "Sensor 2\n"),
        ("sys/class/hwmon/hwmon1/name", "k10temp\n"),
        ("sys/class/hwmon/hwmon1/temp1_input", "33250\n"),
        ("sys/class/hwmon/hwmon1/temp1_label", "Tctl\n"),
        ("sys/class/thermal/thermal_zone0/type", "acpitz\n"),
        ("sys/class/thermal/thermal_zone0/temp", "27800\n"),
    ];

    #[test]
    fn hwmon_sensors_named_as_telegraf_v2() {
        assert_eq!(
            lines("v2", NVME),
            [
                "nvme_composite=35.85",
                "nvme_sensor_2=38.85",
                "k10temp_tctl=33.25"
            ]
        );
    }

    #[test]
    fn v1_names_keep_the_input_suffix_and_report_the_other_readings() {
        assert_eq!(
            lines("v1", NVME),
            [
                "nvme_composite_input=35.85",
                "nvme_composite_crit=84.85",
                "nvme_composite_max=81.85",
                "nvme_sensor2_input=38.85",
                "k10temp_tctl_input=33.25"
            ]
        );
    }

    #[test]
    fn thermal_zones_when_no_hwmon_driver_reports() {
        let zones = &NVME[NVME.len() - 2..];
        assert_eq!(lines("v2", zones), ["acpitz=27.8"]);
        assert!(lines("v2", &[]).is_empty());
    }

    #[test]
    fn unknown_format_is_refused() {
        let fx = fixture(&[]);
        let config = TempConfig {
            metric_format: "v3".into(),
            ..TempConfig::default()
        };
        let err = build(&config, &fx.ctx()).err().unwrap().to_string();
        assert!(err.contains("metric_format"), "{err}");
    }
}
