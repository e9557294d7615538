//! Imports run one way, down: inside every crate of the workspace, no two sibling modules
//! import each other, directly or through others. A module may use its parent and its
//! children; between siblings (`meta` and `storage`, `nodes` and `alert`, `config` and
//! `inputs`) the graph of `use` paths and `crate::`/`super::` paths in code must have no
//! cycle. Test modules (`#[cfg(test)] mod tests`) are left out: they may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use tick_tests::repo_root;

/// A module path inside a crate (`["query", "select"]`); empty for the crate root.
type ModPath = Vec<String>;

/// Every `.rs` file under `src` with its module path.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    // Bounded: a source tree has few directories.
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).unwrap_or(&path).with_extension("");
                let mut segs: ModPath = rel
                    .components()
                    .map(|c| {
                        c.as_os_str()
                            .to_string_lossy()
                            .trim_start_matches("r#")
                            .to_string()
                    })
                    .collect();
                if matches!(
                    segs.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    segs.pop();
                }
                out.insert(segs, path);
            }
        }
    }
    out
}

/// The paths of a `use` tree: `a::{b, c::{d, e as f}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut current) = (Vec::new(), 0i32, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p))
        .map(|e| match e.as_str() {
            "self" => prefix.trim_end_matches("::").to_string(),
            _ => format!("{prefix}{e}"),
        })
        .collect()
}

/// The text of a file without its test module, comments and string literals.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        // Strings may hold `crate::` in messages: blank them.
        let mut in_string = false;
        let mut escaped = false;
        for ch in line.chars() {
            match (in_string, ch) {
                (true, '\\') if !escaped => escaped = true,
                (true, '"') if !escaped => in_string = false,
                (true, _) => escaped = false,
                (false, '"') => in_string = true,
                (false, c) => out.push(c),
            }
        }
        out.push('\n');
    }
    out
}

/// Every path a module names: its `use` trees and the `crate::…`/`super::…` paths in its code.
fn references(code: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(end) = rest.find(';') {
            refs.extend(expand(&rest[..end].replace('\n', " ")));
        }
    }
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let before = rest[..at].chars().last();
            let path: String = rest[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            rest = &rest[at + start.len()..];
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                refs.push(path);
            }
        }
    }
    refs
}

/// The module a path names, seen from module `from`, when it is one of this crate's.
fn target(from: &ModPath, path: &str, modules: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    let segs: Vec<&str> = path
        .split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let (base, rest): (ModPath, &[&str]) = match segs.first()? {
        &"crate" => (Vec::new(), &segs[1..]),
        &"self" => (from.clone(), &segs[1..]),
        &"super" => {
            let ups = segs.iter().take_while(|s| **s == "super").count();
            let keep = from.len().checked_sub(ups)?;
            (from[..keep].to_vec(), &segs[ups..])
        }
        first => {
            // A child module named without `self::`.
            let mut child = from.clone();
            child.push(first.trim_start_matches("r#").to_string());
            if !modules.keys().any(|m| m.starts_with(&child)) {
                return None;
            }
            (from.clone(), &segs[..])
        }
    };
    let mut out = base;
    out.extend(rest.iter().map(|s| s.trim_start_matches("r#").to_string()));
    Some(out)
}

/// Cycles among siblings: for each parent module, the groups of its children that reach each
/// other, with the edges between them.
fn sibling_cycles(src: &Path) -> Vec<String> {
    let modules = modules(src);
    // parent → child → siblings it reaches.
    let mut graph: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for reference in references(&code(&text)) {
            let Some(to) = target(module, &reference, &modules) else {
                continue;
            };
            let common = module.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= module.len() || common >= to.len() {
                continue; // parent or child: allowed
            }
            let sibling = to[..=common].to_vec();
            if !modules.keys().any(|m| m.starts_with(&sibling)) {
                continue; // an item of the parent, not a module
            }
            graph
                .entry(module[..common].to_vec())
                .or_default()
                .entry(module[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    let mut cycles = Vec::new();
    for (parent, edges) in &graph {
        let reach = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(m) = todo.pop() {
                for next in edges.get(&m).into_iter().flatten() {
                    if seen.insert(next.clone()) {
                        todo.push(next.clone());
                    }
                }
            }
            seen
        };
        let mut reported = BTreeSet::new();
        for m in edges.keys() {
            let from_m = reach(m);
            if !from_m.contains(m) || reported.contains(m) {
                continue;
            }
            let group: BTreeSet<String> = from_m
                .iter()
                .filter(|o| reach(o).contains(m))
                .cloned()
                .collect();
            reported.extend(group.iter().cloned());
            let shown: Vec<String> = group
                .iter()
                .flat_map(|a| {
                    edges[a]
                        .iter()
                        .filter(|b| group.contains(*b))
                        .map(move |b| format!("{a} -> {b}"))
                })
                .collect();
            let parent = if parent.is_empty() {
                "crate".to_string()
            } else {
                parent.join("::")
            };
            cycles.push(format!("in {parent}: {}", shown.join(", ")));
        }
    }
    cycles
}

/// The `src` directories of the workspace's crates.
fn crate_sources() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    for dir in [
        "influx-rs",
        "telegraf-rs",
        "kapacitor-rs",
        "chronograf-rs",
        "tests",
        "deploy/healthcheck",
    ] {
        out.push(root.join(dir).join("src"));
    }
    if let Ok(entries) = std::fs::read_dir(root.join("crates")) {
        out.extend(entries.flatten().map(|e| e.path().join("src")));
    }
    out.retain(|p| p.is_dir());
    out
}

#[test]
fn sibling_modules_import_one_way() {
    let sources = crate_sources();
    assert!(sources.len() >= 9, "crates found: {sources:?}");
    let found: Vec<String> = sources
        .iter()
        .flat_map(|src| {
            sibling_cycles(src)
                .into_iter()
                .map(move |c| format!("{}: {c}", src.display()))
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn a_cycle_is_found_and_parents_and_children_are_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |rel: &str, text: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub fn top() {}\n",
    );
    write(
        "a.rs",
        "use crate::b::{x, y as z};\npub fn f() { crate::top(); }\n",
    );
    write("b/mod.rs", "mod inner;\npub fn x() { inner::g(); }\n");
    write(
        "b/inner.rs",
        "use super::super::c::h;\npub fn g() { super::x(); }\n",
    );
    write(
        "c.rs",
        "pub fn h() { let _ = \"crate::a\"; }\n#[cfg(test)]\nmod tests { use crate::a::f; }\n",
    );
    assert!(sibling_cycles(src).is_empty(), "{:?}", sibling_cycles(src));
    write("c.rs", "pub fn h() { crate::a::f(); }\n");
    let cycles = sibling_cycles(src);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(
        cycles[0].contains("a -> b") && cycles[0].contains("c -> a"),
        "{cycles:?}"
    );
}
