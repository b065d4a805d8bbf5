//! Every seed and every input a fuzzer found (`fuzz/seeds/TARGET/`,
//! `fuzz/regressions/TARGET/`) read again: none may panic.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // reason: test code

use std::path::Path;

#[test]
fn seeds_and_fuzzer_findings_read_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut total = 0;
    for target in gp_fuzz::TARGETS {
        for kind in ["seeds", "regressions"] {
            let dir = root.join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                let data = std::fs::read(&p).unwrap();
                let ok = std::panic::catch_unwind(|| gp_fuzz::run(target, &data));
                assert!(ok.is_ok(), "{target}: {} panicked", p.display());
                total += 1;
            }
        }
    }
    eprintln!("{total} seeds and findings read");
    assert!(
        total >= gp_fuzz::TARGETS.len(),
        "the seeds are missing: {total} files"
    );
}
