//! Keeps server paths out of answers: an error from a library (GDAL-style readers name
//! the file they read) has the data directory replaced by `<data>` before a client sees
//! it, in error envelopes and in job messages.

use std::path::Path;

/// The paths to hide, longest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrub {
    hidden: Vec<String>,
}

impl Scrub {
    /// Hides `dir` as given and as resolved (symlinks, relative parts).
    pub(crate) fn new(dir: &Path) -> Self {
        let mut hidden: Vec<String> = vec![dir.display().to_string()];
        if let Ok(real) = dir.canonicalize() {
            hidden.push(real.display().to_string());
        }
        hidden.retain(|h| h.len() > 1);
        hidden.sort_by_key(|h| std::cmp::Reverse(h.len()));
        hidden.dedup();
        Scrub { hidden }
    }

    /// `text` with every hidden path replaced by `<data>`.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for h in &self.hidden {
            if out.contains(h.as_str()) {
                out = out.replace(h.as_str(), "<data>");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_directory_is_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let s = Scrub::new(dir.path());
        let msg = format!(
            "invalid TIFF {}/uploads/i1/file/a.tif: bad",
            dir.path().display()
        );
        assert_eq!(
            s.apply(&msg),
            "invalid TIFF <data>/uploads/i1/file/a.tif: bad"
        );
        assert_eq!(s.apply("nothing to hide"), "nothing to hide");
    }
}
