//! Replays every committed fuzz input (`tests/fuzz/corpus/<target>`) and every input
//! that once made a target fail (`tests/fuzz/regressions/<target>`) through its target:
//! a reader that panics on one fails this test. The fuzzing itself is
//! `tests/fuzz/run SECONDS`.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let mut replayed = 0;
    for (name, target) in tongban_fuzz::TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "{name}: no corpus in tests/fuzz/corpus/{name}"
        );
        let regressions = inputs(&fuzz_dir().join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let data = std::fs::read(file).expect("read input");
            target(&data);
            replayed += 1;
        }
        eprintln!(
            "{name}: {} corpus inputs, {} regressions",
            corpus.len(),
            regressions.len()
        );
    }
    eprintln!("{replayed} inputs replayed");
}

#[test]
fn every_target_has_its_cargo_fuzz_file() {
    for (name, _) in tongban_fuzz::TARGETS {
        let file = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&file).expect("fuzz target file");
        assert!(
            text.contains(&format!("tongban_fuzz::{name}(")),
            "{} does not run tongban_fuzz::{name}",
            file.display()
        );
    }
}
