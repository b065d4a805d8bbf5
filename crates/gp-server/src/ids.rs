//! Unguessable ids for jobs, uploads, tokens and generated files.

/// A new unguessable job id: `j` + 32 hex digits from the operating system's CSPRNG.
pub(crate) fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // The OS RNG failing is not recoverable for security-relevant ids.
        tracing::error!("the operating system's random number generator failed");
        std::process::abort();
    }
    let mut s = String::with_capacity(33);
    s.push_str(prefix);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_j_plus_32_hex_and_unique() {
        let a = new_id("j");
        let b = new_id("j");
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('j'));
        assert!(a[1..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
