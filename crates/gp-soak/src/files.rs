//! After the soak: files under a final name that are not whole, temporary files
//! left behind, and any trace of a token in logs, files and messages.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::run::{JobRun, Outcome, file_is_whole};

/// Every file under `dir`, recursively.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Files found in the outputs folder.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FileCheck {
    /// Files under a final name that are not whole.
    pub(crate) partial: Vec<PathBuf>,
    /// Temporary files (`.gp-part-*`) left behind.
    pub(crate) leftovers: Vec<PathBuf>,
    /// Files checked.
    pub(crate) checked: usize,
}

fn is_sidecar(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["shx", "dbf", "prj", "cpg", "qix", "sbn", "sbx"].contains(&e))
}

/// Checks every file under `out`: those a delivered job named must be whole with
/// their feature count; any other file under a final name must be whole too
/// (a feature file that loads, a TIFF that decodes); temporary files are counted.
pub(crate) fn check(out: &Path, runs: &[JobRun]) -> FileCheck {
    let mut c = FileCheck::default();
    let mut named: Vec<(PathBuf, Option<usize>)> = Vec::new();
    for r in runs {
        if let Outcome::Delivered { files } = &r.outcome {
            named.extend(files.iter().cloned());
        }
    }
    for (path, features) in &named {
        c.checked += 1;
        if !file_is_whole(path, *features) {
            c.partial.push(path.clone());
        }
    }
    for p in walk(out) {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with(".gp-part-") {
            c.leftovers.push(p);
            continue;
        }
        if is_sidecar(&p) || named.iter().any(|(n, _)| n == &p || n.starts_with(&p)) {
            continue;
        }
        c.checked += 1;
        if !file_is_whole(&p, None) {
            c.partial.push(p);
        }
    }
    c
}

/// Where secrets were looked for and what was found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SecretScan {
    /// Bytes of files read.
    pub(crate) bytes: u64,
    /// Files read.
    pub(crate) files: usize,
    /// Messages read.
    pub(crate) messages: usize,
    /// Files or messages with a secret in them (never the secret itself).
    pub(crate) hits: Vec<String>,
}

/// Looks for each of `secrets` in every file under `dirs` (logs, job files,
/// outputs) and in `messages`.
pub(crate) fn scan_secrets(secrets: &[String], dirs: &[&Path], messages: &[String]) -> SecretScan {
    let finders: Vec<memchr::memmem::Finder<'_>> = secrets
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| memchr::memmem::Finder::new(s.as_bytes()))
        .collect();
    let longest = secrets.iter().map(String::len).max().unwrap_or(0);
    let mut scan = SecretScan::default();
    for dir in dirs {
        for p in walk(dir) {
            let Ok(mut f) = std::fs::File::open(&p) else {
                continue;
            };
            scan.files += 1;
            // Read in blocks, each searched with the previous block's tail before it.
            let mut buf = vec![0u8; 1 << 20];
            let mut carry: Vec<u8> = Vec::new();
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                scan.bytes += n as u64;
                carry.extend_from_slice(&buf[..n]);
                if finders.iter().any(|x| x.find(&carry).is_some()) {
                    scan.hits.push(p.display().to_string());
                    break;
                }
                let keep = carry.len().saturating_sub(longest);
                carry.drain(..keep);
            }
        }
    }
    for (i, m) in messages.iter().enumerate() {
        scan.messages += 1;
        if finders.iter().any(|x| x.find(m.as_bytes()).is_some()) {
            scan.hits.push(format!("message {i}"));
        }
    }
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_across_block_boundaries_and_in_messages() {
        let dir = std::env::temp_dir().join(format!("gp-soak-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let mut big = vec![b'x'; (1 << 20) - 3];
        big.extend_from_slice(b"s3cr3t-token and more");
        std::fs::write(dir.join("sub").join("log.txt"), &big).unwrap();
        std::fs::write(dir.join("clean.txt"), b"nothing here").unwrap();
        let secrets = vec!["s3cr3t-token".to_string()];
        let s = scan_secrets(
            &secrets,
            &[&dir],
            &["ok".into(), "token=s3cr3t-token".into()],
        );
        assert_eq!(s.files, 2);
        assert_eq!(s.hits.len(), 2, "{:?}", s.hits);
        assert!(s.hits.iter().any(|h| h.ends_with("log.txt")));
        assert!(s.hits.contains(&"message 1".to_string()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
