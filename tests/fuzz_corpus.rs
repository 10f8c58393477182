//! The fuzz targets on stable Rust: every file of `fuzz/corpus/TARGET/` through its
//! entry in `cubeblob::fuzzing`, then random inputs for a bounded number of cases.
//! `cargo fuzz` (README, "Fuzzing") runs the same entries for as long as one likes;
//! `CUBEBLOB_FUZZ_CASES=N cargo test --test fuzz_corpus` raises the count here.

use std::path::Path;

use cubeblob::fuzzing::TARGETS;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn every_target_has_a_seeded_corpus_and_a_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, _) in TARGETS {
        assert!(
            corpus(target).len() >= 3,
            "fuzz/corpus/{target} needs a few seeds"
        );
        assert!(
            root.join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{target}.rs is missing"
        );
    }
}

#[test]
fn every_corpus_file_passes_its_target() {
    for (target, entry) in TARGETS {
        for (name, data) in corpus(target) {
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(outcome.is_ok(), "fuzz/corpus/{target}/{name} fails");
        }
    }
}

/// Bytes that mutate a seed: bits flipped, bytes spliced in, the tail cut.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let tricky = prop::sample::select(b"[]{}\"\\=&%+;:,/?#<>-\r\n\0 \x1b09aAzZ!$".to_vec());
    (
        prop::sample::select(seeds),
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop_oneof![any::<u8>(), tricky],
            ),
            0..8,
        ),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(mut data, edits, cut, do_cut)| {
            for (at, byte) in edits {
                let at = at.index(data.len() + 1);
                data.insert(at, byte);
            }
            if do_cut && !data.is_empty() {
                data.truncate(cut.index(data.len()));
            }
            data
        })
}

fn cases() -> u32 {
    std::env::var("CUBEBLOB_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

#[test]
fn random_inputs_pass_every_target() {
    for (target, entry) in TARGETS {
        let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, d)| d).collect();
        let inputs = prop_oneof![prop::collection::vec(any::<u8>(), 0..512), mutated(seeds),];
        let mut runner = TestRunner::new(Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&inputs, |data| {
            entry(&data);
            Ok(())
        });
        if let Err(err) = result {
            panic!("target `{target}`: {err}");
        }
    }
}
