//! Embeds dygraphs (the charting library Chronograf used) from Debian's `libjs-dygraphs`, or
//! from the directory named by `DYGRAPHS_DIR`, into the binary.

use std::path::PathBuf;

fn main() {
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
