//! Lists the message catalogues in `locales/` (one Fluent file per language, named by
//! its BCP 47 tag), so that adding a language is adding a file.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut tags: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    name.strip_suffix(".ftl").map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let mut code = String::from("/// Every catalogue: its language tag and its Fluent source.\n");
    code.push_str("pub(crate) const SOURCES: &[(&str, &str)] = &[\n");
    for tag in &tags {
        let path = dir.join(format!("{tag}.ftl"));
        let _ = writeln!(
            code,
            "    ({tag:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("locales.rs");
    if let Err(error) = std::fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
