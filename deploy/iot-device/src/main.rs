//! Simulated climate sensors for the compose stack's `iot` profile: `--devices` devices
//! publish a JSON reading each `--interval` to `devices/<id>/climate` on an MQTT broker, the
//! way small IoT boards do. telegraf-rs subscribes with `mqtt_consumer` and `json_v2`
//! (`deploy/telegraf-iot.conf`). One device (`--hot`) overheats for the last fifth of every
//! `--cycle`, so that the example alert (`deploy/load/iot_temperature_high.tick`) fires and
//! recovers.
//!
//! A reading:
//! `{"device":{"id":"dev-1","site":"lab","model":"tick-sim"},"time":"2026-12-06T10:00:00Z",
//!   "readings":{"temperature":21.4,"humidity":44.8,"battery":97}}`

use anyhow::Context;
use clap::Parser;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::time::Duration;

/// Command-line options (each also read from the environment).
#[derive(Debug, Parser)]
#[command(name = "tick-iot-device", version, about)]
struct Options {
    /// The broker, `host:port`.
    #[arg(long, env = "IOT_BROKER", default_value = "127.0.0.1:1883")]
    broker: String,
    /// How many devices to simulate (`dev-1` … `dev-N`).
    #[arg(long, env = "IOT_DEVICES", default_value_t = 4)]
    devices: u32,
    /// Seconds between two readings of a device.
    #[arg(long, env = "IOT_INTERVAL", default_value_t = 5.0)]
    interval: f64,
    /// The device that overheats (empty: none).
    #[arg(long, env = "IOT_HOT_DEVICE", default_value = "dev-3")]
    hot: String,
    /// Seconds of one overheating cycle (the last fifth of it is hot).
    #[arg(long, env = "IOT_CYCLE", default_value_t = 600.0)]
    cycle: f64,
    /// Where in the cycle the devices start, as a fraction (0.8: at the start of the hot part).
    #[arg(long, env = "IOT_START_PHASE", default_value_t = 0.0)]
    start_phase: f64,
    /// The `site` the devices report.
    #[arg(long, env = "IOT_SITE", default_value = "lab")]
    site: String,
    /// Stop after this many rounds of readings (0: run until stopped).
    #[arg(long, default_value_t = 0)]
    rounds: u64,
}

/// A small deterministic noise source (xorshift), so that readings vary without a dependency.
struct Noise(u64);

impl Noise {
    /// A value in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// One device's reading at `elapsed` seconds since start, as the JSON it publishes.
fn reading(
    o: &Options,
    index: u32,
    elapsed: f64,
    noise: &mut Noise,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let id = format!("dev-{index}");
    let phase = (elapsed / o.cycle.max(1.0) + o.start_phase).fract();
    let mut temperature = 19.0
        + f64::from(index % 5)
        + 1.5 * (std::f64::consts::TAU * phase).sin()
        + 0.2 * noise.next();
    if id == o.hot && phase >= 0.8 {
        temperature += 14.0;
    }
    let humidity = 45.0 - 4.0 * (std::f64::consts::TAU * phase).sin() + noise.next();
    let battery = 100 - ((elapsed / 3600.0) as i64 + i64::from(index)) % 60;
    serde_json::json!({
        "device": { "id": id, "site": o.site, "model": "tick-sim" },
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "readings": {
            "temperature": (temperature * 10.0).round() / 10.0,
            "humidity": (humidity * 10.0).round() / 10.0,
            "battery": battery,
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let o = Options::parse();
    let (host, port) = o
        .broker
        .rsplit_once(':')
        .context("--broker must be host:port")?;
    let port: u16 = port.parse().context("--broker port")?;
    let mut options = MqttOptions::new(
        format!("tick-iot-device-{}", std::process::id()),
        host,
        port,
    );
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(options, 64);
    // The event loop drives the connection; it reconnects by being polled again after an
    // error, so a broker that starts later is waited for.
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => eprintln!("connected to the broker"),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("broker: {e}; retrying in 2 s");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    });
    let start = std::time::Instant::now();
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(o.interval.max(0.05)));
    let mut round = 0u64;
    loop {
        ticker.tick().await;
        let elapsed = start.elapsed().as_secs_f64();
        let now = chrono::Utc::now();
        for index in 1..=o.devices {
            let body = reading(&o, index, elapsed, &mut noise, now);
            let topic = format!("devices/dev-{index}/climate");
            client
                .publish(topic, QoS::AtLeastOnce, false, body.to_string())
                .await
                .context("publishing")?;
        }
        round += 1;
        if o.rounds != 0 && round >= o.rounds {
            // Let the event loop send what is queued before leaving.
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options::parse_from(["tick-iot-device", "--cycle", "100", "--hot", "dev-2"])
    }

    #[test]
    fn readings_carry_the_device_and_the_hot_one_overheats_late_in_each_cycle() {
        let o = options();
        let mut noise = Noise(1);
        let now = chrono::Utc::now();
        let temp = |index, elapsed, noise: &mut Noise| {
            reading(&o, index, elapsed, noise, now)["readings"]["temperature"]
                .as_f64()
                .unwrap()
        };
        let r = reading(&o, 2, 10.0, &mut noise, now);
        assert_eq!(r["device"]["id"], "dev-2");
        assert_eq!(r["device"]["site"], "lab");
        assert!(r["time"].as_str().unwrap().ends_with('Z'));
        assert!((15.0..30.0).contains(&temp(2, 10.0, &mut noise)));
        assert!(temp(2, 90.0, &mut noise) > 30.0, "hot phase");
        assert!(
            temp(2, 110.0, &mut noise) < 30.0,
            "cooled in the next cycle"
        );
        assert!(temp(1, 90.0, &mut noise) < 30.0, "only the hot device");
        let late =
            Options::parse_from(["tick-iot-device", "--cycle", "100", "--start-phase", "0.8"]);
        let t = reading(&late, 3, 0.0, &mut noise, now)["readings"]["temperature"].as_f64();
        assert!(t.unwrap() > 30.0, "starts hot: {t:?}");
    }
}
