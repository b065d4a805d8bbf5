//! Writing tables: a new table streamed row by row (offsets go to the `.gdbtablx` as
//! rows come, the header and extent are written last), and rows added to or replaced
//! in an existing small table (the system tables) by appending them.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::table::{self, HEADER_LEN, Header, Offsets, TableDef};
use crate::error::{Error, Result, io};

/// Bytes per row offset in the tables gp writes: tables up to 1 TB.
const OFFSET_SIZE: usize = 5;

fn bad(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        format: "File Geodatabase",
        message,
    }
}

/// A new table, written row by row.
pub(crate) struct TableWriter {
    path: PathBuf,
    table: BufWriter<File>,
    tablx: BufWriter<File>,
    tablx_path: PathBuf,
    def: TableDef,
    fields_len: usize,
    pos: u64,
    rows: u32,
    max_row: u32,
    extent: [f64; 4],
}

impl TableWriter {
    /// Starts the table at `table_path` and `tablx_path` (new empty files).
    pub(crate) fn create(table_path: &Path, tablx_path: &Path, def: TableDef) -> Result<Self> {
        let open = |p: &Path| {
            gp_fs::create_file(p)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(io("creating", p))
        };
        let (mut t, mut x) = (open(table_path)?, open(tablx_path)?);
        let mut head = Vec::new();
        table::put_header(
            &mut head,
            &Header {
                valid_rows: 0,
                max_row: 0,
                file_size: 0,
                fields_at: HEADER_LEN as u64,
            },
        );
        table::put_fields(&mut head, &def).map_err(|m| bad(table_path, m))?;
        let fields_len = head.len() - HEADER_LEN;
        t.write_all(&head).map_err(io("writing", table_path))?;
        let mut xh = Vec::new();
        table::put_offsets_header(&mut xh, 0, 0, OFFSET_SIZE as u32);
        x.write_all(&xh).map_err(io("writing", tablx_path))?;
        Ok(TableWriter {
            path: table_path.to_path_buf(),
            table: t,
            tablx: x,
            tablx_path: tablx_path.to_path_buf(),
            def,
            fields_len,
            pos: head.len() as u64,
            rows: 0,
            max_row: 0,
            extent: [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ],
        })
    }

    /// Appends one row record (length, flags, values) with its geometry's box.
    pub(crate) fn push(&mut self, record: &[u8], bbox: Option<[f64; 4]>) -> Result<()> {
        if self.pos >= 1 << (8 * OFFSET_SIZE) {
            return Err(bad(&self.path, "the table passed 1 TB".into()));
        }
        self.rows = self
            .rows
            .checked_add(1)
            .filter(|n| *n < i32::MAX as u32)
            .ok_or_else(|| {
                bad(
                    &self.path,
                    "more rows than a table with 32-bit object ids holds".into(),
                )
            })?;
        self.tablx
            .write_all(&self.pos.to_le_bytes()[..OFFSET_SIZE])
            .map_err(io("writing", &self.tablx_path))?;
        self.table
            .write_all(record)
            .map_err(io("writing", &self.path))?;
        self.pos += record.len() as u64;
        self.max_row = self.max_row.max(record.len().saturating_sub(4) as u32);
        if let Some(b) = bbox {
            self.extent = [
                self.extent[0].min(b[0]),
                self.extent[1].min(b[1]),
                self.extent[2].max(b[2]),
                self.extent[3].max(b[3]),
            ];
        }
        Ok(())
    }

    /// Completes both files: the extent and spatial index grid in the field
    /// descriptions, the header, the index's padding and trailer. With `sync`, the
    /// data is on disk when this returns.
    pub(crate) fn finish(mut self, sync: bool) -> Result<TableDef> {
        let e = self.extent;
        let empty = !(e[0] <= e[2] && e[1] <= e[3]);
        for f in &mut self.def.fields {
            if let Some(g) = f.geom.as_mut() {
                g.extent = if empty { [f64::NAN; 4] } else { e };
                if g.grids.len() == 1 {
                    g.grids = vec![grid_size(&e, self.rows, empty)];
                }
            }
        }
        let mut head = Vec::new();
        table::put_header(
            &mut head,
            &Header {
                valid_rows: self.rows,
                max_row: self.max_row.max(self.fields_len as u32 - 4),
                file_size: self.pos,
                fields_at: HEADER_LEN as u64,
            },
        );
        table::put_fields(&mut head, &self.def).map_err(|m| bad(&self.path, m))?;
        if head.len() != HEADER_LEN + self.fields_len {
            return Err(bad(
                &self.path,
                "internal error: the field descriptions changed size".into(),
            ));
        }
        let mut t = self.table.into_inner().map_err(|e| Error::Io {
            action: "writing",
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        t.seek(SeekFrom::Start(0))
            .map_err(io("writing", &self.path))?;
        t.write_all(&head).map_err(io("writing", &self.path))?;
        let blocks = (self.rows as usize).div_ceil(1024);
        let pad = blocks * 1024 - self.rows as usize;
        self.tablx
            .write_all(&vec![0u8; pad * OFFSET_SIZE])
            .map_err(io("writing", &self.tablx_path))?;
        let mut tail = Vec::new();
        table::put_offsets_trailer(&mut tail, blocks as u32);
        self.tablx
            .write_all(&tail)
            .map_err(io("writing", &self.tablx_path))?;
        let mut x = self.tablx.into_inner().map_err(|e| Error::Io {
            action: "writing",
            path: self.tablx_path.clone(),
            source: e.into_error(),
        })?;
        let mut xh = Vec::new();
        table::put_offsets_header(&mut xh, blocks as u32, self.rows, OFFSET_SIZE as u32);
        x.seek(SeekFrom::Start(0))
            .map_err(io("writing", &self.tablx_path))?;
        x.write_all(&xh).map_err(io("writing", &self.tablx_path))?;
        if sync {
            t.sync_all().map_err(io("flushing", &self.path))?;
            x.sync_all().map_err(io("flushing", &self.tablx_path))?;
        }
        Ok(self.def)
    }
}

/// A spatial index grid size for the extent: about 16 cells across the larger
/// side, as a power of ten times 1, 2 or 5 (ArcGIS recomputes it when it builds an
/// index; no `.spx` is written).
fn grid_size(e: &[f64; 4], rows: u32, empty: bool) -> f64 {
    let side = if empty {
        0.0
    } else {
        (e[2] - e[0]).max(e[3] - e[1])
    };
    if !(side.is_finite() && side > 0.0) || rows == 0 {
        return 1.0;
    }
    let raw = side / 16.0;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * p)
        .find(|v| *v >= raw)
        .unwrap_or(10.0 * p)
}

/// Reads a whole (small) table and its index.
pub(crate) fn read_whole(table_path: &Path) -> Result<(Vec<u8>, Offsets)> {
    let bytes = std::fs::read(table_path).map_err(io("reading", table_path))?;
    let xp = table_path.with_extension("gdbtablx");
    let xb = std::fs::read(&xp).map_err(io("reading", &xp))?;
    let offsets = Offsets::parse(&xb).map_err(|m| bad(&xp, m))?;
    Ok((bytes, offsets))
}

/// Writes `table_path`'s table with `records` added (object id `None`: a new row
/// after the last) or replacing rows (`Some(oid)`; the old record stays in the file,
/// unreferenced) into `out_table` and `out_tablx`. Everything else in the file is
/// kept byte for byte. Returns the object ids given to the new rows.
pub(crate) fn with_rows(
    table_path: &Path,
    records: &[(Option<u64>, Vec<u8>)],
    out_table: &Path,
    out_tablx: &Path,
    sync: bool,
) -> Result<Vec<u64>> {
    let (mut bytes, offsets) = read_whole(table_path)?;
    let h = table::parse_header(&bytes, bytes.len() as u64).map_err(|m| bad(table_path, m))?;
    let mut all: Vec<u64> = (0..offsets.rows).map(|i| offsets.get(i)).collect();
    let mut valid = h.valid_rows;
    let mut max_row = h.max_row;
    let mut ids = Vec::new();
    for (oid, rec) in records {
        let at = bytes.len() as u64;
        bytes.extend_from_slice(rec);
        max_row = max_row.max(rec.len().saturating_sub(4) as u32);
        match oid {
            Some(o) if *o >= 1 && *o <= all.len() as u64 => {
                if all[*o as usize - 1] == 0 {
                    valid += 1;
                }
                all[*o as usize - 1] = at;
            }
            Some(o) if *o > all.len() as u64 && *o < u64::from(u32::MAX) => {
                all.resize(*o as usize - 1, 0);
                all.push(at);
                valid += 1;
                ids.push(*o);
            }
            _ => {
                all.push(at);
                valid += 1;
                ids.push(all.len() as u64);
            }
        }
    }
    bytes[4..8].copy_from_slice(&valid.to_le_bytes());
    bytes[8..12].copy_from_slice(&max_row.to_le_bytes());
    let size = bytes.len() as u64;
    bytes[24..32].copy_from_slice(&size.to_le_bytes());
    let osize = if size >= 1 << 32 {
        OFFSET_SIZE
    } else {
        offsets.size.max(4)
    };
    let mut x = Vec::new();
    table::put_offsets(&mut x, &all, osize);
    for (p, b) in [(out_table, &bytes), (out_tablx, &x)] {
        let mut f = gp_fs::create_file(p).map_err(io("creating", p))?;
        f.write_all(b).map_err(io("writing", p))?;
        if sync {
            f.sync_all().map_err(io("flushing", p))?;
        }
    }
    Ok(ids)
}
