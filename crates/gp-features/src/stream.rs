//! Streaming Esri JSON reading: the header keys are parsed once, then the `features`
//! array is cut into one slice per feature by a small byte scanner and each slice is
//! parsed on its own, so memory stays bounded by one read buffer, whatever the file
//! size. Feature slices are parsed in parallel batches (rayon), in order.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gp_model::{Dims, Feature, FeatureSet, feature_from_slice};
use rayon::prelude::*;

use crate::error::{Result, fmt_err, io};
use crate::flat::{FlatBatch, FlatSchema};
use crate::sink::{Encoded, Encoder, FeatureSink};

/// An incremental scanner for the end of one JSON value. Objects count braces and
/// arrays count brackets (the other pair cannot be unbalanced outside strings), so
/// memchr can jump between the few bytes that matter.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    depth: u32,
    open: u8,
    close: u8,
    in_str: bool,
    esc: bool,
    scalar: bool,
    started: bool,
}

impl Scan {
    /// Feeds bytes; returns the index just past the value's end when it is in `b`.
    fn feed(&mut self, b: &[u8]) -> Option<usize> {
        let mut i = 0;
        if !self.started {
            i = b.iter().position(|c| !c.is_ascii_whitespace())?;
            self.started = true;
            match b[i] {
                c @ (b'{' | b'[') => {
                    self.depth = 1;
                    self.open = c;
                    self.close = if c == b'{' { b'}' } else { b']' };
                }
                b'"' => self.in_str = true,
                _ => self.scalar = true,
            }
            i += 1;
        }
        if self.scalar {
            return b[i..]
                .iter()
                .position(|&c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())
                .map(|k| i + k);
        }
        loop {
            if self.in_str {
                if self.esc {
                    if i >= b.len() {
                        return None;
                    }
                    self.esc = false;
                    i += 1;
                }
                let k = memchr::memchr2(b'"', b'\\', &b[i..])?;
                i += k;
                if b[i] == b'\\' {
                    self.esc = true;
                    i += 1;
                    continue;
                }
                self.in_str = false;
                i += 1;
                if self.depth == 0 {
                    return Some(i);
                }
                continue;
            }
            let k = memchr::memchr3(b'"', self.open, self.close, &b[i..])?;
            i += k;
            let c = b[i];
            i += 1;
            if c == b'"' {
                self.in_str = true;
            } else if c == self.open {
                self.depth += 1;
            } else {
                self.depth -= 1;
                if self.depth == 0 {
                    return Some(i);
                }
            }
        }
    }
}

/// A buffered reader with the few primitives the top-level walk needs.
struct Buf<R: Read> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

const CHUNK: usize = 256 << 10;
/// Bytes read at a time into the features array: a batch, so they bound the memory
/// of the batches in flight (read, parsed and encoded, being written).
const BATCH: usize = 512 << 10;

impl<R: Read> Buf<R> {
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let mut got = 0;
        while got < CHUNK {
            match self.r.read(&mut self.buf[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(old + got);
        Ok(got > 0)
    }

    /// The next non-whitespace byte (not consumed).
    fn peek(&mut self) -> std::io::Result<Option<u8>> {
        loop {
            while self.pos < self.buf.len() {
                let c = self.buf[self.pos];
                if !c.is_ascii_whitespace() {
                    return Ok(Some(c));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Scans one value; returns its byte range in `self.buf` (valid until the next
    /// fill). The value is kept whole in the buffer: use it for single values, not
    /// for the features array.
    fn value(&mut self) -> std::io::Result<Option<(usize, usize)>> {
        if self.peek()?.is_none() {
            return Ok(None);
        }
        let mut scan = Scan::default();
        let mut scanned = 0;
        loop {
            let from = self.pos + scanned;
            if let Some(k) = scan.feed(&self.buf[from..]) {
                return Ok(Some((self.pos, from + k)));
            }
            scanned = self.buf.len() - self.pos;
            if !self.fill()? {
                return Ok(scan.scalar.then_some((self.pos, self.buf.len())));
            }
        }
    }

    /// Skips one value without keeping it (for a features array of any size).
    fn skip(&mut self) -> std::io::Result<bool> {
        if self.peek()?.is_none() {
            return Ok(false);
        }
        let mut scan = Scan::default();
        loop {
            if let Some(k) = scan.feed(&self.buf[self.pos..]) {
                self.pos += k;
                return Ok(true);
            }
            self.pos = self.buf.len();
            if !self.fill()? {
                return Ok(scan.scalar);
            }
        }
    }
}

/// Streams an Esri JSON feature set from `path` into `sink`: its schema first, then
/// each feature in order. Returns the number of features and the schema. Reading and
/// parsing run on a second thread (parsing batches in parallel), overlapping with the
/// writing. A sink with an [`Encoder`] gets flat batches, parsed and encoded together
/// in parallel; others get features. `None` when the file cannot be streamed: a
/// schema key (`hasZ`, `fields`, ...) stands after the features array.
pub(crate) fn read_esri_json(
    path: &Path,
    sink: &mut dyn FeatureSink,
) -> Result<Option<(usize, FeatureSet)>> {
    let err = fmt_err(path, "Esri JSON");
    let (header, tail_checked) = match read_header(path, sink.needs_trailing_keys())? {
        Some(h) => h,
        None => return Err(err("no `features` array".into())),
    };
    let source = move |tx: &Sender, flag: &AtomicBool| produce(path, tx, tail_checked, Some(flag));
    let (n, exceeded) = match run_stream(path, sink, &header, source) {
        // A feature can fail only because a schema key after the array was not known
        // yet (`hasZ` for 3-value coordinates): then the file is read whole instead.
        Err(e) if !tail_checked => match read_header(path, true)? {
            Some((whole, _)) if !same_schema(&whole, &header) => return Ok(None),
            _ => return Err(e),
        },
        other => other?,
    };
    Ok(counted(n, header, exceeded))
}

/// Starts `sink` with `header` and streams the features `source` cuts (see
/// [`pipeline`]); `source` sets the flag when `exceededTransferLimit: true` follows
/// the features. Returns the count (see [`streamed`]) and that flag.
fn run_stream(
    path: &Path,
    sink: &mut dyn FeatureSink,
    header: &FeatureSet,
    source: impl FnOnce(&Sender, &AtomicBool) -> Result<bool> + Send,
) -> Result<(Option<usize>, bool)> {
    sink.start(header)?;
    let dims = Dims {
        has_z: header.has_z,
        has_m: header.has_m,
    };
    let exceeded = AtomicBool::new(header.exceeded_transfer_limit == Some(true));
    let flag = &exceeded;
    let n = streamed(path, sink, header, dims, move |tx: &Sender| {
        source(tx, flag)
    })?;
    Ok((n, exceeded.load(Ordering::Relaxed)))
}

/// The count and the schema, marked when the server cut the features short.
fn counted(
    n: Option<usize>,
    mut header: FeatureSet,
    exceeded: bool,
) -> Option<(usize, FeatureSet)> {
    if exceeded {
        header.exceeded_transfer_limit = Some(true);
    }
    n.map(|n| (n, header))
}

/// Streams an Esri JSON feature set read once from `r` (an HTTP body, a pipe) into
/// `sink`, as [`read_esri_json`] does from a file; `label` names the source in errors.
/// A GP result parameter (`{"paramName", "dataType", "value": {...}}`) is read through
/// to its `value`. A stream cannot be read twice, so `None` (nothing given to the
/// sink) when `geometryType` and `fields` do not both come before the features, or
/// when the sink needs the keys after them; `None` after the sink started when a
/// schema key follows the features (then the output must be dropped). The schema
/// returned has `exceeded_transfer_limit` set when the server said so after the
/// features.
pub(crate) fn read_esri_json_reader<R: Read + Send>(
    r: R,
    label: &Path,
    sink: &mut dyn FeatureSink,
) -> Result<Option<(usize, FeatureSet)>> {
    let err = fmt_err(label, "Esri JSON");
    let mut b = Buf {
        r,
        buf: Vec::with_capacity(CHUNK),
        pos: 0,
        eof: false,
    };
    expect(&mut b, b'{', label)?;
    let mut obj = String::from("{");
    let mut seen = std::collections::HashSet::new();
    let mut inside_value = false;
    loop {
        if b.peek().map_err(io("reading", label))? == Some(b'}') {
            return Err(err("no `features` array".into()));
        }
        let k = key(&mut b, label)?;
        if k == "features" {
            break;
        }
        if k == "value" && !inside_value && b.peek().map_err(io("reading", label))? == Some(b'{') {
            // A GP result: the feature set is the value; the keys so far were the
            // result's own.
            b.pos += 1;
            inside_value = true;
            obj.truncate(1);
            seen.clear();
            continue;
        }
        header_key(&mut b, k, &mut obj, &mut seen, label)?;
        match b.peek().map_err(io("reading", label))? {
            Some(b',') => b.pos += 1,
            Some(b'}') => return Err(err("no `features` array".into())),
            _ => return Err(err("the top-level object is malformed".into())),
        }
    }
    if seen.len() < 2 || sink.needs_trailing_keys() {
        return Ok(None);
    }
    obj.push('}');
    let header = FeatureSet::from_json(&obj).map_err(|e| err(e.to_string()))?;
    expect(&mut b, b'[', label)?;
    let source = move |tx: &Sender, flag: &AtomicBool| cut_array(b, label, tx, false, Some(flag));
    let (n, exceeded) = run_stream(label, sink, &header, source)?;
    Ok(counted(n, header, exceeded))
}

/// True when the keys that shape reading and writing are the same.
fn same_schema(a: &FeatureSet, b: &FeatureSet) -> bool {
    a.geometry_type == b.geometry_type
        && a.fields == b.fields
        && a.spatial_reference == b.spatial_reference
        && a.has_z == b.has_z
        && a.has_m == b.has_m
}

/// Cuts the `features` array of the JSON object in `path` (Esri JSON, or a GeoJSON
/// FeatureCollection) into feature texts on a reading thread and calls
/// `each(data, ranges, first)` for each batch on this one: `data[ranges[k]]` is feature
/// `first + k`.
pub(crate) fn for_each_batch(
    path: &Path,
    mut each: impl FnMut(&[u8], &[(usize, usize)], usize) -> Result<()>,
) -> Result<()> {
    pipeline(
        path,
        |tx: &Sender| produce(path, tx, true, None),
        |data, ranges, index| Ok((data.to_vec(), ranges.to_vec(), index)),
        |(data, ranges, index): (Vec<u8>, Vec<(usize, usize)>, usize)| {
            each(&data, &ranges, index)?;
            Ok(ranges.len())
        },
    )
    .map(|_| ())
}

/// The streaming run of [`read_esri_json`]: `source` sends the feature texts (see
/// [`pipeline`]); `path` names the input in errors.
fn streamed(
    path: &Path,
    sink: &mut dyn FeatureSink,
    header: &FeatureSet,
    dims: Dims,
    source: impl FnOnce(&Sender) -> Result<bool> + Send,
) -> Result<Option<usize>> {
    let err = fmt_err(path, "Esri JSON");
    Ok(match sink.encoder() {
        Some(enc) => {
            let schema = FlatSchema::new(header);
            let enc: &dyn Encoder = enc.as_ref();
            let keep = sink.reads_batches();
            let spare = std::sync::Mutex::new(Vec::new());
            let parse = |data: &[u8], ranges: &[(usize, usize)], index: usize| {
                let to = Flat {
                    schema: &schema,
                    dims,
                    enc,
                    spare: (!keep).then_some(&spare),
                    path,
                };
                parse_flat(data, ranges, index, &to)
            };
            pipeline(path, source, parse, |batches: Vec<(FlatBatch, Encoded)>| {
                let mut n = 0;
                for (b, e) in batches {
                    n += e.ends.len();
                    sink.encoded(&b, e)?;
                }
                Ok(n)
            })?
        }
        None => {
            let parse = |data: &[u8], ranges: &[(usize, usize)], index: usize| {
                ranges
                    .par_iter()
                    .enumerate()
                    .map(|(k, &(s, e))| {
                        feature_from_slice(&data[s..e], dims, index + k)
                            .map_err(|x| err(x.to_string()))
                    })
                    .collect::<Result<Vec<Feature>>>()
            };
            pipeline(path, source, parse, |b: Vec<Feature>| {
                b.iter().try_for_each(|f| sink.feature(f))?;
                Ok(b.len())
            })?
        }
    })
}

/// How [`parse_flat`] parses and encodes.
struct Flat<'a> {
    schema: &'a FlatSchema,
    dims: Dims,
    enc: &'a dyn Encoder,
    /// When the sink does not read the batches (see [`FeatureSink::reads_batches`]):
    /// emptied batches, whose buffers are used again (growing new ones costs copies).
    spare: Option<&'a std::sync::Mutex<Vec<FlatBatch>>>,
    path: &'a Path,
}

/// Parses and encodes the features `ranges` of `data` (the first being feature
/// `index`) in parallel, in slices of consecutive features, keeping their order.
/// With `to.spare`, each slice's batch goes back there once encoded and an empty
/// one is returned in its place.
fn parse_flat(
    data: &[u8],
    ranges: &[(usize, usize)],
    index: usize,
    to: &Flat<'_>,
) -> Result<Vec<(FlatBatch, Encoded)>> {
    let per = ranges
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(64);
    let take_spare = |first: usize| {
        let mut b = to
            .spare
            .and_then(|s| s.lock().ok()?.pop())
            .unwrap_or_else(|| FlatBatch::new(to.schema, first));
        b.reuse(first);
        b
    };
    ranges
        .par_chunks(per)
        .enumerate()
        .map(|(c, chunk)| {
            let first = index + c * per;
            let mut b = take_spare(first);
            for (k, &(s, e)) in chunk.iter().enumerate() {
                b.parse(to.schema, &data[s..e], to.dims, first + k, to.path)?;
            }
            // Room for about what the text took (the encodings come close to it), so
            // the output does not grow by copies.
            let text: usize = chunk.iter().map(|&(s, e)| e - s).sum();
            let mut out = Encoded::default();
            out.bytes.reserve(text + text / 4);
            out.ends.reserve(chunk.len());
            out.boxes.reserve(chunk.len());
            to.enc.encode(&b, &mut out)?;
            match to.spare {
                None => Ok((b, out)),
                Some(spare) => {
                    b.reuse(first);
                    if let Ok(mut s) = spare.lock() {
                        s.push(b);
                    }
                    Ok((FlatBatch::new(to.schema, first), out))
                }
            }
        })
        .collect()
}

/// Feature texts cut from the input: `data[ranges[k]]` is feature `index + k`.
struct Raw {
    data: Vec<u8>,
    ranges: Vec<(usize, usize)>,
    index: usize,
}

/// Where the reading stage sends the feature texts it cuts.
type Sender = std::sync::mpsc::SyncSender<Raw>;

/// Runs three stages at once: a reading thread (`source`) cuts the features array
/// into batches of feature texts; a parsing thread turns each into a `T` with `parse`
/// (in parallel inside); this thread hands each `T` to `take`, in order. Returns the
/// sum of what `take` returns, or `None` when a schema key follows the features array
/// (`source` returned false).
fn pipeline<T: Send>(
    path: &Path,
    source: impl FnOnce(&Sender) -> Result<bool> + Send,
    parse: impl Fn(&[u8], &[(usize, usize)], usize) -> Result<T> + Sync,
    mut take: impl FnMut(T) -> Result<usize>,
) -> Result<Option<usize>> {
    let failed = || fmt_err(path, "Esri JSON")("the reading thread failed".into());
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Raw>(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let parse = &parse;
        let reader = scope.spawn(move || source(&raw_tx));
        let parser = scope.spawn(move || {
            for raw in raw_rx {
                let parsed = parse(&raw.data, &raw.ranges, raw.index);
                let bad = parsed.is_err();
                // A closed channel means the writer stopped: stop too (which stops
                // the reader at its next send).
                if tx.send(parsed).is_err() || bad {
                    return;
                }
            }
        });
        let mut n = 0usize;
        let mut failure = None;
        for batch in rx {
            match batch.and_then(&mut take) {
                Ok(k) => n += k,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // The receiver is gone with the loop: a parser waiting to send stops.
        let parsed = parser.join();
        let read = reader.join();
        match (failure, parsed, read) {
            (Some(e), _, _) => Err(e),
            (None, Ok(()), Ok(r)) => r.map(|ok| ok.then_some(n)),
            _ => Err(failed()),
        }
    })
}

/// Bytes [`find`] looks at eight at a time before it hands over to memchr.
const NEAR: usize = 32;

/// The position of the first byte of `b[i..]` that is one of `stops` (2 or 3 of
/// them), or `b.len()`. Short distances are the common case (attributes are dense
/// with quotes and braces): the first [`NEAR`] bytes are looked at eight at a time in
/// a `u64` (for each stop, the bytes equal to it become zero and the classic
/// zero-byte test marks them; below the first zero byte it marks nothing else, so
/// the lowest mark is the first stop); long runs (coordinate arrays) go to memchr.
fn find<const N: usize>(b: &[u8], mut i: usize, stops: [u8; N]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let near = (i + NEAR).min(b.len());
    while i < near {
        let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) else {
            break;
        };
        let w = u64::from_le_bytes(*word);
        let mut marks = 0;
        for s in stops {
            let x = w ^ (ONES * u64::from(s));
            marks |= x.wrapping_sub(ONES) & !x & HIGHS;
        }
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = b.get(i..).unwrap_or_default();
    let found = match stops.as_slice() {
        [a, c] => memchr::memchr2(*a, *c, rest),
        [a, c, d] => memchr::memchr3(*a, *c, *d, rest),
        _ => rest.iter().position(|x| stops.contains(x)),
    };
    found.map_or(b.len(), |k| i + k)
}

/// Where the cutter stands in the features array, across reads.
#[derive(Debug, Default)]
struct Cut {
    /// Next byte to look at.
    pos: usize,
    /// Start of the feature being cut (when `depth > 0`).
    start: usize,
    /// Braces open in the feature being cut. Brackets are not counted: in a feature
    /// they balance, and a feature where they do not is refused by the reader it is
    /// handed to, which names it.
    depth: u32,
    in_str: bool,
    esc: bool,
    /// A feature just ended: `,` or `]` must follow.
    after_value: bool,
    /// A `,` was read: a feature must follow.
    need_value: bool,
    /// Bytes before this position go one stop at a time, not by [`Cut::block`] (a
    /// block with a backslash).
    slow_until: usize,
    /// Never use [`Cut::block`] (to test it against the stop-by-stop path).
    #[cfg(test)]
    slow: bool,
    /// Blocks [`Cut::block`] went over (to test that it is used).
    #[cfg(test)]
    blocks: usize,
}

/// Bytes looked at together by [`Cut::block`].
const BLOCK: usize = 64;

/// For each byte of `stops`, one bit per byte of `block`, set where the byte is that
/// one. Eight bytes at a time in a `u64`: the bytes equal to the stop become zero,
/// the zero bytes get their high bit set (exactly, no carry crosses bytes) and a
/// multiplication gathers the eight high bits into the top byte.
#[inline]
fn byte_masks<const N: usize>(block: &[u8; BLOCK], stops: [u8; N]) -> [u64; N] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Byte k's bit (at 8k) lands on bit 56 + k; no two products meet, so no carry.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut masks = [0u64; N];
    for (k, word) in block.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        for (mask, &c) in masks.iter_mut().zip(&stops) {
            let x = w ^ (ONES * u64::from(c));
            let zero = !(((x & LOW7) + LOW7) | x | LOW7);
            *mask |= ((zero >> 7).wrapping_mul(GATHER) >> 56) << (8 * k);
        }
    }
    masks
}

/// Each bit the XOR of the bits of `x` up to it: set from an opening quote up to,
/// not including, its closing quote.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// What [`Cut::block`] did.
enum Step {
    /// Went on to this position (the block's end, or the byte after a feature).
    To(usize),
    /// The block holds a backslash: left to the stop-by-stop path.
    Slow,
}

impl Cut {
    /// Inside a feature, the first 64 bytes of `block_rest` (the buffer from `i`) at
    /// once: bit masks of quotes and braces, the quotes' running XOR telling which
    /// bytes are inside strings, then only the braces outside strings are counted. A
    /// block with a backslash (an escaped quote would break the XOR; `backslashes`
    /// says whether the buffer has any) is left to the stop-by-stop path; a block
    /// with no quote or brace outside a string hands the rest of the run to memchr.
    fn block(
        &mut self,
        block_rest: &[u8],
        i: usize,
        ranges: &mut Vec<(usize, usize)>,
        backslashes: bool,
    ) -> Step {
        let Some(block) = block_rest.first_chunk::<BLOCK>() else {
            return Step::Slow;
        };
        let [quote, open, close] = if backslashes {
            let [backslash, quote, open, close] = byte_masks(block, [b'\\', b'"', b'{', b'}']);
            if backslash != 0 {
                return Step::Slow;
            }
            [quote, open, close]
        } else {
            byte_masks(block, [b'"', b'{', b'}'])
        };
        if quote | open | close == 0 && !self.in_str {
            // A long run without strings or braces (a coordinate array): memchr goes
            // faster over what is left of it.
            let rest = block_rest.get(BLOCK..).unwrap_or_default();
            let skip = memchr::memchr3(b'"', b'{', b'}', rest).unwrap_or(rest.len());
            return Step::To(i + BLOCK + skip);
        }
        let inside = prefix_xor(quote) ^ if self.in_str { !0 } else { 0 };
        let mut braces = (open | close) & !inside;
        while braces != 0 {
            let k = braces.trailing_zeros();
            braces &= braces - 1;
            if open >> k & 1 == 1 {
                self.depth += 1;
            } else {
                self.depth -= 1;
                if self.depth == 0 {
                    let end = i + k as usize + 1;
                    ranges.push((self.start, end));
                    self.after_value = true;
                    self.in_str = false;
                    return Step::To(end);
                }
            }
        }
        self.in_str = inside >> 63 == 1;
        #[cfg(test)]
        {
            self.blocks += 1;
        }
        Step::To(i + BLOCK)
    }

    /// Cuts the complete features in `b` from `pos` into `ranges`; returns the
    /// position after the array's `]` when it is reached. `index` is the number of
    /// features before `b`, for messages.
    fn run(
        &mut self,
        b: &[u8],
        ranges: &mut Vec<(usize, usize)>,
        index: usize,
        path: &Path,
    ) -> Result<Option<usize>> {
        let mut i = self.pos;
        // Most texts have no backslash at all: then blocks need not look for them.
        let backslashes = memchr::memchr(b'\\', b.get(i..).unwrap_or_default()).is_some();
        #[cfg(test)]
        if self.slow {
            self.slow_until = usize::MAX;
        }
        while i < b.len() {
            if self.depth > 0 && !self.esc && i >= self.slow_until && i + BLOCK <= b.len() {
                match self.block(&b[i..], i, ranges, backslashes) {
                    Step::To(next) => {
                        i = next;
                        continue;
                    }
                    Step::Slow => self.slow_until = i + BLOCK,
                }
            }
            let c = b[i];
            if self.depth == 0 {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' => {}
                    b']' if !self.need_value => {
                        self.pos = i + 1;
                        return Ok(Some(i + 1));
                    }
                    b',' if self.after_value => {
                        self.after_value = false;
                        self.need_value = true;
                    }
                    b'{' if !self.after_value => {
                        self.start = i;
                        self.depth = 1;
                        self.need_value = false;
                    }
                    _ => {
                        let n = index + ranges.len();
                        return Err(fmt_err(path, "Esri JSON")(if self.after_value {
                            format!(
                                "expected `,` or `]` after feature {}, found `{}`",
                                n - 1,
                                c as char
                            )
                        } else {
                            format!("feature {n} is not a JSON object (found `{}`)", c as char)
                        }));
                    }
                }
            } else if self.in_str {
                if self.esc {
                    self.esc = false;
                    i += 1;
                }
                // Over the string's ordinary bytes.
                i = find(b, i, [b'"', b'\\']);
                match b.get(i) {
                    Some(b'\\') => self.esc = true,
                    Some(_) => self.in_str = false,
                    None => break,
                }
            } else {
                // On to the next quote or brace.
                i = find(b, i, [b'"', b'{', b'}']);
                match b.get(i) {
                    Some(b'"') => self.in_str = true,
                    Some(b'{') => self.depth += 1,
                    Some(_) => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            ranges.push((self.start, i + 1));
                            self.after_value = true;
                        }
                    }
                    None => break,
                }
            }
            i += 1;
        }
        self.pos = i;
        Ok(None)
    }

    /// Where the bytes still needed start (the unfinished feature, or the end).
    fn keep_from(&self) -> usize {
        if self.depth > 0 { self.start } else { self.pos }
    }

    /// The buffer lost its first `k` bytes.
    fn rebase(&mut self, k: usize) {
        self.pos -= k;
        self.slow_until = self.slow_until.saturating_sub(k);
        if self.depth > 0 {
            self.start -= k;
        }
    }
}

/// Keys that shape how features are read and written: when one stands after the
/// features array, the file cannot be streamed.
const SCHEMA_KEYS: [&str; 5] = ["geometryType", "fields", "spatialReference", "hasZ", "hasM"];

/// Reads the features array and sends batches of feature texts, in order. The read
/// buffer itself is sent (only an unfinished feature at its end is copied into the
/// next one). Returns false when a schema key follows the array and `tail_checked`
/// (the header was read without looking past the array).
fn produce(
    path: &Path,
    tx: &Sender,
    tail_checked: bool,
    exceeded: Option<&AtomicBool>,
) -> Result<bool> {
    let err = fmt_err(path, "Esri JSON");
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut b = Buf {
        r: f,
        buf: Vec::with_capacity(CHUNK * 2),
        pos: 0,
        eof: false,
    };
    // Walk the top-level object to the `features` array.
    expect(&mut b, b'{', path)?;
    loop {
        let key = key(&mut b, path)?;
        if key == "features" {
            break;
        }
        skip_value(&mut b, path)?;
        match b.peek().map_err(io("reading", path))? {
            Some(b',') => b.pos += 1,
            _ => return Err(err("no `features` array".into())),
        }
    }
    expect(&mut b, b'[', path)?;
    cut_array(b, path, tx, tail_checked, exceeded)
}

/// Cuts the features array that `b` stands in (just after its `[`) and sends
/// batches of feature texts; see [`produce`].
/// `exceeded` is set when `exceededTransferLimit: true` follows the array.
fn cut_array<R: Read>(
    b: Buf<R>,
    path: &Path,
    tx: &Sender,
    tail_checked: bool,
    exceeded: Option<&AtomicBool>,
) -> Result<bool> {
    let err = fmt_err(path, "Esri JSON");
    let Buf {
        r: mut file,
        buf,
        pos,
        mut eof,
    } = b;
    let mut buf = buf[pos..].to_vec();
    let mut cut = Cut::default();
    let mut index = 0usize;
    loop {
        let mut ranges = Vec::new();
        let end = cut.run(&buf, &mut ranges, index, path)?;
        let keep = cut.keep_from();
        let tail = match end {
            Some(e) => buf[e..].to_vec(),
            None => buf[keep..].to_vec(),
        };
        if !ranges.is_empty() {
            let n = ranges.len();
            let data = std::mem::replace(&mut buf, Vec::with_capacity(BATCH + tail.len()));
            // A closed channel means a later stage stopped: stop too.
            if tx
                .send(Raw {
                    data,
                    ranges,
                    index,
                })
                .is_err()
            {
                return Ok(true);
            }
            index += n;
        } else {
            buf.clear();
        }
        buf.extend_from_slice(&tail);
        if end.is_some() {
            return if tail_checked {
                Ok(true)
            } else {
                schema_keys_before(file, buf, eof, path, exceeded)
            };
        }
        cut.rebase(keep);
        if eof {
            return Err(err(if cut.depth > 0 {
                format!("feature {index} is cut off (the file ends inside it)")
            } else {
                format!(
                    "the file is cut off after {index} features (no `]` ends the features array)"
                )
            }));
        }
        // Read on (at least one batch, so a large feature grows the buffer), into
        // the buffer's spare room (not zeroed first).
        buf.reserve(BATCH);
        let got = (&mut file)
            .take(BATCH as u64)
            .read_to_end(&mut buf)
            .map_err(io("reading", path))?;
        eof = got < BATCH;
    }
}

/// After the features array: true when none of [`SCHEMA_KEYS`] follows it.
/// With `exceeded`, notes there an `exceededTransferLimit: true` found on the way.
fn schema_keys_before<R: Read>(
    file: R,
    buf: Vec<u8>,
    eof: bool,
    path: &Path,
    exceeded: Option<&AtomicBool>,
) -> Result<bool> {
    let mut b = Buf {
        r: file,
        buf,
        pos: 0,
        eof,
    };
    loop {
        match b.peek().map_err(io("reading", path))? {
            Some(b',') => b.pos += 1,
            Some(b'}') => return Ok(true),
            _ => {
                return Err(fmt_err(path, "Esri JSON")(
                    "the top-level object is malformed after the features array".into(),
                ));
            }
        }
        let k = key(&mut b, path)?;
        if SCHEMA_KEYS.contains(&k.as_str()) {
            return Ok(false);
        }
        if let Some(flag) = exceeded.filter(|_| k == "exceededTransferLimit") {
            let (s, e) = b.value().map_err(io("reading", path))?.unwrap_or((0, 0));
            if b.buf.get(s..e) == Some(b"true".as_slice()) {
                flag.store(true, Ordering::Relaxed);
            }
            b.pos = e.max(b.pos);
            continue;
        }
        skip_value(&mut b, path)?;
    }
}

fn expect<R: Read>(b: &mut Buf<R>, c: u8, path: &Path) -> Result<()> {
    match b.peek().map_err(io("reading", path))? {
        Some(x) if x == c => {
            b.pos += 1;
            Ok(())
        }
        other => Err(fmt_err(path, "Esri JSON")(format!(
            "expected `{}` but found {}",
            c as char,
            other.map_or("the end of the file".into(), |x| format!("`{}`", x as char))
        ))),
    }
}

fn key<R: Read>(b: &mut Buf<R>, path: &Path) -> Result<String> {
    let err = fmt_err(path, "Esri JSON");
    let (s, e) = b
        .value()
        .map_err(io("reading", path))?
        .ok_or_else(|| err("the file is cut off before its object ends".into()))?;
    let k: String =
        serde_json::from_slice(&b.buf[s..e]).map_err(|x| err(format!("bad key: {x}")))?;
    b.pos = e;
    expect(b, b':', path)?;
    Ok(k)
}

fn skip_value<R: Read>(b: &mut Buf<R>, path: &Path) -> Result<()> {
    if b.skip().map_err(io("reading", path))? {
        Ok(())
    } else {
        Err(fmt_err(path, "Esri JSON")(
            "the file is cut off before its object ends".into(),
        ))
    }
}

/// Reads the value of header key `k` into `obj` (the header's JSON text so far,
/// from its `{`), noting `geometryType` and `fields` in `seen`.
fn header_key<R: Read>(
    b: &mut Buf<R>,
    k: String,
    obj: &mut String,
    seen: &mut std::collections::HashSet<String>,
    path: &Path,
) -> Result<()> {
    let (s, e) = b
        .value()
        .map_err(io("reading", path))?
        .ok_or_else(|| fmt_err(path, "Esri JSON")(format!("the value of `{k}` is cut off")))?;
    if obj.len() > 1 {
        obj.push(',');
    }
    obj.push_str(&serde_json::to_string(&k).unwrap_or_default());
    obj.push(':');
    obj.push_str(&String::from_utf8_lossy(&b.buf[s..e]));
    b.pos = e;
    if k == "geometryType" || k == "fields" {
        seen.insert(k);
    }
    Ok(())
}

/// The feature set's keys other than `features`. Keys before the array are read
/// directly; when `geometryType` and `fields` both come before it, reading stops there
/// (and the second value is false: the keys after the array are not checked yet).
/// Otherwise, or when `whole`, the array is skipped by the scanner to read the keys
/// after it.
fn read_header(path: &Path, whole: bool) -> Result<Option<(FeatureSet, bool)>> {
    let err = fmt_err(path, "Esri JSON");
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut b = Buf {
        r: f,
        buf: Vec::with_capacity(CHUNK),
        pos: 0,
        eof: false,
    };
    expect(&mut b, b'{', path)?;
    let mut obj = String::from("{");
    let mut found = false;
    let mut seen = std::collections::HashSet::new();
    loop {
        if b.peek().map_err(io("reading", path))? == Some(b'}') {
            break;
        }
        let k = key(&mut b, path)?;
        if k == "features" {
            found = true;
            if seen.len() == 2 && !whole {
                break;
            }
            skip_value(&mut b, path)?;
        } else {
            header_key(&mut b, k, &mut obj, &mut seen, path)?;
        }
        match b.peek().map_err(io("reading", path))? {
            Some(b',') => b.pos += 1,
            Some(b'}') => break,
            _ => return Err(err("the top-level object is malformed".into())),
        }
    }
    if !found {
        return Ok(None);
    }
    obj.push('}');
    let fs = FeatureSet::from_json(&obj).map_err(|e| err(e.to_string()))?;
    Ok(Some((fs, whole || seen.len() < 2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// A JSON string of characters that matter to the cutter: braces, quotes and
    /// backslashes (escaped), brackets, multibyte text, long runs.
    fn string(r: &mut Rng) -> String {
        let mut s = String::from("\"");
        for _ in 0..r.below(12) {
            s.push_str(match r.below(40) {
                0 => "{",
                1 => "}",
                2 => "\\\"",
                3 => "\\\\",
                4 => "[]",
                5 => "é",
                6 => "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                _ => "ab",
            });
        }
        s.push('"');
        s
    }

    fn value(r: &mut Rng, depth: u32) -> String {
        match if depth > 3 { r.below(2) } else { r.below(5) } {
            0 => format!("{}.{}", r.below(1000), r.below(1000)),
            1 => string(r),
            2 => format!(
                "[{}]",
                (0..r.below(20))
                    .map(|_| format!("[{}, {}]", r.below(99), r.below(99)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            _ => object(r, depth + 1),
        }
    }

    fn object(r: &mut Rng, depth: u32) -> String {
        let members: Vec<String> = (0..r.below(5))
            .map(|_| format!("{}: {}", string(r), value(r, depth)))
            .collect();
        format!("{{{}}}", members.join(", "))
    }

    /// Feature ranges, where the array ended, blocks cut by bit masks.
    type Cuts = (Vec<(usize, usize)>, Option<usize>, usize);

    /// Cuts `data` (what follows a features array's `[`) fed `step` bytes at a time,
    /// as [`produce`] does; ranges are into `data`; also the blocks cut by bit masks.
    fn cut_all(data: &[u8], step: usize, slow: bool) -> Result<Cuts> {
        let mut cut = Cut {
            slow,
            ..Default::default()
        };
        let (mut buf, mut base, mut fed, mut out) = (Vec::new(), 0, 0, Vec::new());
        loop {
            let mut ranges = Vec::new();
            let end = cut.run(&buf, &mut ranges, out.len(), Path::new("t.json"))?;
            out.extend(ranges.iter().map(|&(s, e)| (s + base, e + base)));
            if let Some(e) = end {
                return Ok((out, Some(e + base), cut.blocks));
            }
            let keep = cut.keep_from();
            buf.drain(..keep);
            base += keep;
            cut.rebase(keep);
            if fed == data.len() {
                return Ok((out, None, cut.blocks));
            }
            let n = step.min(data.len() - fed);
            buf.extend_from_slice(&data[fed..fed + n]);
            fed += n;
        }
    }

    #[test]
    fn block_cutter_cuts_as_the_stop_by_stop_one() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut blocks = 0;
        for round in 0..200 {
            let features: Vec<String> = (0..r.below(30)).map(|_| object(&mut r, 0)).collect();
            let data = format!(" {} ] , \"x\": 1}}", features.join(" ,\n"));
            let data = data.as_bytes();
            let (want, end, none) = cut_all(data, usize::MAX, true).unwrap();
            assert_eq!(none, 0);
            // The reference cuts the objects that were joined.
            assert_eq!(want.len(), features.len(), "round {round}");
            for (&(s, e), f) in want.iter().zip(&features) {
                assert_eq!(&data[s..e], f.as_bytes(), "round {round}");
            }
            for step in [1, 7, 63, 64, 65, 200, usize::MAX] {
                let (got, got_end, n) = cut_all(data, step, false).unwrap();
                assert_eq!((&got, got_end), (&want, end), "round {round}, step {step}");
                blocks += n;
            }
        }
        // Most of the text went by blocks.
        assert!(blocks > 10_000, "{blocks} blocks");
    }

    #[test]
    fn byte_masks_mark_exactly_the_stops() {
        let mut r = Rng(7);
        for _ in 0..2000 {
            let mut block = [0u8; BLOCK];
            for b in &mut block {
                // Mostly the stops and their neighbours, some anything.
                *b = match r.below(3) {
                    0 => b"\\\"{}|z[]"[r.below(8) as usize],
                    _ => r.below(256) as u8,
                };
            }
            let stops = [b'\\', b'"', b'{', b'}'];
            let want =
                stops.map(|c| (0..BLOCK).fold(0u64, |m, k| m | (u64::from(block[k] == c) << k)));
            assert_eq!(byte_masks(&block, stops), want);
        }
    }

    #[test]
    fn block_cutter_reports_what_the_stop_by_stop_one_reports() {
        // Cut off inside a long string; a bad separator after a long feature.
        let long = format!("{{\"a\": \"{}\", \"b\": {{}}}}", "{".repeat(300));
        for data in [long[..200].to_string(), format!("{long} {long}]")] {
            for slow in [true, false] {
                let r = cut_all(data.as_bytes(), usize::MAX, slow);
                match r {
                    Ok((ranges, end, _)) => assert!(end.is_none() && ranges.is_empty()),
                    Err(e) => assert!(
                        e.to_string()
                            .contains("expected `,` or `]` after feature 0")
                    ),
                }
            }
        }
    }
}
