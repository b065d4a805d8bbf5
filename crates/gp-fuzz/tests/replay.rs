//! Every seed and every input a fuzzer found (`fuzz/seeds/TARGET/`,
//! `fuzz/regressions/TARGET/`) read again: none may panic, not even a panic that
//! the readers catch (the fuzzer counts those as crashes too).

#![allow(clippy::unwrap_used, clippy::print_stderr)] // reason: test code

use std::path::Path;

#[test]
fn seeds_and_fuzzer_findings_read_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut total = 0;
    let panics = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut v) = seen.lock() {
            v.push(info.to_string());
        }
    }));
    for target in gp_fuzz::TARGETS {
        for kind in ["seeds", "regressions"] {
            let dir = root.join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                let data = std::fs::read(&p).unwrap();
                let before = panics.lock().unwrap().len();
                let _ = std::panic::catch_unwind(|| gp_fuzz::run(target, &data));
                // Copied out: the assertion's own panic goes through the hook.
                let new: Vec<String> = panics.lock().unwrap()[before..].to_vec();
                assert!(
                    new.is_empty(),
                    "{target}: {} panicked: {}",
                    p.display(),
                    new.join("; ")
                );
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
