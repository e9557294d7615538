//! What `inputs.mqtt_consumer` and `outputs.mqtt` read alike: Telegraf's `protocol` option and
//! QoS levels, for rumqttc's MQTT 3.1.1 and MQTT 5 clients.

/// The MQTT version a plugin speaks, from Telegraf's `protocol` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `3.1.1`, the default.
    V311,
    /// `5`.
    V5,
}

impl Protocol {
    /// Reads `protocol`: empty or `3.1.1`, or `5`; anything else (`3.1` too) is refused by name.
    pub fn parse(text: &str) -> Result<Protocol, String> {
        match text {
            "" | "3.1.1" => Ok(Protocol::V311),
            "5" => Ok(Protocol::V5),
            other => Err(format!(
                "protocol {other:?} is not implemented by telegraf-rs (3.1.1 and 5 are)"
            )),
        }
    }
}

/// A QoS level (0, 1, 2; above 2 is taken as 2 — the plugins refuse it when built) for MQTT 3.1.1.
pub fn qos(level: u8) -> rumqttc::QoS {
    match level {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

/// The same level for MQTT 5.
pub fn qos_v5(level: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS as V5;
    match level {
        0 => V5::AtMostOnce,
        1 => V5::AtLeastOnce,
        _ => V5::ExactlyOnce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_read_as_telegraf_names_them() {
        assert_eq!(Protocol::parse(""), Ok(Protocol::V311));
        assert_eq!(Protocol::parse("3.1.1"), Ok(Protocol::V311));
        assert_eq!(Protocol::parse("5"), Ok(Protocol::V5));
        assert!(Protocol::parse("3.1").unwrap_err().contains("\"3.1\""));
        assert_eq!(qos(1), rumqttc::QoS::AtLeastOnce);
        assert_eq!(qos_v5(2), rumqttc::v5::mqttbytes::QoS::ExactlyOnce);
    }
}
