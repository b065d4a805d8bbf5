//! The spool of encoded FlatGeobuf features and the copies out of it in the index's
//! order: from a temporary file in windows and blocks, or from memory in parallel.

use std::io::{BufWriter, Write};
use std::path::Path;

use rayon::iter::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};

/// Bytes of the output's data section assembled per pass.
pub(crate) const WINDOW: u64 = 16 << 20;
/// At most this many windows (bucket files): larger outputs get larger windows.
pub(crate) const MAX_WINDOWS: u64 = 256;
/// Bytes read from the spool at a time.
pub(crate) const BLOCK: usize = 4 << 20;
/// Bytes of the data section each task of [`gather_sorted`] assembles and writes.
pub(crate) const SEGMENT: usize = 1 << 20;

/// An error for a temporary file that holds fewer bytes than were written to it.
pub(crate) fn short_spool() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "a temporary file is shorter than written",
    )
}

/// Writes all of `buf` at byte `at` of `file`, without moving a shared cursor, so
/// threads can write their own parts of one file.
#[cfg(unix)]
pub(crate) fn write_at(file: &std::fs::File, buf: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, at)
}

/// Writes all of `buf` at byte `at` of `file` (see the Unix version).
#[cfg(windows)]
pub(crate) fn write_at(file: &std::fs::File, mut buf: &[u8], mut at: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, at)? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => {
                buf = &buf[n..];
                at += n as u64;
            }
        }
    }
    Ok(())
}

/// Reads the spooled features (feature `i` = spool bytes `starts[i]..starts[i + 1]`,
/// in spool order) in large sequential blocks and calls `each(i, bytes)` for those
/// where `want(i)`, in spool order.
pub(crate) fn scan_spool(
    spool: &mut std::fs::File,
    starts: &[u64],
    block_size: usize,
    want: impl Fn(usize) -> bool,
    mut each: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut block = vec![0u8; block_size.max(1)];
    // The spool bytes currently in `block`: [block_start, block_end).
    let (mut block_start, mut block_end) = (0u64, 0u64);
    for (i, w) in starts.windows(2).enumerate() {
        if !want(i) {
            continue;
        }
        let (off, end) = (w[0], w[1]);
        if off < block_start || end > block_end {
            // Refill from this feature's start (features are in spool order).
            spool.seek(SeekFrom::Start(off))?;
            let n = block_size.max((end - off) as usize);
            block.resize(n, 0);
            let mut got = 0;
            while got < n {
                match spool.read(&mut block[got..n])? {
                    0 => break,
                    k => got += k,
                }
            }
            (block_start, block_end) = (off, off + got as u64);
            if end > block_end {
                return Err(short_spool());
            }
        }
        each(
            i,
            &block[(off - block_start) as usize..(end - block_start) as usize],
        )?;
    }
    Ok(())
}

/// A temporary file for the features that do not fit in memory, in the folder of the
/// output (`path`), where the output's own room is, rather than in the system's
/// temporary folder, which may be small or held in memory. Named, so the copy at the
/// end can open its own handles; hidden, and removed when dropped.
pub(crate) fn spill_file(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".gp-spill-")
        .tempfile_in(dir)
}

/// Windows up to which [`copy_sorted`] reads the spool once per window (in
/// parallel); beyond, it deals features into bucket files in one pass.
pub(crate) const DIRECT_WINDOWS: usize = 8;

/// Copies the spooled features (see [`scan_spool`] for `starts`) into the file at
/// `out` from byte `start`, in the sorted order given by `final_at[i]` (the byte offset
/// of feature `i` in the data section). The data section is assembled in windows
/// ending at `window_ends` (on feature boundaries; see [`window_ends`]), so memory is
/// bounded by a window per thread. With few windows, each thread reads the spool once
/// per window (reads from the page cache are cheap) and writes its window at its place;
/// with many, one pass deals each feature into its window's bucket file and each bucket
/// is read back once, so the work stays linear in the size of the data.
pub(crate) fn copy_sorted(
    spool: &tempfile::NamedTempFile,
    starts: &[u64],
    final_at: &[u64],
    window_ends: &[u64],
    out: &std::fs::File,
    start: u64,
    block_size: usize,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let window_of = |i: usize| window_ends.partition_point(|&e| e <= final_at[i]);
    if window_ends.len() <= DIRECT_WINDOWS {
        return window_ends.par_iter().enumerate().try_for_each(|(w, &we)| {
            let ws = if w == 0 { 0 } else { window_ends[w - 1] };
            let mut window = vec![0u8; (we - ws) as usize];
            let mut spool = spool.reopen()?;
            scan_spool(
                &mut spool,
                starts,
                block_size,
                |i| window_of(i) == w,
                |i, src| {
                    let dst = (final_at[i] - ws) as usize;
                    window[dst..dst + src.len()].copy_from_slice(src);
                    Ok(())
                },
            )?;
            write_at(out, &window, start + ws)
        });
    }
    let n = starts.len().saturating_sub(1);
    // The features of each window, in spool order (a counting sort by window).
    let mut first = vec![0usize; window_ends.len() + 1];
    for i in 0..n {
        first[window_of(i) + 1] += 1;
    }
    for w in 0..window_ends.len() {
        first[w + 1] += first[w];
    }
    let mut members = vec![0u32; n];
    let mut fill = first.clone();
    for i in 0..n {
        let w = window_of(i);
        members[fill[w]] = i as u32;
        fill[w] += 1;
    }
    drop(fill);
    let mut buckets = window_ends
        .iter()
        .map(|_| {
            // Beside the spool (see `spill_file`).
            let dir = spool.path().parent().unwrap_or(Path::new("."));
            tempfile::tempfile_in(dir).map(|f| BufWriter::with_capacity(256 << 10, f))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    scan_spool(
        &mut spool.reopen()?,
        starts,
        block_size,
        |_| true,
        |i, src| buckets[window_of(i)].write_all(src),
    )?;
    let (mut bytes, mut window) = (Vec::new(), Vec::new());
    let mut ws = 0u64;
    for (w, bucket) in buckets.into_iter().enumerate() {
        let we = window_ends[w];
        let mut f = bucket.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        bytes.clear();
        f.read_to_end(&mut bytes)?;
        drop(f);
        window.clear();
        window.resize((we - ws) as usize, 0);
        let mut at = 0usize;
        for &i in &members[first[w]..first[w + 1]] {
            let i = i as usize;
            let len = (starts[i + 1] - starts[i]) as usize;
            let src = bytes.get(at..at + len).ok_or_else(short_spool)?;
            let dst = (final_at[i] - ws) as usize;
            window[dst..dst + len].copy_from_slice(src);
            at += len;
        }
        write_at(out, &window, start + ws)?;
        ws = we;
    }
    Ok(())
}

/// Copies the features, all in memory (feature `i` being bytes
/// `data[starts[i]..starts[i + 1]]`), into `out` from byte `start` in `order`, in
/// parallel tasks of `chunk` features each (the first of task `c` going to data offset
/// `chunk_at[c]`, see [`write_index`]), each writing its bytes at their place in pieces
/// of about `segment` bytes.
#[allow(clippy::too_many_arguments)] // reason: one call site and a test; a struct would only rename them
pub(crate) fn gather_sorted(
    data: &[u8],
    starts: &[u64],
    order: &[u32],
    chunk: usize,
    chunk_at: &[u64],
    out: &std::fs::File,
    start: u64,
    segment: usize,
) -> std::io::Result<()> {
    let chunk = chunk.max(1);
    chunk_at
        .par_iter()
        .enumerate()
        .try_for_each_init(Vec::new, |buf: &mut Vec<u8>, (c, &c_at)| {
            buf.clear();
            let mut at = start + c_at;
            let end = ((c + 1) * chunk).min(order.len());
            for &i in order.get(c * chunk..end).unwrap_or_default() {
                let (s, e) = (starts[i as usize], starts[i as usize + 1]);
                let bytes = data.get(s as usize..e as usize).ok_or_else(short_spool)?;
                if !buf.is_empty() && buf.len() + bytes.len() > segment {
                    write_at(out, buf, at)?;
                    at += buf.len() as u64;
                    buf.clear();
                }
                buf.extend_from_slice(bytes);
            }
            write_at(out, buf, at)
        })
}

/// Where the windows of [`copy_sorted`] end: after whole features (sizes in output
/// order), each window at most `window` bytes unless one feature is larger.
pub(crate) fn window_ends(sizes_in_order: impl Iterator<Item = u64>, window: u64) -> Vec<u64> {
    let mut ends = Vec::new();
    let (mut start, mut at) = (0u64, 0u64);
    for n in sizes_in_order {
        if at > start && at + n - start > window {
            ends.push(at);
            start = at;
        }
        at += n;
    }
    if at > start {
        ends.push(at);
    }
    ends
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    /// A temporary file holding `head`, and a handle to write into it.
    fn headed() -> (tempfile::NamedTempFile, std::fs::File) {
        let out = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(out.path(), b"head").unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(out.path())
            .unwrap();
        (out, file)
    }

    #[test]
    fn sorted_copy_in_small_windows_and_blocks() {
        // Features of varied sizes, spooled in order, wanted in a shuffled order.
        let sizes: Vec<u32> = (0..500u32).map(|i| 1 + (i * 37) % 50).collect();
        let mut spool = tempfile::NamedTempFile::new().unwrap();
        let mut starts = vec![0u64];
        for (i, &n) in sizes.iter().enumerate() {
            spool.write_all(&vec![(i % 251) as u8; n as usize]).unwrap();
            starts.push(starts[i] + u64::from(n));
        }
        spool.flush().unwrap();
        let order: Vec<usize> = (0..sizes.len()).map(|k| (k * 211) % sizes.len()).collect();
        let mut final_at = vec![0u64; sizes.len()];
        let mut want = Vec::new();
        let mut at = 0u64;
        for &i in &order {
            final_at[i] = at;
            at += u64::from(sizes[i]);
            want.extend(vec![(i % 251) as u8; sizes[i] as usize]);
        }
        for (window, block) in [(1, 1), (7, 3), (100, 64), (1 << 20, 1 << 20)] {
            let ends = super::window_ends(order.iter().map(|&i| u64::from(sizes[i])), window);
            assert_eq!(ends.last().copied(), Some(at));
            let (out, file) = headed();
            super::copy_sorted(&spool, &starts, &final_at, &ends, &file, 4, block).unwrap();
            let got = std::fs::read(out.path()).unwrap();
            assert_eq!(&got[..4], b"head");
            assert_eq!(&got[4..], &want[..], "window {window}, block {block}");
        }
        // The same from memory.
        let data = std::fs::read(spool.path()).unwrap();
        let order: Vec<u32> = order.iter().map(|&i| i as u32).collect();
        for (chunk, segment) in [(1, 1), (7, 7), (16, 100), (1000, 100), (1000, 1 << 20)] {
            let chunk_at: Vec<u64> = (0..order.len())
                .step_by(chunk)
                .map(|k| {
                    order[..k]
                        .iter()
                        .map(|&i| u64::from(sizes[i as usize]))
                        .sum()
                })
                .collect();
            let (out, file) = headed();
            super::gather_sorted(&data, &starts, &order, chunk, &chunk_at, &file, 4, segment)
                .unwrap();
            let got = std::fs::read(out.path()).unwrap();
            assert_eq!(&got[..4], b"head");
            assert_eq!(
                &got[4..],
                &want[..],
                "tasks of {chunk}, pieces of {segment}"
            );
        }
    }
}
