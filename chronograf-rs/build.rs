//! Embeds dygraphs (the charting library Chronograf used) from Debian's `libjs-dygraphs`, or
//! from the directory named by `DYGRAPHS_DIR`, into the binary, and lists the canned layouts of
//! `canned/` for `layouts.rs` to include.

use std::path::PathBuf;

fn main() {
    list_canned_layouts();
    println!("cargo:rerun-if-env-changed=DYGRAPHS_DIR");
    let candidates: Vec<PathBuf> = std::env::var_os("DYGRAPHS_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/share/javascript/dygraphs")])
        .collect();
    let Some(dir) = candidates
        .iter()
        .find(|d| d.join("dygraph.min.js").is_file())
    else {
        panic!(
            "dygraph.min.js not found in {candidates:?}: install Debian's package `libjs-dygraphs` \
             (apt-get install libjs-dygraphs) or set DYGRAPHS_DIR to a directory holding \
             dygraph.min.js and dygraph.min.css"
        );
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for file in ["dygraph.min.js", "dygraph.min.css"] {
        let src = dir.join(file);
        println!("cargo:rerun-if-changed={}", src.display());
        std::fs::copy(&src, out.join(file))
            .unwrap_or_else(|e| panic!("copying {}: {e}", src.display()));
    }
}

/// Writes `canned.rs`: `&[("name.json", include_str!("…/canned/name.json")), …]`, by name.
fn list_canned_layouts() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("canned");
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
