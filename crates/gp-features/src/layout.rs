//! What the layout checks of the binary formats share ([`crate::fgb_check`],
//! [`crate::shp_check`]): a file opened for one buffered pass, with its real length,
//! against which every size a header declares is compared.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// The file, buffered for a sequential pass, and its length in bytes.
pub(crate) fn open_sized(path: &Path) -> Result<(BufReader<File>, u64), String> {
    let file = File::open(path).map_err(|e| format!("opening: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("reading its size: {e}"))?
        .len();
    Ok((BufReader::with_capacity(64 << 10, file), len))
}
