//! `inputs.exec`: runs commands each interval and parses what they print (`json` by default,
//! as Telegraf's exec does, or `influx`).

use super::{Accumulator, BuildContext, GatherFuture, Input, InputError};
use crate::options::GoDuration;
use crate::parsers::{Parser, ParserConfig};
use serde::{Deserialize, Serialize};
use std::process::Stdio;

/// A command as a string (split into words as a shell does, as Telegraf's exec does) or as an
/// argument list.
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
    let mut commands: Vec<Result<Vec<String>, String>> = config
        .commands
        .iter()
        .map(|c| match c {
            CommandLine::Text(t) => split_command(t),
            CommandLine::Args(a) => Ok(a.clone()),
        })
        .collect();
    if let Some(c) = &config.command {
        commands.push(split_command(c));
    }
    commands.retain(|c| c.as_ref().map_or(true, |argv| !argv.is_empty()));
    Ok(Box::new(Exec {
        config: config.clone(),
        parser,
        commands,
    }))
}

struct Exec {
    config: ExecConfig,
    parser: Parser,
    /// Each command's words, or why its text could not be split (reported at each gather, as
    /// Telegraf does).
    commands: Vec<Result<Vec<String>, String>>,
}

/// Splits a command line into words as a POSIX shell would, without running one: the rules
/// of the `go-shellquote` package Telegraf's exec uses. Outside quotes a backslash takes the
/// next character (a backslash-newline joins lines); `'…'` is literal; in `"…"` a backslash
/// escapes only `$`, `` ` ``, `"`, `\` and newline. No comments, no expansions. (Hand-written:
/// the `shlex` crate also reads `#` as a comment, which Telegraf does not.)
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| matches!(c, ' ' | '\t' | '\n')).is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !matches!(c, ' ' | '\t' | '\n')) {
            match c {
                '\\' => match chars.next() {
                    Some('\n') => {}
                    Some(escaped) => word.push(escaped),
                    None => return Err("Unterminated backslash-escape".into()),
                },
                '\'' => loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("Unterminated single-quoted string".into()),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(e @ ('$' | '`' | '"' | '\\')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("Unterminated double-quoted string".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("Unterminated double-quoted string".into()),
                    }
                },
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

/// Expands a glob in the program path (`/opt/collect_*.sh`) into every matching file.
fn expand(argv: &[String]) -> Vec<Vec<String>> {
    super::glob_paths(&argv[0])
        .into_iter()
        .map(|p| {
            std::iter::once(p.to_string_lossy().into_owned())
                .chain(argv[1..].iter().cloned())
                .collect()
        })
        .collect()
}

impl Exec {
    /// Runs one command: its output, and its exit code when it failed and that is not an
    /// error (`ignore_error`, or a Nagios plugin, whose exit code is its state).
    async fn run(&self, argv: &[String]) -> Result<(Vec<u8>, i64), InputError> {
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
        let nagios = matches!(self.parser, Parser::Nagios);
        if !output.status.success() && !self.config.ignore_error && !nagios {
            return Err(fail(format!("{}: {}", output.status, stderr.trim())));
        }
        let code = output.status.code().map_or(3, i64::from);
        // A plugin that wrote nothing but its complaint on stderr: that is its output.
        let stdout = match nagios && output.stdout.trim_ascii().is_empty() {
            true => output.stderr,
            false => output.stdout,
        };
        Ok((stdout, code))
    }
}

impl Input for Exec {
    fn gather<'a>(&'a mut self, acc: &'a mut Accumulator) -> GatherFuture<'a> {
        Box::pin(async move {
            let mut errors: Vec<String> = self
                .commands
                .iter()
                .filter_map(|c| c.as_ref().err())
                .map(|e| format!("exec: unable to parse command, {e}"))
                .collect();
            let argvs: Vec<Vec<String>> = self
                .commands
                .iter()
                .filter_map(|c| c.as_ref().ok())
                .flat_map(|c| expand(c))
                .collect();
            let runs = argvs.iter().map(|argv| self.run(argv));
            let outputs = futures::future::join_all(runs).await;
            for (argv, output) in argvs.iter().zip(outputs) {
                match output.and_then(|(body, code)| {
                    let mut metrics =
                        self.parser
                            .parse(&body, "exec", acc.time)
                            .map_err(|message| InputError::Parse {
                                what: argv.join(" "),
                                message,
                            })?;
                    if matches!(self.parser, Parser::Nagios) {
                        crate::parsers::nagios::add_state(&mut metrics, code, acc.time);
                    }
                    Ok(metrics)
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
    use crate::inputs::testing::{fixture, gather_error, gather_with};
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
    fn commands_split_as_a_shell_splits_them() {
        let split = |t: &str| split_command(t).unwrap();
        assert_eq!(
            split(r#"/bin/sh -c "echo \"a b\" \$HOME" 'x  y'"#),
            vec!["/bin/sh", "-c", r#"echo "a b" $HOME"#, "x  y"]
        );
        assert_eq!(split(r"a\ b c\\d #e"), vec!["a b", r"c\d", "#e"]);
        assert_eq!(split(r#""\n\x" 'it''s'"#), vec![r"\n\x", "its"]);
        assert_eq!(split("  "), Vec::<String>::new());
        assert_eq!(
            split_command("a 'b").unwrap_err(),
            "Unterminated single-quoted string"
        );
        assert_eq!(
            split_command("a \"b").unwrap_err(),
            "Unterminated double-quoted string"
        );
        assert_eq!(
            split_command("a \\").unwrap_err(),
            "Unterminated backslash-escape"
        );
    }

    proptest::proptest! {
        /// Words quoted for a shell (`'…'`, a `'` as `'\''`) split back to themselves.
        #[test]
        fn quoted_words_split_back(words in proptest::collection::vec("\\PC*", 0..5)) {
            let line: Vec<String> = words
                .iter()
                .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
                .collect();
            proptest::prop_assert_eq!(split_command(&line.join(" ")).unwrap(), words);
        }

        /// Any text splits or fails without panicking.
        #[test]
        fn any_text_splits_or_fails(text in "\\PC*") {
            let _ = split_command(&text);
        }
    }

    #[test]
    fn an_unsplittable_command_is_reported_and_the_others_run() {
        let fx = fixture(&[]);
        let mut input = build(
            &config(&["echo 'app v=1i", "echo app v=2i"], "influx"),
            &fx.ctx(),
        )
        .unwrap();
        let (err, acc) = gather_error(&mut input);
        assert!(
            err.contains("exec: unable to parse command, Unterminated single-quoted string"),
            "{err}"
        );
        assert_eq!(acc.metrics.len(), 1, "the other command ran");
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
    fn a_nagios_plugins_exit_code_is_its_state_not_an_error() {
        let fx = fixture(&[]);
        let script = fx.dir.path().join("check_x");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'X WARNING - load 7|load=7;5;10;0'\nexit 1\n",
        )
        .unwrap();
        let c = ExecConfig {
            commands: vec![CommandLine::Args(vec![
                "sh".into(),
                script.to_string_lossy().into_owned(),
            ])],
            ..config(&[], "nagios")
        };
        let mut input = build(&c, &fx.ctx()).unwrap();
        let metrics = gather_with(&mut input);
        assert_eq!(metrics[0].name, "nagios");
        assert_eq!(
            metrics[0].field("warning_gt"),
            Some(&FieldValue::Float(5.0))
        );
        let state = &metrics[1];
        assert_eq!(state.name, "nagios_state");
        assert_eq!(state.field("state"), Some(&FieldValue::Int(1)));
        assert_eq!(
            state.field("service_output"),
            Some(&FieldValue::Str("X WARNING - load 7".into()))
        );
    }

    #[test]
    fn failures_and_timeouts_are_errors_naming_the_command() {
        let fx = fixture(&[]);
        let mut c = config(&["sleep 5"], "influx");
        c.timeout = GoDuration(std::time::Duration::from_millis(100));
        let mut input = build(&c, &fx.ctx()).unwrap();
        let (err, _) = gather_error(&mut input);
        assert!(
            err.contains("sleep 5") && err.contains("timed out"),
            "{err}"
        );
        let mut input = build(&config(&["false", "echo ok v=1"], "influx"), &fx.ctx()).unwrap();
        let (err, acc) = gather_error(&mut input);
        assert!(err.contains("false"), "{err}");
        assert_eq!(acc.metrics.len(), 1, "the other command's metrics are kept");
    }
}
