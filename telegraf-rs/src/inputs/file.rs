//! `inputs.file`: reads whole files (globs allowed, `**` across directories) each interval
//! and parses them with the `data_format` (`influx` by default); `file_tag` names a tag for
//! the file's base name.

use super::{glob_paths, Accumulator, BuildContext, Input, InputError, SyncInput};
use crate::parsers::{Parser, ParserConfig};
use serde::{Deserialize, Serialize};

/// Options of `[[inputs.file]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct FileConfig {
    /// Files or globs.
    pub files: Vec<String>,
    /// Tag holding the file's base name, when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file_tag: String,
    /// Tag holding the file's whole path, when set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file_path_tag: String,
    /// Only UTF-8 (`""`, `utf-8`) is read.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub character_encoding: String,
    /// The parser options (read apart from the rest of the table).
    #[serde(skip_deserializing, flatten)]
    pub parser: ParserConfig,
}

/// Builds the input.
pub fn build(c: &FileConfig, _: &BuildContext) -> Result<Box<dyn Input>, InputError> {
    if !matches!(
        c.character_encoding.to_ascii_lowercase().as_str(),
        "" | "utf-8" | "utf8"
    ) {
        return Err(InputError::Settings(format!(
            "character_encoding {:?} is not implemented by telegraf-rs (utf-8 is)",
            c.character_encoding
        )));
    }
    let parser = Parser::new(&c.parser, "influx").map_err(InputError::Settings)?;
    Ok(Box::new(File {
        config: c.clone(),
        parser,
    }))
}

struct File {
    config: FileConfig,
    parser: Parser,
}

impl SyncInput for File {
    fn gather_now(&mut self, acc: &mut Accumulator) -> Result<(), InputError> {
        let mut errors = Vec::new();
        for pattern in &self.config.files {
            let paths = glob_paths(pattern);
            if paths.is_empty() {
                errors.push(format!("no file matches {pattern:?}"));
            }
            for path in paths {
                let body = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(e) => {
                        errors.push(format!("{}: {e}", path.display()));
                        continue;
                    }
                };
                match self.parser.parse(&body, "file", acc.time) {
                    Ok(metrics) => {
                        for mut m in metrics {
                            if !self.config.file_tag.is_empty() {
                                let base = path.file_name().unwrap_or_default().to_string_lossy();
                                m.tags
                                    .insert(self.config.file_tag.clone(), base.into_owned());
                            }
                            if !self.config.file_path_tag.is_empty() {
                                m.tags.insert(
                                    self.config.file_path_tag.clone(),
                                    path.to_string_lossy().into_owned(),
                                );
                            }
                            acc.push(m);
                        }
                    }
                    Err(e) => errors.push(format!("{}: {e}", path.display())),
                }
            }
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(InputError::Parse {
                what: "file".into(),
                message: errors.join("; "),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::testing::{fixture, gather_error, gather_with};
    use crate::metric::FieldValue;

    #[test]
    fn globbed_files_parsed_and_tagged() {
        let fx = fixture(&[
            ("data/a.lp", "m v=1\n"),
            ("data/sub/b.lp", "m v=2\n"),
            ("data/c.txt", "not line protocol"),
        ]);
        let root = fx.dir.path().display();
        let config = FileConfig {
            files: vec![format!("{root}/data/**.lp")],
            file_tag: "source".into(),
            ..FileConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let ms = gather_with(&mut input);
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].tags["source"], "a.lp");
        assert_eq!(ms[1].field("v"), Some(&FieldValue::Float(2.0)));
        let config = FileConfig {
            files: vec![
                format!("{root}/data/*.lp"),
                format!("{root}/data/c.txt"),
                format!("{root}/none*"),
            ],
            ..FileConfig::default()
        };
        let mut input = build(&config, &fx.ctx()).unwrap();
        let (error, acc) = gather_error(&mut input);
        assert_eq!(acc.metrics.len(), 1);
        assert!(
            error.contains("c.txt") && error.contains("none*"),
            "{error}"
        );
    }
}
