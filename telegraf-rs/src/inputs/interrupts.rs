//! `inputs.interrupts`: `/proc/interrupts` as `interrupts` and `/proc/softirqs` as
//! `soft_interrupts` — one metric per IRQ tagged `irq`, `type`, `device` with a field per CPU
//! (`CPU0`, …) and `total`, or with `cpu_as_tag` one metric per IRQ and CPU with field `count`.

use super::{Accumulator, BuildContext, HostPaths, Input, InputError, SyncInput};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.interrupts]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InterruptsConfig {
    /// One metric per CPU with a `cpu` tag instead of a field per CPU.
    pub cpu_as_tag: bool,
}

/// Builds the input.
pub fn build(c: &InterruptsConfig, ctx: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    Ok(Box::new(Interrupts {
        host: ctx.host.clone(),
        cpu_as_tag: c.cpu_as_tag,
    }))
}

struct Interrupts {
    host: HostPaths,
    cpu_as_tag: bool,
}

/// One line of `/proc/interrupts` or `/proc/softirqs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Irq {
    /// `0`, `NMI`, `TIMER`.
    pub id: String,
    /// The controller (`IO-APIC`) or, for named IRQs, the description.
    pub kind: String,
    /// The device(s), for numbered IRQs.
    pub device: String,
    /// Count per CPU.
    pub cpus: Vec<i64>,
}

/// The IRQs of one file, as Telegraf reads them (lines whose counts do not parse are
/// skipped).
pub fn parse_interrupts(text: &str) -> Result<Vec<Irq>, String> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .collect();
    if header.first() != Some(&"CPU0") {
        return Err(format!(
            "expected the first line to start with CPU0, found {header:?}"
        ));
    }
    let cpus = header.len();
    let mut irqs = Vec::new();
    'lines: for line in lines {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let Some(id) = fields.first().and_then(|f| f.strip_suffix(':')) else {
            continue;
        };
        let mut counts = Vec::new();
        for value in fields[1..].iter().take(cpus) {
            match value.parse::<i64>() {
                Ok(n) => counts.push(n),
                Err(_) => continue 'lines,
            }
        }
        let (kind, device) = if id.parse::<i64>().is_ok() && fields.len() >= cpus + 2 {
            (fields[cpus + 1].to_string(), fields[cpus + 2..].join(" "))
        } else if fields.len() > cpus + 1 {
            (fields[cpus + 1..].join(" "), String::new())
        } else {
            (String::new(), String::new())
        };
        irqs.push(Irq {
            id: id.to_string(),
            kind,
            device,
            cpus: counts,
        });
    }
    Ok(irqs)
}

impl SyncInput for Interrupts {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        for (file, measurement) in [
            ("interrupts", "interrupts"),
            ("softirqs", "soft_interrupts"),
        ] {
            let text = self.host.read_proc(file)?;
            let irqs = parse_interrupts(&text).map_err(|message| InputError::Parse {
                what: format!("/proc/{file}"),
                message,
            })?;
            for irq in irqs {
                let base = acc
                    .metric(measurement)
                    .with_tag("irq", irq.id.clone())
                    .with_tag("type", irq.kind.clone())
                    .with_tag("device", irq.device.clone());
                if self.cpu_as_tag {
                    for (cpu, count) in irq.cpus.iter().enumerate() {
                        let m = base
                            .clone()
                            .with_tag("cpu", format!("cpu{cpu}"))
                            .with_field("count", *count);
                        acc.push(m);
                    }
                    continue;
                }
                let mut m = base.with_field("total", irq.cpus.iter().sum::<i64>());
                for (cpu, count) in irq.cpus.iter().enumerate() {
                    m.add_field(format!("CPU{cpu}"), *count);
                }
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

    const INTERRUPTS: &str = "           CPU0       CPU1       \n  0:         44          1   IO-APIC   2-edge      timer\nNMI:          3          4   Non-maskable interrupts\nERR:          0\nMIS:          0\n";
    const SOFTIRQS: &str = "                    CPU0       CPU1       \n          HI:          1          2\n       TIMER:      58307      62170\n";

    #[test]
    fn parses_numbered_and_named_irqs() {
        let irqs = parse_interrupts(INTERRUPTS).unwrap();
        assert_eq!(irqs[0].id, "0");
        assert_eq!(irqs[0].kind, "IO-APIC");
        assert_eq!(irqs[0].device, "2-edge timer");
        assert_eq!(irqs[0].cpus, [44, 1]);
        assert_eq!(irqs[1].kind, "Non-maskable interrupts");
        assert_eq!(irqs[2].cpus, [0]);
        assert!(parse_interrupts("garbage\n").is_err());
    }

    #[test]
    fn fields_per_cpu_or_cpu_tags() {
        let fx = fixture(&[("proc/interrupts", INTERRUPTS), ("proc/softirqs", SOFTIRQS)]);
        let mut input = build(&InterruptsConfig::default(), &fx.ctx()).unwrap();
        let ms = gather_with(&mut input);
        assert_eq!(ms[0].field("total"), Some(&FieldValue::Int(45)));
        assert_eq!(ms[0].field("CPU1"), Some(&FieldValue::Int(1)));
        let timer = ms.iter().find(|m| m.tags["irq"] == "TIMER").unwrap();
        assert_eq!(timer.name, "soft_interrupts");
        let mut input = build(&InterruptsConfig { cpu_as_tag: true }, &fx.ctx()).unwrap();
        let ms = gather_with(&mut input);
        assert_eq!(ms[1].tags["cpu"], "cpu1");
        assert_eq!(ms[1].field("count"), Some(&FieldValue::Int(1)));
    }
}
