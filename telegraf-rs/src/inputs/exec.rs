//! `inputs.exec`: runs commands each interval and parses what they print (`json` by default,
//! as Telegraf's exec does, or `influx`).

use super::parsers::{Parser, ParserConfig};
use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::options::GoDuration;
use globset::Glob;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Stdio;

/// A command as a string (split on whitespace) or as an argument list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CommandLine {
    /// `"/usr/bin/collect --fast"`.
    Text(String),
    /// `["/usr/bin/collect", "--fast"]`.
    Args(Vec<String>),
}

/// Options of `[[inputs.exec]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ExecConfig {
    /// Commands to run; the first word may be a glob.
    pub commands: Vec<CommandLine>,
    /// A single command (older form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Extra `KEY=value` variables for the commands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<String>,
    /// A command still running after this is killed.
    pub timeout: GoDuration,
    /// Parse the output even when the command fails.
    pub ignore_error: bool,
    /// Log what the command writes to stderr.
    pub log_stderr: bool,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            commands: Vec::new(),
            command: None,
            environment: Vec::new(),
            timeout: GoDuration::secs(5),
            ignore_error: false,
            log_stderr: false,
            parser: ParserConfig::default(),
        }
    }
}

/// Builds the input.
pub fn build(config: &ExecConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    let parser = Parser::new(&config.parser, "json").map_err(InputError::Settings)?;
    let mut commands: Vec<Vec<String>> = config
        .commands
        .iter()
        .map(|c| match c {
            CommandLine::Text(t) => t.split_whitespace().map(str::to_string).collect(),
            CommandLine::Args(a) => a.clone(),
        })
        .collect();
    if let Some(c) = &config.command {
        commands.push(c.split_whitespace().map(str::to_string).collect());
    }
    commands.retain(|c| !c.is_empty());
    Ok(Box::new(Exec {
        config: config.clone(),
        parser,
        commands,
    }))
}

struct Exec {
    config: ExecConfig,
    parser: Parser,
    commands: Vec<Vec<String>>,
}

/// Expands a glob in the program path (`/opt/collect_*.sh`) into every matching file.
fn expand(argv: &[String]) -> Vec<Vec<String>> {
    let program = &argv[0];
    if !program.contains(['*', '?', '[']) {
        return vec![argv.to_vec()];
    }
    let path = Path::new(program);
    let (Some(dir), Ok(glob)) = (path.parent(), Glob::new(program)) else {
        return vec![argv.to_vec()];
    };
    let matcher = glob.compile_matcher();
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().to_string_lossy().into_owned())
                .filter(|p| matcher.is_match(p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .into_iter()
        .map(|p| {
            std::iter::once(p)
                .chain(argv[1..].iter().cloned())
                .collect()
        })
        .collect()
}

impl Exec {
    async fn run(&self, argv: &[String]) -> Result<Vec<u8>, InputError> {
        let command_line = argv.join(" ");
        let fail = |message: String| InputError::Command {
            command: command_line.clone(),
            message,
        };
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for pair in &self.config.environment {
            if let Some((k, v)) = pair.split_once('=') {
                cmd.env(k, v);
            }
        }
        let child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
        let output = tokio::time::timeout(self.config.timeout.0, child.wait_with_output())
            .await
            .map_err(|_| fail(format!("timed out after {}", self.config.timeout)))?
            .map_err(|e| fail(e.to_string()))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if self.config.log_stderr && !stderr.trim().is_empty() {
            tracing::info!(command = %command_line, "stderr: {}", stderr.trim());
        }
        if !output.status.success() && !self.config.ignore_error {
            return Err(fail(format!("{}: {}", output.status, stderr.trim())));
        }
        Ok(output.stdout)
    }
}

impl Input for Exec {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let argvs: Vec<Vec<String>> = self.commands.iter().flat_map(|c| expand(c)).collect();
            let runs = argvs.iter().map(|argv| self.run(argv));
            let outputs = futures::future::join_all(runs).await;
            let mut errors = Vec::new();
            for (argv, output) in argvs.iter().zip(outputs) {
                match output.and_then(|body| {
                    self.parser
                        .parse(&body, "exec", acc.time)
                        .map_err(|message| InputError::Parse {
                            what: argv.join(" "),
                            message,
                        })
                }) {
                    Ok(metrics) => metrics.into_iter().for_each(|m| acc.push(m)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            match errors.is_empty() {
                true => Ok(()),
                false => Err(InputError::Command {
                    command: "exec".into(),
                    message: errors.join("; "),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_with};
    use crate::metric::FieldValue;

    fn config(commands: &[&str], format: &str) -> ExecConfig {
        ExecConfig {
            commands: commands
                .iter()
                .map(|c| CommandLine::Text(c.to_string()))
                .collect(),
            parser: ParserConfig {
                data_format: Some(format.into()),
                ..ParserConfig::default()
            },
            ..ExecConfig::default()
        }
    }

    #[test]
    fn influx_output_of_a_command() {
        let fx = fixture(&[]);
        let mut input = build(&config(&["echo app,x=1 v=3i"], "influx"), &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].name, "app");
        assert_eq!(metrics[0].field("v"), Some(&FieldValue::Int(3)));
    }

    #[test]
    fn json_is_the_default_and_names_the_metric_exec() {
        let fx = fixture(&[]);
        let c = ExecConfig {
            commands: vec![CommandLine::Args(vec!["echo".into(), r#"{"a": 2}"#.into()])],
            ..ExecConfig::default()
        };
        let mut input = build(&c, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].name, "exec");
        assert_eq!(metrics[0].field("a"), Some(&FieldValue::Float(2.0)));
    }

    #[test]
    fn failures_and_timeouts_are_errors_naming_the_command() {
        let fx = fixture(&[]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut c = config(&["sleep 5"], "influx");
        c.timeout = GoDuration(std::time::Duration::from_millis(100));
        let mut input = build(&c, &fx.ctx()).unwrap();
        let mut acc = Accumulator::new(1);
        let err = rt.block_on(input.gather(&mut acc)).unwrap_err().to_string();
        assert!(
            err.contains("sleep 5") && err.contains("timed out"),
            "{err}"
        );
        let mut input = build(&config(&["false", "echo ok v=1"], "influx"), &fx.ctx()).unwrap();
        let mut acc = Accumulator::new(1);
        let err = rt.block_on(input.gather(&mut acc)).unwrap_err().to_string();
        assert!(err.contains("false"), "{err}");
        assert_eq!(acc.metrics.len(), 1, "the other command's metrics are kept");
    }
}
