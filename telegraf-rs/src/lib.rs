//! telegraf-rs: a collector agent that reads Telegraf's configuration files, gathers the same
//! metrics under the same names, and keeps every metric in a disk buffer per output until the
//! store has it.
//!
//! Layout:
//! - [`config`]: loading `telegraf.conf` (env substitution, `[agent]`, plugin tables, warnings
//!   for what is not implemented, errors naming file, line and key);
//! - [`options`]: reading one table of options (types, file:line errors, warnings, Go
//!   durations), what every plugin's settings use;
//! - [`filter`]: `namepass`/`tagdrop`/`fieldinclude`/… with globs;
//! - [`metric`]: the metric type and its line-protocol form;
//! - [`inputs`]: one module per input plugin behind the `Input` trait;
//! - [`outputs`]: `influxdb`, `influxdb_v2`, `file`;
//! - [`processors`] and [`aggregators`]: what happens to metrics between inputs and outputs;
//! - [`buffer`]: the durable per-output buffer (layout in `buffer/FORMAT.md`);
//! - [`agent`]: scheduling, routing into buffers, writers with back-off;
//! - [`stats`]: the agent's own counters, reported by `inputs.internal`;
//! - [`logging`]: log lines in Telegraf's shape (`… E! [outputs.influxdb] …`);
//! - [`footprint`]: giving back the pages of start-up code once the agent runs.

pub mod agent;
pub mod aggregators;
pub mod buffer;
pub mod config;
pub mod filter;
pub mod footprint;
pub mod gotime;
pub mod inputs;
pub mod logging;
pub mod metric;
pub mod mqtt;
pub mod naming;
pub mod options;
pub mod outputs;
pub mod parsers;
pub mod processors;
mod registry;
pub mod serializers;
pub mod served_http;
pub mod stats;
pub mod tls;
