//! File names from URLs and servers, checked before anything is written under them.

use crate::error::{Error, Result};

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks a file name from a URL or a server: one plain name, not hidden (no leading
/// dot), no `..`, no separators,
/// no absolute path, no control characters, no reserved Windows name, at most 255 bytes.
///
/// ```
/// use gp_fs::sanitize_file_name;
/// assert_eq!(sanitize_file_name("slope.tif").unwrap(), "slope.tif");
/// assert!(sanitize_file_name("../etc/passwd").is_err());
/// assert!(sanitize_file_name("CON.tif").is_err());
/// assert!(sanitize_file_name(".bashrc").is_err());
/// ```
pub fn sanitize_file_name(name: &str) -> Result<String> {
    let bad = |reason: &str| Error::FileName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name == "." || name == ".." {
        return Err(bad("it is empty or a relative folder name"));
    }
    if name.starts_with('.') {
        return Err(bad(
            "it starts with a dot (a hidden file such as `.bashrc`), so it could shadow a user's settings",
        ));
    }
    if name.contains(['/', '\\']) {
        return Err(bad(
            "it contains a path separator, so it would leave the scratch folder",
        ));
    }
    if name.contains("..") {
        return Err(bad("it contains `..`"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("it contains a control character"));
    }
    if name.contains([':', '*', '?', '"', '<', '>', '|']) {
        return Err(bad(
            "it contains a character that is not allowed in Windows file names",
        ));
    }
    if name.len() > 255 {
        return Err(bad("it is longer than 255 bytes"));
    }
    let stem = name.split('.').next().unwrap_or("").trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(bad("it is a reserved Windows device name"));
    }
    if name.ends_with(['.', ' ']) {
        return Err(bad("it ends with a dot or a space"));
    }
    Ok(name.to_string())
}

/// The file name of an output URL: its last path segment, percent-decoded, without
/// query or fragment, then checked by [`sanitize_file_name`].
///
/// ```
/// let n = gp_fs::file_name_from_url(
///     "https://h/arcgis/rest/directories/arcgisjobs/x_gpserver/j1/scratch/slope%20out.tif?token=t");
/// assert_eq!(n.unwrap(), "slope out.tif");
/// ```
pub fn file_name_from_url(url: &str) -> Result<String> {
    let no_frag = url.split('#').next().unwrap_or("");
    let no_query = no_frag.split('?').next().unwrap_or("");
    // The path part only: never take the host for a file name.
    let path = match no_query.find("://") {
        Some(i) => no_query[i + 3..]
            .find('/')
            .map_or("", |j| &no_query[i + 3 + j..]),
        None => no_query,
    };
    let last = path.rsplit('/').next().unwrap_or("");
    let decoded = percent_decode(last).ok_or_else(|| Error::FileName {
        name: last.to_string(),
        reason: "its percent-encoding is not valid UTF-8".into(),
    })?;
    sanitize_file_name(&decoded)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hi = (b[i + 1] as char).to_digit(16).unwrap_or(0);
            let lo = (b[i + 2] as char).to_digit(16).unwrap_or(0);
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
