//! Uploads by parts, as ArcGIS takes large files: `register` reserves an item
//! ([`Uploads::register`]), `uploadPart` adds numbered parts, `parts` lists them and
//! `commit` joins them (in the order given, or by number) into the item's file. The
//! size limit holds for the parts together.

use std::path::{Path, PathBuf};

use gp_model::UploadItem;

use crate::respond::ApiError;
use crate::uploads::{Incoming, Stored, Uploads, write_record};

/// Highest part number taken.
const MAX_PART: u32 = 10_000;

fn io_err(what: &str) -> impl Fn(std::io::Error) -> ApiError + '_ {
    move |e| ApiError::internal(format!("{what}: {}", e.kind()))
}

/// The part numbers stored in `dir`, ascending.
fn stored_parts(dir: &Path) -> Vec<u32> {
    let mut parts: Vec<u32> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .collect();
    parts.sort_unstable();
    parts
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Reads `parts=1,2,3` (also repeated `parts=1&parts=2`, and quoted numbers).
pub(crate) fn parse_parts<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Option<Vec<u32>>, ApiError> {
    let mut out = Vec::new();
    for v in values {
        for p in v
            .split(',')
            .map(|p| p.trim().trim_matches(['"', '\'', '[', ']', ' ']))
        {
            if p.is_empty() {
                continue;
            }
            out.push(p.parse::<u32>().map_err(|_| {
                ApiError::bad_param("parts", &format!("`{p}` is not a part number"))
            })?);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

impl Uploads {
    /// An item registered for parts that `user` may add to.
    fn open_parts(&self, id: &str, user: Option<&str>) -> Result<(PathBuf, Stored), ApiError> {
        let (dir, stored) = self.stored(id, user)?;
        if stored.item.committed != Some(false) {
            return Err(ApiError::bad_request(format!(
                "item {id} is committed; parts go to items made with uploads/register"
            )));
        }
        Ok((dir, stored))
    }

    /// Stores part `number` of item `id` (a part sent again replaces the first).
    pub(crate) fn add_part(
        &self,
        id: &str,
        user: Option<&str>,
        number: u32,
        incoming: Incoming,
    ) -> Result<UploadItem, ApiError> {
        if number == 0 || number > MAX_PART {
            return Err(ApiError::bad_param(
                "partId",
                &format!("{number} is not a part number (1 to {MAX_PART})"),
            ));
        }
        let (dir, stored) = self.open_parts(id, user)?;
        let parts = dir.join("parts");
        let others: u64 = stored_parts(&parts)
            .into_iter()
            .filter(|n| *n != number)
            .map(|n| size_of(&parts.join(n.to_string())))
            .sum();
        let total = others + incoming.size;
        if total > self.max_bytes {
            return Err(self.too_large(format!(
                "{:.1} MB in parts so far",
                total as f64 / (1u64 << 20) as f64
            )));
        }
        incoming
            .file
            .persist(parts.join(number.to_string()))
            .map_err(|e| io_err("storing the part")(e.error))?;
        Ok(stored.item)
    }

    /// The part numbers of item `id`.
    pub(crate) fn parts(&self, id: &str, user: Option<&str>) -> Result<Vec<u32>, ApiError> {
        let (dir, _) = self.stored(id, user)?;
        Ok(stored_parts(&dir.join("parts")))
    }

    /// Joins the parts of item `id` into its file, in `order` or by number.
    pub(crate) fn commit_parts(
        &self,
        id: &str,
        user: Option<&str>,
        order: Option<Vec<u32>>,
    ) -> Result<UploadItem, ApiError> {
        let (dir, mut stored) = self.open_parts(id, user)?;
        let parts_dir = dir.join("parts");
        let have = stored_parts(&parts_dir);
        let order = order.unwrap_or_else(|| have.clone());
        if order.is_empty() {
            return Err(ApiError::bad_request(format!(
                "item {id} has no parts to commit"
            )));
        }
        if let Some(missing) = order.iter().find(|n| !have.contains(n)) {
            return Err(ApiError::bad_param(
                "parts",
                &format!("item {id} has no part {missing} (it has {have:?})"),
            ));
        }
        let name = stored.item.item_name.clone().unwrap_or_default();
        let fs_err = |e: gp_fs::Error| ApiError::internal(format!("committing the upload: {e}"));
        let mut out = gp_fs::AtomicFile::new(
            dir.join("file").join(&name),
            gp_fs::Options::new(false, gp_fs::Flush::Data),
        )
        .map_err(fs_err)?;
        let mut size = 0u64;
        for n in &order {
            let mut part = std::fs::File::open(parts_dir.join(n.to_string()))
                .map_err(io_err("committing the upload"))?;
            size += std::io::copy(&mut part, out.file_mut())
                .map_err(io_err("committing the upload"))?;
        }
        if size > self.max_bytes {
            return Err(self.too_large(format!("{:.1} MB", size as f64 / (1u64 << 20) as f64)));
        }
        out.finish(None).map_err(fs_err)?;
        stored.item.committed = Some(true);
        stored.item.size = Some(size);
        write_record(&dir, &stored).map_err(io_err("committing the upload"))?;
        let _ = std::fs::remove_dir_all(&parts_dir);
        Ok(stored.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_lists_are_read_as_servers_and_clients_write_them() {
        assert_eq!(parse_parts(["1,2, 3"]).unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(parse_parts(["2", "1"]).unwrap(), Some(vec![2, 1]));
        assert_eq!(parse_parts(["\"5\",\"6\""]).unwrap(), Some(vec![5, 6]));
        assert_eq!(parse_parts(["[1, 2]"]).unwrap(), Some(vec![1, 2]));
        assert_eq!(parse_parts([""]).unwrap(), None);
        assert!(parse_parts(["x"]).is_err());
    }
}
