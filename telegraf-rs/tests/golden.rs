//! Golden files from Telegraf's documented examples (each parser's and serializer's README):
//! `tests/golden/parsers/<case>/` holds `config.toml` (the parser options, and `name`, the
//! metric name an input's `name_override` would give), the input (`input*`) and `expected`
//! line protocol; `tests/golden/serializers/<case>/` holds `config.toml`, `input.lp` and the
//! exact `expected` output. A parsed metric matches an expected line with the same name, tags
//! and fields (in any order, types included) and, when the line has one, the same time.
//! A format Telegraf documents no example of (collectd's binary packets) has a case taken from
//! the real program instead, its `source.md` saying how it was made and checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use telegraf_rs::metric::Metric;
use telegraf_rs::parsers::{Parser, ParserConfig};
use telegraf_rs::serializers::{Serializer, SerializerConfig};

/// The time a metric without one of its own gets.
const NOW: i64 = 1_000_000_000_000_000_000;

fn cases(kind: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(kind);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases in {}", root.display());
    dirs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The case's input file (`input`, `input.xml`, …).
fn input_of(dir: &Path) -> Vec<u8> {
    let path = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("input"))
        })
        .unwrap_or_else(|| panic!("{}: no input file", dir.display()));
    std::fs::read(path).unwrap()
}

/// A metric as compared: name, tags, fields by name (with their types), and the time.
fn canonical(m: &Metric, with_time: bool) -> String {
    let fields: BTreeMap<&String, String> = m
        .fields
        .iter()
        .map(|(k, v)| (k, format!("{v:?}")))
        .collect();
    let time = if with_time {
        m.time.to_string()
    } else {
        "-".into()
    };
    format!("{} {:?} {:?} {time}", m.name, m.tags, fields)
}

#[test]
fn parsers_give_what_telegrafs_documentation_shows() {
    for dir in cases("parsers") {
        let mut table: toml::Table = toml::from_str(&read(&dir.join("config.toml"))).unwrap();
        let name = table
            .remove("name")
            .and_then(|n| n.as_str().map(str::to_string))
            .unwrap_or_else(|| "file".into());
        let config: ParserConfig = toml::Table::try_into(table).unwrap();
        let parser =
            Parser::new(&config, "influx").unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let got = parser
            .parse(&input_of(&dir), &name, NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let expected_text = read(&dir.join("expected"));
        let expected: Vec<(Metric, bool)> = expected_text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let has_time = lineproto::parse_lines(l.as_bytes())
                    .next()
                    .and_then(Result::ok)
                    .unwrap_or_else(|| panic!("{}: bad expected line {l:?}", dir.display()))
                    .timestamp
                    .is_some();
                let m = telegraf_rs::serializers::metrics_of(l.as_bytes()).remove(0);
                (m, has_time)
            })
            .collect();
        let want: Vec<String> = expected.iter().map(|(m, t)| canonical(m, *t)).collect();
        let have: Vec<String> = got
            .iter()
            .zip(
                expected
                    .iter()
                    .map(|(_, t)| *t)
                    .chain(std::iter::repeat(true)),
            )
            .map(|(m, t)| canonical(m, t))
            .collect();
        assert_eq!(have, want, "{}", dir.display());
    }
}

#[test]
fn serializers_write_what_telegrafs_documentation_shows() {
    for dir in cases("serializers") {
        let config: SerializerConfig = toml::from_str(&read(&dir.join("config.toml"))).unwrap();
        let serializer =
            Serializer::new(&config).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let out = serializer.batch(&input_of(&dir), false);
        assert_eq!(
            String::from_utf8_lossy(&out),
            read(&dir.join("expected")),
            "{}",
            dir.display()
        );
    }
}
