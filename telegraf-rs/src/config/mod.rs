//! Loading Telegraf's TOML: files and directories, `${VAR}` substitution, `[agent]`,
//! `[global_tags]`, and `[[inputs.X]]` / `[[outputs.X]]` tables split into the options every
//! plugin takes ([`InputCommon`], [`OutputCommon`], [`FilterConfig`]) and its own settings.
//!
//! What telegraf-rs does not implement (a plugin, an option) becomes a warning naming the file
//! and line; a file that cannot be used (bad TOML, a wrong type, a bad pattern) is an error
//! naming file, line and key.

mod env;

use crate::options::{header_line, parse_options, take_keys, Place};
pub use crate::options::{GoDuration, OptionError};
pub use env::{substitute, EnvError};

use crate::aggregators::AggregatorSettings;
use crate::filter::{FilterConfig, FilterError, FILTER_KEYS};
use crate::inputs::InputSettings;
pub use crate::naming::Naming;
use crate::outputs::OutputSettings;
use crate::processors::ProcessorSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A required environment variable (`${VAR:?msg}`) is missing.
    #[error("{path}: {source}")]
    Env {
        /// The file.
        path: PathBuf,
        /// Which variable, on which line.
        source: EnvError,
    },
    /// The file is not valid TOML.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// An option has a value of the wrong type or form.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// A filter pattern does not compile.
    #[error("{path}:{line}: {section}: {source}")]
    Filter {
        /// The file.
        path: PathBuf,
        /// 1-based line of the plugin table.
        line: usize,
        /// The plugin table.
        section: String,
        /// The pattern and option.
        source: Box<FilterError>,
    },
    /// No `[[inputs.X]]` that telegraf-rs runs.
    #[error("no inputs found, did you provide a valid config file?")]
    NoInputs,
    /// No `[[outputs.X]]` that telegraf-rs runs.
    #[error("no outputs found, did you provide a valid config file?")]
    NoOutputs,
}

/// The `[agent]` table; defaults are Telegraf's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct AgentConfig {
    /// Default gather interval of every input.
    pub interval: GoDuration,
    /// Align gathers to multiples of `interval` on the wall clock.
    pub round_interval: bool,
    /// Most metrics per write to an output; a full batch also triggers a flush.
    pub metric_batch_size: usize,
    /// Most unwritten metrics kept per output; past it the oldest are dropped.
    pub metric_buffer_limit: usize,
    /// Random sleep in [0, jitter) before each gather.
    pub collection_jitter: GoDuration,
    /// Fixed shift of the gather schedule.
    pub collection_offset: GoDuration,
    /// Interval between flushes of every output.
    pub flush_interval: GoDuration,
    /// Random extra delay added to each flush.
    pub flush_jitter: GoDuration,
    /// Timestamps of gathered metrics are rounded to this; `0s` picks from `interval`.
    pub precision: GoDuration,
    /// Log at debug level.
    pub debug: bool,
    /// Log only errors.
    pub quiet: bool,
    /// Log file; empty means stderr.
    pub logfile: String,
    /// The `host` tag; empty means the OS hostname.
    pub hostname: String,
    /// Leave the `host` tag out.
    pub omit_hostname: bool,
    /// Where the output buffers live; empty means the `--data-dir` of the command line.
    pub buffer_directory: String,
    /// Accepted for newer Telegraf files: buffers are always on disk here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_strategy: Option<String>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            interval: GoDuration::secs(10),
            round_interval: true,
            metric_batch_size: 1000,
            metric_buffer_limit: 10_000,
            collection_jitter: GoDuration::default(),
            collection_offset: GoDuration::default(),
            flush_interval: GoDuration::secs(10),
            flush_jitter: GoDuration::default(),
            precision: GoDuration::default(),
            debug: false,
            quiet: false,
            logfile: String::new(),
            hostname: String::new(),
            omit_hostname: false,
            buffer_directory: String::new(),
            buffer_strategy: None,
        }
    }
}

/// Options every input takes besides its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct InputCommon {
    /// Overrides the agent's `interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<GoDuration>,
    /// Overrides the agent's `precision`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<GoDuration>,
    /// Overrides the agent's `collection_jitter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_jitter: Option<GoDuration>,
    /// Overrides the agent's `collection_offset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_offset: Option<GoDuration>,
    /// Renaming and tags of this instance's metrics.
    #[serde(flatten)]
    pub naming: Naming,
    /// Name of the instance in logs and `internal` metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Accepted; the agent's log level applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

const INPUT_COMMON_KEYS: &[&str] = &[
    "interval",
    "precision",
    "collection_jitter",
    "collection_offset",
    "name_override",
    "name_prefix",
    "name_suffix",
    "tags",
    "alias",
    "log_level",
];

/// Options every output takes besides its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct OutputCommon {
    /// Overrides the agent's `flush_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flush_interval: Option<GoDuration>,
    /// Overrides the agent's `flush_jitter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flush_jitter: Option<GoDuration>,
    /// Overrides the agent's `metric_batch_size`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_batch_size: Option<usize>,
    /// Overrides the agent's `metric_buffer_limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_buffer_limit: Option<usize>,
    /// Replaces the measurement name before writing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_override: Option<String>,
    /// Prepended to the measurement name before writing.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_prefix: String,
    /// Appended to the measurement name before writing.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_suffix: String,
    /// Name of the instance in logs, `internal` metrics and its buffer directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Accepted; the agent's log level applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

const OUTPUT_COMMON_KEYS: &[&str] = &[
    "flush_interval",
    "flush_jitter",
    "metric_batch_size",
    "metric_buffer_limit",
    "name_override",
    "name_prefix",
    "name_suffix",
    "alias",
    "log_level",
];

/// Options every processor takes besides its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ProcessorCommon {
    /// Processors run by ascending `order`, then in file order.
    #[serde(skip_serializing_if = "is_zero")]
    pub order: i64,
    /// Name of the instance in logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Accepted; the agent's log level applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

const PROCESSOR_COMMON_KEYS: &[&str] = &["order", "alias", "log_level"];

/// Options every aggregator takes besides its own; defaults are Telegraf's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct AggregatorCommon {
    /// Length of each aggregation window (aligned to the clock).
    pub period: GoDuration,
    /// How long after a window's end its results are pushed (late metrics still count).
    pub delay: GoDuration,
    /// How far before the window's start a metric's time may lie and still be taken.
    pub grace: GoDuration,
    /// Metrics the aggregator takes do not go on to the outputs.
    pub drop_original: bool,
    /// Renaming and tags of what is pushed.
    #[serde(flatten)]
    pub naming: Naming,
    /// Name of the instance in logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Accepted; the agent's log level applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

impl Default for AggregatorCommon {
    fn default() -> Self {
        AggregatorCommon {
            period: GoDuration::secs(30),
            delay: GoDuration(std::time::Duration::from_millis(100)),
            grace: GoDuration::default(),
            drop_original: false,
            naming: Naming::default(),
            alias: None,
            log_level: None,
        }
    }
}

const AGGREGATOR_COMMON_KEYS: &[&str] = &[
    "period",
    "delay",
    "grace",
    "drop_original",
    "name_override",
    "name_prefix",
    "name_suffix",
    "tags",
    "alias",
    "log_level",
];

/// One plugin table: `[[inputs.X]]` or `[[outputs.X]]`.
#[derive(Debug, Clone)]
pub struct Instance<C, S> {
    /// The plugin name (`cpu`, `influxdb`).
    pub name: String,
    /// Options every plugin of its kind takes.
    pub common: C,
    /// Filters: of what an input gathered, or of what reaches an output.
    pub filter: FilterConfig,
    /// Its own settings.
    pub settings: S,
    /// `file:line` of its table, for logs.
    pub origin: String,
}

/// One `[[inputs.X]]` table.
pub type InputInstance = Instance<InputCommon, InputSettings>;
/// One `[[outputs.X]]` table.
pub type OutputInstance = Instance<OutputCommon, OutputSettings>;
/// One `[[processors.X]]` table.
pub type ProcessorInstance = Instance<ProcessorCommon, ProcessorSettings>;
/// One `[[aggregators.X]]` table.
pub type AggregatorInstance = Instance<AggregatorCommon, AggregatorSettings>;

impl Instance<OutputCommon, OutputSettings> {
    /// A name that stays the same while the table's settings do: the alias when given, else
    /// the plugin name and a hash of its settings. Names the output's buffer directory.
    pub fn stable_id(&self) -> String {
        if let Some(alias) = &self.common.alias {
            let safe: String = alias
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            return format!("{}-{safe}", self.name);
        }
        let text = toml::to_string(&self.settings).unwrap_or_default();
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        format!("{}-{hash:016x}", self.name)
    }
}

/// A loaded configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The merged `[agent]` tables.
    pub agent: AgentConfig,
    /// The merged `[global_tags]` tables.
    pub global_tags: BTreeMap<String, String>,
    /// Every input instance, in file order (instances of one plugin together).
    pub inputs: Vec<InputInstance>,
    /// Every output instance, in file order (instances of one plugin together).
    pub outputs: Vec<OutputInstance>,
    /// Every processor instance, in the order they run (`order`, then file order).
    pub processors: Vec<ProcessorInstance>,
    /// Every aggregator instance, in file order.
    pub aggregators: Vec<AggregatorInstance>,
    /// What was not implemented and skipped, each naming file and line.
    pub warnings: Vec<String>,
}

/// Loads `files` and every `*.conf` of `dirs` (sorted by name), in that order, with `lookup`
/// answering environment variables.
pub fn load(
    files: &[PathBuf],
    dirs: &[PathBuf],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut paths: Vec<PathBuf> = files.to_vec();
    for dir in dirs {
        let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
            path: dir.clone(),
            source,
        })?;
        let mut confs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
            .collect();
        confs.sort();
        paths.extend(confs);
    }
    let mut loader = Loader::default();
    for path in &paths {
        let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        loader.add_text(path, &raw, lookup)?;
    }
    loader.finish()
}

/// Loads one configuration held in memory (`name` stands for its file in messages).
pub fn load_str(
    name: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut loader = Loader::default();
    loader.add_text(Path::new(name), text, lookup)?;
    loader.finish()
}

#[derive(Default)]
struct Loader {
    agent: toml::Table,
    config: Config,
}

impl Loader {
    fn add_text(
        &mut self,
        path: &Path,
        raw: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        let text: Arc<str> = env::substitute(raw, lookup)
            .map_err(|source| ConfigError::Env {
                path: path.to_path_buf(),
                source,
            })?
            .into();
        let root: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: syntax_message(&text, &e),
            })?;
        let place_of = |section: &str, nth: usize| {
            Place::new(
                path,
                text.clone(),
                section,
                header_line(&text, section, nth).unwrap_or(1),
            )
        };
        for (key, value) in root {
            match key.as_str() {
                "agent" => {
                    let place = place_of("agent", 0);
                    let table = as_table(value, &place, "agent")?;
                    // Checked now so errors and warnings name this file.
                    let _: AgentConfig =
                        parse_options(table.clone(), &place, &mut self.config.warnings)?;
                    self.agent.extend(table);
                }
                "global_tags" => {
                    let place = place_of("global_tags", 0);
                    let table = as_table(value, &place, "global_tags")?;
                    let tags: BTreeMap<String, String> =
                        parse_options(table, &place, &mut self.config.warnings)?;
                    self.config.global_tags.extend(tags);
                }
                "inputs" | "outputs" | "processors" | "aggregators" => {
                    let place = place_of(&key, 0);
                    for (name, instances) in as_table(value, &place, &key)? {
                        let section = format!("{key}.{name}");
                        for (nth, instance) in instances_of(instances).into_iter().enumerate() {
                            let place = place_of(&section, nth);
                            let table = as_table(instance, &place, &section)?;
                            self.add_instance(&key, &name, table, &place)?;
                        }
                    }
                }
                other => match value {
                    toml::Value::Table(plugins) if other != "secretstores" => {
                        for (name, instances) in plugins {
                            let section = format!("{other}.{name}");
                            for nth in 0..instances_of(instances).len() {
                                self.config.warnings.push(format!(
                                    "{}: [[{section}]] is not implemented by telegraf-rs; ignored",
                                    place_of(&section, nth).origin()
                                ));
                            }
                        }
                    }
                    _ => self.config.warnings.push(format!(
                        "{}: [{other}] is not implemented by telegraf-rs; ignored",
                        place_of(other, 0).origin()
                    )),
                },
            }
        }
        Ok(())
    }

    /// Reads one `[[kind.name]]` table into the configuration.
    fn add_instance(
        &mut self,
        kind: &str,
        name: &str,
        table: toml::Table,
        place: &Place,
    ) -> Result<(), ConfigError> {
        let Config {
            warnings,
            inputs,
            outputs,
            processors,
            aggregators,
            ..
        } = &mut self.config;
        match kind {
            "inputs" => inputs.extend(read_instance(
                name,
                table,
                place,
                INPUT_COMMON_KEYS,
                warnings,
                InputSettings::parse,
            )?),
            "outputs" => outputs.extend(read_instance(
                name,
                table,
                place,
                OUTPUT_COMMON_KEYS,
                warnings,
                OutputSettings::parse,
            )?),
            "processors" => processors.extend(read_instance(
                name,
                table,
                place,
                PROCESSOR_COMMON_KEYS,
                warnings,
                ProcessorSettings::parse_own,
            )?),
            _ => aggregators.extend(read_instance(
                name,
                table,
                place,
                AGGREGATOR_COMMON_KEYS,
                warnings,
                AggregatorSettings::parse_own,
            )?),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Config, ConfigError> {
        self.config.processors.sort_by_key(|p| p.common.order);
        self.config.agent =
            toml::Value::Table(self.agent)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: PathBuf::from("[agent]"),
                    message: e.to_string(),
                })?;
        Ok(self.config)
    }
}

/// `line L, column C: <what the TOML parser expected>`.
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim();
    let Some(span) = e.span() else {
        return what.to_string();
    };
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {column}: {what}")
}

/// Reads one plugin table: the options of its kind (`common_keys`), its filters, and its own
/// settings with `parse`; `None` (and a warning) when telegraf-rs has no such plugin.
fn read_instance<C: DeserializeOwned, S>(
    name: &str,
    mut table: toml::Table,
    place: &Place,
    common_keys: &[&str],
    warnings: &mut Vec<String>,
    parse: impl FnOnce(&str, toml::Table, &Place, &mut Vec<String>) -> Result<Option<S>, OptionError>,
) -> Result<Option<Instance<C, S>>, ConfigError> {
    let common: C = parse_options(take_keys(&mut table, common_keys), place, warnings)?;
    let filter: FilterConfig = parse_options(take_keys(&mut table, FILTER_KEYS), place, warnings)?;
    check_filter(&filter, place)?;
    let Some(settings) = parse(name, table, place, warnings)? else {
        warnings.push(format!(
            "{}: plugin {:?} is not implemented by telegraf-rs; skipped",
            place.origin(),
            place.section
        ));
        return Ok(None);
    };
    Ok(Some(Instance {
        name: name.to_string(),
        common,
        filter,
        settings,
        origin: place.origin(),
    }))
}

fn check_filter(filter: &FilterConfig, place: &Place) -> Result<(), ConfigError> {
    crate::filter::Filter::new(filter)
        .map(drop)
        .map_err(|source| ConfigError::Filter {
            path: place.path.clone(),
            line: place.line,
            section: place.section.clone(),
            source: Box::new(source),
        })
}

fn as_table(value: toml::Value, place: &Place, key: &str) -> Result<toml::Table, ConfigError> {
    match value {
        toml::Value::Table(t) => Ok(t),
        other => Err(place
            .option_error(key, format!("expected a table, found {}", other.type_str()))
            .into()),
    }
}

/// `[[inputs.cpu]]` gives an array of tables; `[inputs.cpu]` a single table.
fn instances_of(value: toml::Value) -> Vec<toml::Value> {
    match value {
        toml::Value::Array(items) => items,
        single => vec![single],
    }
}

impl Config {
    /// Keeps only the inputs named in `names` (the `--input-filter` flag).
    pub fn retain_inputs(&mut self, names: &[String]) {
        self.inputs.retain(|i| names.contains(&i.name));
    }

    /// Keeps only the outputs named in `names` (the `--output-filter` flag).
    pub fn retain_outputs(&mut self, names: &[String]) {
        self.outputs.retain(|o| names.contains(&o.name));
    }

    /// Keeps only the processors named in `names` (the `--processor-filter` flag).
    pub fn retain_processors(&mut self, names: &[String]) {
        self.processors.retain(|p| names.contains(&p.name));
    }

    /// Keeps only the aggregators named in `names` (the `--aggregator-filter` flag).
    pub fn retain_aggregators(&mut self, names: &[String]) {
        self.aggregators.retain(|a| names.contains(&a.name));
    }

    /// The effective configuration (defaults filled in, variables substituted) in Telegraf's
    /// format, for `--print-config`.
    pub fn to_toml(&self) -> String {
        let mut root = toml::Table::new();
        root.insert("global_tags".into(), to_value(&self.global_tags));
        root.insert("agent".into(), to_value(&self.agent));
        root.insert(
            "inputs".into(),
            toml::Value::Table(plugin_tables(&self.inputs)),
        );
        root.insert(
            "outputs".into(),
            toml::Value::Table(plugin_tables(&self.outputs)),
        );
        if !self.processors.is_empty() {
            root.insert(
                "processors".into(),
                toml::Value::Table(plugin_tables(&self.processors)),
            );
        }
        if !self.aggregators.is_empty() {
            root.insert(
                "aggregators".into(),
                toml::Value::Table(plugin_tables(&self.aggregators)),
            );
        }
        toml::to_string_pretty(&root).unwrap_or_default()
    }
}

fn to_value<T: Serialize>(v: &T) -> toml::Value {
    toml::Value::try_from(v).unwrap_or(toml::Value::Table(toml::Table::new()))
}

fn table_of<T: Serialize>(v: &T) -> toml::Table {
    match to_value(v) {
        toml::Value::Table(t) => t,
        _ => toml::Table::new(),
    }
}

/// `{name: [table, …]}` for every instance, as `[[inputs.name]]` prints.
fn plugin_tables<C: Serialize, S: Serialize>(instances: &[Instance<C, S>]) -> toml::Table {
    let mut plugins = toml::Table::new();
    for i in instances {
        let mut table = table_of(&i.settings);
        table.extend(table_of(&i.common));
        table.extend(table_of(&i.filter));
        let entry = plugins
            .entry(i.name.clone())
            .or_insert_with(|| toml::Value::Array(Vec::new()));
        if let toml::Value::Array(items) = entry {
            items.push(toml::Value::Table(table));
        }
    }
    plugins
}

#[cfg(test)]
mod tests;
