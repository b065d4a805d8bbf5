//! The packed R-tree of a FlatGeobuf file, in the `flatgeobuf` crate's layout, and the
//! Hilbert order of the features it indexes.

use flatgeobuf::packed_r_tree::NodeItem;
use rayon::iter::{
    IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator,
};
use rayon::slice::ParallelSliceMut;

use crate::fgb_spool::write_at;

/// Leaves per task of [`write_index`] and features per task of [`gather_sorted`] (a
/// multiple of the index node size).
pub(crate) const CHUNK_LEAVES: usize = 16 * 512;

/// Appends one index node: 4 little-endian f64 bounds and a u64 offset.
pub(crate) fn put_node(out: &mut Vec<u8>, b: [f64; 4], offset: u64) {
    for v in b {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&offset.to_le_bytes());
}

/// Writes the packed R-tree over `n` leaves into `out` at byte `at`, exactly as the
/// `flatgeobuf` crate's `PackedRTree` builds and writes it: levels of `node_size`
/// children, root first, each node 4 little-endian f64 bounds and a u64 offset (the
/// first child's node index, or for a leaf the feature's byte offset in the data
/// section). Leaf `k` (in data order) has bounds `bounds(k)` and a feature of `size(k)`
/// bytes. The leaves and their parents are made in parallel tasks of `chunk` leaves
/// (rounded to a multiple of `node_size`), each writing its leaves at their place;
/// only the levels above the leaves (a fifteenth of the nodes) are held. Returns the
/// data offset of each task's first feature and the index size in bytes.
pub(crate) fn write_index(
    n: usize,
    bounds: impl Fn(usize) -> [f64; 4] + Sync,
    size: impl Fn(usize) -> u64 + Sync,
    node_size: usize,
    chunk: usize,
    out: &std::fs::File,
    at: u64,
) -> std::io::Result<(Vec<u64>, u64)> {
    let node_size = node_size.max(2);
    let chunk = (chunk / node_size).max(1) * node_size;
    // Nodes per level, leaves first; a tree always has a level above its leaves.
    let mut sizes = vec![n];
    let mut m = n;
    loop {
        m = m.div_ceil(node_size);
        sizes.push(m);
        if m <= 1 {
            break;
        }
    }
    // Where each level starts in the stored node array (the root is node 0).
    let total: usize = sizes.iter().sum();
    let mut starts = Vec::with_capacity(sizes.len());
    let mut from = total;
    for s in &sizes {
        from -= s;
        starts.push(from);
    }
    let chunks = n.div_ceil(chunk);
    let task = |c: usize| c * chunk..((c + 1) * chunk).min(n);
    let sums: Vec<u64> = (0..chunks)
        .into_par_iter()
        .map(|c| task(c).map(&size).sum())
        .collect();
    let mut chunk_at = Vec::with_capacity(chunks);
    let mut data_at = 0u64;
    for s in sums {
        chunk_at.push(data_at);
        data_at += s;
    }
    let leaves_at = at + starts[0] as u64 * 40;
    let level1: Vec<Vec<NodeItem>> = (0..chunks)
        .into_par_iter()
        .map_init(Vec::new, |buf: &mut Vec<u8>, c| {
            buf.clear();
            let leaves = task(c);
            let mut parents = Vec::with_capacity(leaves.len().div_ceil(node_size));
            let mut offset = chunk_at[c];
            for k in leaves.clone() {
                if (k - leaves.start) % node_size == 0 {
                    parents.push(NodeItem::create((starts[0] + k) as u64));
                }
                let b = bounds(k);
                if let Some(p) = parents.last_mut() {
                    p.expand(&NodeItem::bounds(b[0], b[1], b[2], b[3]));
                }
                put_node(buf, b, offset);
                offset += size(k);
            }
            write_at(out, buf, leaves_at + leaves.start as u64 * 40)?;
            Ok(parents)
        })
        .collect::<std::io::Result<_>>()?;
    let mut upper: Vec<Vec<NodeItem>> = vec![level1.concat()];
    for level in 1..sizes.len() - 1 {
        let parents: Vec<NodeItem> = upper[level - 1]
            .chunks(node_size)
            .enumerate()
            .map(|(j, children)| {
                let mut p = NodeItem::create((starts[level] + j * node_size) as u64);
                children.iter().for_each(|c| p.expand(c));
                p
            })
            .collect();
        upper.push(parents);
    }
    let mut head = Vec::with_capacity(starts[0] * 40);
    for level in upper.iter().rev() {
        for nd in level {
            put_node(
                &mut head,
                [nd.min_x, nd.min_y, nd.max_x, nd.max_y],
                nd.offset,
            );
        }
    }
    write_at(out, &head, at)?;
    Ok((chunk_at, total as u64 * 40))
}

/// The features' order along a Hilbert curve of their boxes' centres over `extent`:
/// the order of the `flatgeobuf` crate's `hilbert_sort` (and GDAL's), highest index
/// first, ties in arrival order (any order gives a correct index, this one a compact
/// one). The key (inverted, for the descending order) and the arrival index are one
/// integer, so the parallel unstable sort gives that order.
pub(crate) fn hilbert_order(boxes: &[[f64; 4]], extent: &[f64; 4]) -> Vec<u32> {
    let (w, h) = (extent[2] - extent[0], extent[3] - extent[1]);
    // As the crate computes it (a zero width gives NaN, which becomes 0).
    let cell = |lo: f64, hi: f64, min: f64, size: f64| {
        (65535.0 * ((lo + hi) / 2.0 - min) / size).floor() as u32
    };
    let mut keyed: Vec<u64> = boxes
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            let key = crate::rtree::hilbert(
                cell(b[0], b[2], extent[0], w),
                cell(b[1], b[3], extent[1], h),
            );
            (u64::from(!key) << 32) | i as u64
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.par_iter().map(|&k| k as u32).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn packed_rtree_is_written_as_the_flatgeobuf_crate_writes_it() {
        use flatgeobuf::packed_r_tree::{NodeItem, PackedRTree, calc_extent};
        for n in [1usize, 2, 15, 16, 17, 255, 256, 257, 1000, 4097] {
            let leaves: Vec<NodeItem> = (0..n)
                .map(|i| {
                    let x = ((i * 7919) % 1000) as f64;
                    let y = ((i * 104_729) % 997) as f64;
                    let mut nd = NodeItem::bounds(x, y, x + (i % 5) as f64, y + 1.0);
                    nd.offset = (i * 100) as u64;
                    nd
                })
                .collect();
            let mut want = Vec::new();
            PackedRTree::build(&leaves, &calc_extent(&leaves), 16)
                .unwrap()
                .stream_write(&mut want)
                .unwrap();
            // In tasks of one node, three nodes and one task for all.
            for chunk in [16, 48, 8192] {
                let out = tempfile::NamedTempFile::new().unwrap();
                let (chunk_at, len) = super::write_index(
                    n,
                    |k| {
                        let l = &leaves[k];
                        [l.min_x, l.min_y, l.max_x, l.max_y]
                    },
                    |_| 100,
                    16,
                    chunk,
                    out.as_file(),
                    3,
                )
                .unwrap();
                let got = std::fs::read(out.path()).unwrap();
                assert_eq!(got.len() as u64, 3 + len, "{n} leaves");
                assert_eq!(&got[3..], &want[..], "{n} leaves, tasks of {chunk}");
                let firsts: Vec<u64> = (0..n).step_by(chunk).map(|k| k as u64 * 100).collect();
                assert_eq!(chunk_at, firsts);
            }
        }
    }

    #[test]
    fn features_go_in_the_order_of_the_crates_hilbert_sort() {
        use flatgeobuf::packed_r_tree::{NodeItem, calc_extent, hilbert_sort};
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for (n, spread) in [(1usize, 1.0), (500, 1.0), (5000, 360.0), (3000, 1e-9)] {
            // Some duplicates, so that ties are ordered too.
            let boxes: Vec<[f64; 4]> = (0..n)
                .map(|i| {
                    if i % 10 == 9 {
                        return [0.25 * spread, 0.5 * spread, 0.25 * spread, 0.5 * spread];
                    }
                    let (x, y) = (next() * spread - spread / 2.0, next() * spread);
                    [x, y, x + next() * spread / 50.0, y + next() * spread / 50.0]
                })
                .collect();
            let mut items: Vec<NodeItem> = boxes
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let mut nd = NodeItem::bounds(b[0], b[1], b[2], b[3]);
                    nd.offset = i as u64;
                    nd
                })
                .collect();
            let extent = calc_extent(&items);
            hilbert_sort(&mut items, &extent);
            let want: Vec<u32> = items.iter().map(|nd| nd.offset as u32).collect();
            let ext = [extent.min_x, extent.min_y, extent.max_x, extent.max_y];
            assert_eq!(super::hilbert_order(&boxes, &ext), want, "{n} boxes");
        }
    }
}
