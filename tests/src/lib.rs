//! Cross-daemon tests for tick-rs (spawned binaries, compose, browser). The daemons other than
//! influx-rs do not exist yet; influx-rs's own process-level tests live in `influx-rs/tests/`.
