//! Bulk-loading a SQLite R-tree (the GeoPackage spatial index).
//!
//! Inserting a million rows into SQLite's `rtree` module one by one takes seconds,
//! because every insert walks and splits nodes. Here the boxes are sorted along a
//! Hilbert curve, packed into full leaves, and the tree is built bottom-up and
//! written straight into the module's shadow tables (`<t>_node`, `<t>_rowid`,
//! `<t>_parent`) in the module's own node format: a 2-byte depth (root only), a
//! 2-byte cell count, then cells of a big-endian 64-bit id and four big-endian
//! 32-bit floats (minx, maxx, miny, maxy; minima rounded down, maxima up). SQLite's
//! `rtreecheck()` validates the result in the tests.

use rayon::slice::ParallelSliceMut;
use rusqlite::{Connection, params};

/// Cells per node, as SQLite sizes 2-D nodes (`RTREE_MAXCELLS`).
const MAX_CELLS: usize = 51;
/// Bytes per cell: id + 4 floats.
const CELL: usize = 8 + 4 * 4;
/// Node blob size SQLite uses for 2-D trees: 4 + 24 * 51.
const NODE: usize = 4 + CELL * MAX_CELLS;

fn down(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) > v { f.next_down() } else { f }
}

fn up(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) < v { f.next_up() } else { f }
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One node being built: its number and cells `(id, box)`.
struct Node<'a> {
    no: i64,
    /// Leaves borrow their cells from the sorted boxes; inner nodes own theirs.
    cells: std::borrow::Cow<'a, [(i64, [f64; 4])]>,
}

fn blob(cells: &[(i64, [f64; 4])], depth: u16) -> Vec<u8> {
    let mut b = vec![0u8; NODE];
    b[0..2].copy_from_slice(&depth.to_be_bytes());
    b[2..4].copy_from_slice(&(cells.len() as u16).to_be_bytes());
    for (i, (id, r)) in cells.iter().enumerate() {
        let o = 4 + i * CELL;
        b[o..o + 8].copy_from_slice(&id.to_be_bytes());
        b[o + 8..o + 12].copy_from_slice(&down(r[0]).to_be_bytes());
        b[o + 12..o + 16].copy_from_slice(&up(r[1]).to_be_bytes());
        b[o + 16..o + 20].copy_from_slice(&down(r[2]).to_be_bytes());
        b[o + 20..o + 24].copy_from_slice(&up(r[3]).to_be_bytes());
    }
    b
}

fn union(cells: &[(i64, [f64; 4])]) -> [f64; 4] {
    cells.iter().fold(
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ],
        |a, (_, b)| {
            [
                a[0].min(b[0]),
                a[1].max(b[1]),
                a[2].min(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

/// Loads `(id, [minx, maxx, miny, maxy])` boxes into the empty R-tree virtual table
/// `rtree` (just created, in the caller's transaction).
pub(crate) fn bulk_load(
    c: &Connection,
    rtree: &str,
    boxes: &mut [(i64, [f64; 4])],
) -> rusqlite::Result<()> {
    if boxes.is_empty() {
        return Ok(());
    }
    sort_spatially(boxes);
    // Leaves, then levels above, until one node remains: the root.
    let mut next_no = 2i64;
    let mut level: Vec<Node<'_>> = boxes
        .chunks(MAX_CELLS)
        .map(|ch| Node {
            no: 0,
            cells: ch.into(),
        })
        .collect();
    let mut levels: Vec<Vec<Node<'_>>> = Vec::new();
    while level.len() > 1 {
        for n in &mut level {
            n.no = next_no;
            next_no += 1;
        }
        let parents: Vec<Node<'_>> = level
            .chunks(MAX_CELLS)
            .map(|ch| Node {
                no: 0,
                cells: ch
                    .iter()
                    .map(|n| (n.no, union(&n.cells)))
                    .collect::<Vec<_>>()
                    .into(),
            })
            .collect();
        levels.push(level);
        level = parents;
    }
    let mut root = level.pop().unwrap_or(Node {
        no: 1,
        cells: Vec::new().into(),
    });
    root.no = 1;
    let depth = levels.len() as u16;
    let (node_t, rowid_t, parent_t) = (
        q(&format!("{rtree}_node")),
        q(&format!("{rtree}_rowid")),
        q(&format!("{rtree}_parent")),
    );
    let mut put_node = c.prepare(&format!(
        "INSERT OR REPLACE INTO {node_t} (nodeno, data) VALUES (?1, ?2)"
    ))?;
    let mut put_rowid = c.prepare(&format!(
        "INSERT INTO {rowid_t} (rowid, nodeno) VALUES (?1, ?2)"
    ))?;
    let mut put_parent = c.prepare(&format!(
        "INSERT INTO {parent_t} (nodeno, parentnode) VALUES (?1, ?2)"
    ))?;
    put_node.execute(params![1, blob(&root.cells, depth)])?;
    // The nodes of each level, with their parent: the root's children, then theirs.
    let mut parents_of: Vec<(i64, i64)> = Vec::new();
    if levels.is_empty() {
        for (id, _) in root.cells.iter() {
            put_rowid.execute(params![id, 1])?;
        }
        return Ok(());
    }
    for (id, _) in root.cells.iter() {
        parents_of.push((*id, 1));
    }
    // Rows of the rowid table in id order: appending to a B-tree is much cheaper than
    // inserting at random places.
    let mut rowids: Vec<(i64, i64)> = Vec::new();
    for (li, lvl) in levels.iter().enumerate().rev() {
        let leaf = li == 0;
        let mut next_parents = Vec::new();
        for n in lvl {
            put_node.execute(params![n.no, blob(&n.cells, 0)])?;
            if leaf {
                rowids.extend(n.cells.iter().map(|(id, _)| (*id, n.no)));
            } else {
                for (id, _) in n.cells.iter() {
                    next_parents.push((*id, n.no));
                }
            }
        }
        for (child, parent) in parents_of.drain(..) {
            put_parent.execute(params![child, parent])?;
        }
        parents_of = next_parents;
    }
    rowids.sort_unstable();
    // Many rows to a statement: a million single-row inserts cost more in SQLite's
    // statement machinery than in its B-tree.
    let rows: Vec<String> = (0..ROWID_ROWS)
        .map(|r| format!("(?{}, ?{})", 2 * r + 1, 2 * r + 2))
        .collect();
    let mut put_many = c.prepare(&format!(
        "INSERT INTO {rowid_t} (rowid, nodeno) VALUES {}",
        rows.join(", ")
    ))?;
    let mut chunks = rowids.chunks_exact(ROWID_ROWS);
    for chunk in &mut chunks {
        for (r, (id, no)) in chunk.iter().enumerate() {
            put_many.raw_bind_parameter(2 * r + 1, id)?;
            put_many.raw_bind_parameter(2 * r + 2, no)?;
        }
        put_many.raw_execute()?;
    }
    for (id, no) in chunks.remainder() {
        put_rowid.execute(params![id, no])?;
    }
    Ok(())
}

/// Rows of the rowid table inserted by one statement.
const ROWID_ROWS: usize = 64;

/// Sorts boxes along a Hilbert curve of their centres.
pub(crate) fn sort_spatially(boxes: &mut [(i64, [f64; 4])]) {
    if boxes.len() < 2 {
        return;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (_, b) in boxes.iter() {
        let (cx, cy) = ((b[0] + b[1]) / 2.0, (b[2] + b[3]) / 2.0);
        x0 = x0.min(cx);
        x1 = x1.max(cx);
        y0 = y0.min(cy);
        y1 = y1.max(cy);
    }
    let (w, h) = (
        (x1 - x0).max(f64::MIN_POSITIVE),
        (y1 - y0).max(f64::MIN_POSITIVE),
    );
    let key = |b: &[f64; 4]| {
        let x = (((b[0] + b[1]) / 2.0 - x0) / w * 65535.0) as u32;
        let y = (((b[2] + b[3]) / 2.0 - y0) / h * 65535.0) as u32;
        hilbert(x, y)
    };
    boxes.par_sort_by_cached_key(|(_, b)| key(b));
}

/// The index of (x, y) along a Hilbert curve over a 2^16 × 2^16 grid (the bits above
/// 16 are ignored), without branches: the public-domain algorithm of
/// rawrunprotected/hilbert_curves, which GDAL and the `flatgeobuf` crate use, so the
/// order is theirs (tested against the crate's sort). The curve's orientation at
/// each of the 16 levels is carried down from the top by prefix steps over all levels
/// at once (shifts of 1, 2, 4, 8), then the index's two bits per level are
/// interleaved.
pub(crate) fn hilbert(x: u32, y: u32) -> u32 {
    const M: u32 = 0xFFFF;
    let (x, y) = (x & M, y & M);
    // One level's step, from the level's quadrant.
    let (a0, c0, d0) = (x ^ y, M ^ (x | y), x & (y ^ M));
    let b0 = M ^ a0;
    let mut a = a0 | (b0 >> 1);
    let mut b = (a0 >> 1) ^ a0;
    let mut c = ((c0 >> 1) ^ (b0 & (d0 >> 1))) ^ c0;
    let mut d = ((a0 & (c0 >> 1)) ^ (d0 >> 1)) ^ d0;
    // Composed with the steps of 2, 4 and 8 levels above.
    for s in [2, 4, 8] {
        let (c1, d1) = (
            c ^ (a & (c >> s)) ^ (b & (d >> s)),
            d ^ (b & (c >> s)) ^ ((a ^ b) & (d >> s)),
        );
        (a, b) = (
            (a & (a >> s)) ^ (b & (b >> s)),
            (a & (b >> s)) ^ (b & ((a ^ b) >> s)),
        );
        (c, d) = (c1, d1);
    }
    let (a, b) = (c ^ (c >> 1), d ^ (d >> 1));
    let low = x ^ y;
    let high = b | (M ^ (low | a));
    (spread(high) << 1) | spread(low)
}

/// The 16 low bits of `v` moved to the even bits.
fn spread(v: u32) -> u32 {
    let v = (v | (v << 8)) & 0x00FF_00FF;
    let v = (v | (v << 4)) & 0x0F0F_0F0F;
    let v = (v | (v << 2)) & 0x3333_3333;
    (v | (v << 1)) & 0x5555_5555
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: usize) {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE VIRTUAL TABLE rt USING rtree(id, minx, maxx, miny, maxy)")
            .unwrap();
        let mut boxes: Vec<(i64, [f64; 4])> = (0..n)
            .map(|i| {
                let (x, y) = (
                    (i * 7919 % 1000) as f64 * 0.37,
                    (i * 104_729 % 1000) as f64 * 0.11,
                );
                (i as i64 + 1, [x, x + 0.5, y, y + 0.25])
            })
            .collect();
        bulk_load(&c, "rt", &mut boxes).unwrap();
        let ok: String = c
            .query_row("SELECT rtreecheck('rt')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{n} boxes");
        let count: i64 = c
            .query_row("SELECT count(*) FROM rt", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, n as i64);
        // A window query finds exactly the boxes that intersect it.
        let (qx0, qx1, qy0, qy1) = (10.0, 60.0, 5.0, 40.0);
        let want = boxes
            .iter()
            .filter(|(_, b)| b[0] <= qx1 && b[1] >= qx0 && b[2] <= qy1 && b[3] >= qy0)
            .count();
        let got: i64 = c
            .query_row("SELECT count(*) FROM rt WHERE maxx >= ?1 AND minx <= ?2 AND maxy >= ?3 AND miny <= ?4", params![qx0, qx1, qy0, qy1], |r| r.get(0))
            .unwrap();
        assert_eq!(got as usize, want, "{n} boxes");
        // The module keeps working on the loaded tree.
        c.execute("INSERT INTO rt VALUES (?1, 0, 1, 0, 1)", [n as i64 + 10])
            .unwrap();
        c.execute("DELETE FROM rt WHERE id = 1", []).unwrap();
        let ok: String = c
            .query_row("SELECT rtreecheck('rt')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{n} boxes after edits");
    }

    #[test]
    fn bulk_loaded_trees_pass_sqlites_check() {
        for n in [1, 2, 50, 51, 52, 2601, 2602, 10_000] {
            check(n);
        }
    }
}
