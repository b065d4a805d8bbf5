//! Every seed and every input a fuzzer found (`fuzz/seeds/TARGET/`,
//! `fuzz/regressions/TARGET/`) read again: none may panic, not even a panic that
//! the readers catch (the fuzzer counts those as crashes too), and none may ask for
//! more than the fuzzer's 1 GB (a counting allocator measures it).

#![allow(clippy::unwrap_used, clippy::print_stderr)]
// reason: test code
// reason: the counting allocator (test instrumentation) implements GlobalAlloc, which
// is unsafe by definition; it only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The fuzzer's limit: no single input may make a reader ask for more.
const LIMIT: usize = 1 << 30;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same layout; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // Refused like a failed allocation rather than reserved: the readers must
        // not ask at all, and a test machine should not hand out gigabytes.
        if l.size() > LIMIT {
            NOW.fetch_sub(l.size(), Ordering::Relaxed);
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let now = NOW.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            NOW.fetch_sub(l.size() - new, Ordering::Relaxed);
        }
        if new > LIMIT {
            NOW.fetch_sub(new - l.size(), Ordering::Relaxed);
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn seeds_and_fuzzer_findings_read_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut total = 0;
    let mut problems = Vec::new();
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
                let start = NOW.load(Ordering::Relaxed);
                PEAK.store(start, Ordering::Relaxed);
                let _ = std::panic::catch_unwind(|| gp_fuzz::run(target, &data));
                let peak = PEAK.load(Ordering::Relaxed).saturating_sub(start);
                if peak > LIMIT {
                    problems.push(format!(
                        "{target}: {} asked for {peak} bytes, over the fuzzer's 1 GB",
                        p.display()
                    ));
                }
                // Copied out: the assertion's own panic goes through the hook.
                let new: Vec<String> = panics.lock().unwrap()[before..].to_vec();
                if !new.is_empty() {
                    problems.push(format!(
                        "{target}: {} panicked: {}",
                        p.display(),
                        new.join("; ")
                    ));
                }
                total += 1;
            }
        }
    }
    // The default hook back, so the assertions below print.
    drop(std::panic::take_hook());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{total} seeds and findings read");
    assert!(
        total >= gp_fuzz::TARGETS.len(),
        "the seeds are missing: {total} files"
    );
}
