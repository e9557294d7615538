//! Embeds the browser libraries from Debian's packages into the binary — dygraphs (the charting
//! library Chronograf used, `libjs-dygraphs`, or `DYGRAPHS_DIR`), Bootstrap 5
//! (`libjs-bootstrap5`, or `BOOTSTRAP5_DIR`) and CodeMirror 5 with the add-ons the editors use
//! (`libjs-codemirror`, or `CODEMIRROR_DIR`, one file for its scripts and one for its styles) —
//! with their source-map comments cut (the maps are not served), and lists the canned layouts
//! of `canned/` for `layouts.rs` to include.

use std::path::{Path, PathBuf};

fn main() {
    list_canned_layouts();
    embed(
        "libjs-dygraphs",
        "DYGRAPHS_DIR",
        "/usr/share/javascript/dygraphs",
        &[
            ("dygraph.min.js", &["dygraph.min.js"]),
            ("dygraph.min.css", &["dygraph.min.css"]),
        ],
    );
    embed(
        "libjs-bootstrap5",
        "BOOTSTRAP5_DIR",
        "/usr/share/javascript/bootstrap5",
        &[
            ("bootstrap.min.css", &["css/bootstrap.min.css"]),
            ("bootstrap.bundle.min.js", &["js/bootstrap.bundle.min.js"]),
        ],
    );
    embed(
        "libjs-codemirror",
        "CODEMIRROR_DIR",
        "/usr/share/javascript/codemirror",
        &[
            (
                "codemirror.js",
                &[
                    "lib/codemirror.js",
                    "addon/edit/matchbrackets.js",
                    "addon/edit/closebrackets.js",
                    "addon/hint/show-hint.js",
                    "addon/display/placeholder.js",
                ],
            ),
            (
                "codemirror.css",
                &["lib/codemirror.css", "addon/hint/show-hint.css"],
            ),
        ],
    );
}

/// Writes each of `outputs` (`(name in OUT_DIR, files of the package's directory joined in
/// it)`) from `$env_var` or `default_dir`, without `sourceMappingURL` comment lines.
fn embed(package: &str, env_var: &str, default_dir: &str, outputs: &[(&str, &[&str])]) {
    println!("cargo:rerun-if-env-changed={env_var}");
    let candidates: Vec<PathBuf> = std::env::var_os(env_var)
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from(default_dir)])
        .collect();
    let first = outputs[0].1[0];
    let Some(dir) = candidates.iter().find(|d| d.join(first).is_file()) else {
        panic!(
            "{} not found in {candidates:?}: install Debian's package `{package}` \
             (apt-get install {package}) or set {env_var} to a directory holding {:?}",
            first,
            outputs.iter().flat_map(|o| o.1).collect::<Vec<_>>()
        );
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for (name, files) in outputs {
        let mut joined = String::new();
        for file in *files {
            let src = dir.join(file);
            println!("cargo:rerun-if-changed={}", src.display());
            let text = std::fs::read_to_string(&src)
                .unwrap_or_else(|e| panic!("reading {}: {e}", src.display()));
            joined.push_str(&without_source_maps(&text));
        }
        std::fs::write(out.join(name), joined).unwrap_or_else(|e| panic!("writing {name}: {e}"));
    }
}

/// `text` without the `//# sourceMappingURL=…` and `/*# sourceMappingURL=… */` lines.
fn without_source_maps(text: &str) -> String {
    let mut kept: String = text
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with("//# sourceMappingURL=")
                && !l.trim_start().starts_with("/*# sourceMappingURL=")
        })
        .collect::<Vec<_>>()
        .join("\n");
    kept.push('\n');
    kept
}

/// Writes `canned.rs`: `&[("name.json", include_str!("…/canned/name.json")), …]`, by name.
fn list_canned_layouts() {
    let dir =
        Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("canned");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("]\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("canned.rs"), code)
        .unwrap_or_else(|e| panic!("writing canned.rs: {e}"));
}
