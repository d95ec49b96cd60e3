//! Makes the golden trace hashes (tests/golden/trace-hashes.json) available to the browser
//! tests when the file exists, and an empty object otherwise.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let golden = manifest.join("..").join("tests").join("golden").join("trace-hashes.json");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("golden-trace-hashes.json");
    println!("cargo:rerun-if-changed={}", golden.display());
    println!(
        "cargo:rerun-if-changed={}",
        golden.parent().map(|p| p.display().to_string()).unwrap_or_default()
    );
    let text = std::fs::read_to_string(&golden).unwrap_or_else(|_| String::from("{}"));
    if let Err(e) = std::fs::write(&out, text) {
        panic!("cannot write {}: {e}", out.display());
    }
}
