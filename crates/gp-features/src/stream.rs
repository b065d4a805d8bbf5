//! Streaming Esri JSON reading: the header keys are parsed once, then the `features`
//! array is cut into one slice per feature by a small byte scanner and each slice is
//! parsed on its own, so memory stays bounded by one read buffer, whatever the file
//! size. Feature slices are parsed in parallel batches (rayon), in order.

use std::io::Read;
use std::path::Path;

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
    sink.start(&header)?;
    let dims = Dims {
        has_z: header.has_z,
        has_m: header.has_m,
    };
    let n = match streamed(path, sink, &header, dims, tail_checked) {
        // A feature can fail only because a schema key after the array was not known
        // yet (`hasZ` for 3-value coordinates): then the file is read whole instead.
        Err(e) if !tail_checked => match read_header(path, true)? {
            Some((whole, _)) if !same_schema(&whole, &header) => return Ok(None),
            _ => return Err(e),
        },
        other => other?,
    };
    Ok(n.map(|n| (n, header)))
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
        true,
        |data, ranges, index| Ok((data.to_vec(), ranges.to_vec(), index)),
        |(data, ranges, index): (Vec<u8>, Vec<(usize, usize)>, usize)| {
            each(&data, &ranges, index)?;
            Ok(ranges.len())
        },
    )
    .map(|_| ())
}

/// The streaming run of [`read_esri_json`].
fn streamed(
    path: &Path,
    sink: &mut dyn FeatureSink,
    header: &FeatureSet,
    dims: Dims,
    tail_checked: bool,
) -> Result<Option<usize>> {
    let err = fmt_err(path, "Esri JSON");
    Ok(match sink.encoder() {
        Some(enc) => {
            let schema = FlatSchema::new(header);
            let enc: &dyn Encoder = enc.as_ref();
            let keep = sink.reads_batches();
            let parse = |data: &[u8], ranges: &[(usize, usize)], index: usize| {
                parse_flat(data, ranges, index, &schema, dims, enc, keep, path)
            };
            pipeline(
                path,
                tail_checked,
                parse,
                |batches: Vec<(FlatBatch, Encoded)>| {
                    let mut n = 0;
                    for (b, e) in batches {
                        n += e.ends.len();
                        sink.encoded(&b, e)?;
                    }
                    Ok(n)
                },
            )?
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
            pipeline(path, tail_checked, parse, |b: Vec<Feature>| {
                b.iter().try_for_each(|f| sink.feature(f))?;
                Ok(b.len())
            })?
        }
    })
}

/// Parses and encodes the features `ranges` of `data` (the first being feature
/// `index`) in parallel, in slices of consecutive features, keeping their order.
/// Unless `keep`, each slice's batch is freed where it was made and an empty one
/// returned in its place (see [`FeatureSink::reads_batches`]).
#[allow(clippy::too_many_arguments)] // reason: one private call site; a struct would only rename them
fn parse_flat(
    data: &[u8],
    ranges: &[(usize, usize)],
    index: usize,
    schema: &FlatSchema,
    dims: Dims,
    enc: &dyn Encoder,
    keep: bool,
    path: &Path,
) -> Result<Vec<(FlatBatch, Encoded)>> {
    let per = ranges
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .max(64);
    ranges
        .par_chunks(per)
        .enumerate()
        .map(|(c, chunk)| {
            let first = index + c * per;
            let mut b = FlatBatch::new(schema, first);
            for (k, &(s, e)) in chunk.iter().enumerate() {
                b.parse(schema, &data[s..e], dims, first + k, path)?;
            }
            let mut out = Encoded::default();
            enc.encode(&b, &mut out)?;
            if keep {
                Ok((b, out))
            } else {
                drop(b);
                Ok((FlatBatch::new(schema, first), out))
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

/// Runs three stages at once: a reading thread cuts the features array into batches
/// of feature texts; a parsing thread turns each into a `T` with `parse` (in parallel
/// inside); this thread hands each `T` to `take`, in order. Returns the sum of what
/// `take` returns, or `None` when a schema key follows the features array.
fn pipeline<T: Send>(
    path: &Path,
    tail_checked: bool,
    parse: impl Fn(&[u8], &[(usize, usize)], usize) -> Result<T> + Sync,
    mut take: impl FnMut(T) -> Result<usize>,
) -> Result<Option<usize>> {
    let failed = || fmt_err(path, "Esri JSON")("the reading thread failed".into());
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Raw>(1);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let parse = &parse;
        let reader = scope.spawn(move || produce(path, &raw_tx, tail_checked));
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

/// The bytes the cutter stops at outside strings: quotes and braces.
const STOPS: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t
};

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
}

impl Cut {
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
        while i < b.len() {
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
                // Over the string's ordinary bytes: a few one by one (keys and most
                // values are short), then memchr.
                let near = (i + 16).min(b.len());
                while i < near && b[i] != b'"' && b[i] != b'\\' {
                    i += 1;
                }
                if i == near && i < b.len() {
                    i = memchr::memchr2(b'"', b'\\', &b[i..]).map_or(b.len(), |k| i + k);
                }
                match b.get(i) {
                    Some(b'\\') => self.esc = true,
                    Some(_) => self.in_str = false,
                    None => break,
                }
            } else {
                // On to the next quote or brace: a few bytes one by one (attributes are
                // dense with them), then memchr for long runs (coordinate arrays).
                let near = (i + 16).min(b.len());
                while i < near && !STOPS[usize::from(b[i])] {
                    i += 1;
                }
                if i == near {
                    i = memchr::memchr3(b'"', b'{', b'}', &b[i..]).map_or(b.len(), |k| i + k);
                }
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
fn produce(path: &Path, tx: &std::sync::mpsc::SyncSender<Raw>, tail_checked: bool) -> Result<bool> {
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
                schema_keys_before(file, buf, eof, path)
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
        // Read on (at least one batch, so a large feature grows the buffer).
        let old = buf.len();
        buf.resize(old + BATCH, 0);
        let mut got = 0;
        while got < BATCH {
            match file.read(&mut buf[old + got..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("reading", path)(e)),
            }
        }
        buf.truncate(old + got);
    }
}

/// After the features array: true when none of [`SCHEMA_KEYS`] follows it.
fn schema_keys_before(file: std::fs::File, buf: Vec<u8>, eof: bool, path: &Path) -> Result<bool> {
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
            if k == "geometryType" || k == "fields" {
                seen.insert(k.clone());
            }
            let (s, e) = b
                .value()
                .map_err(io("reading", path))?
                .ok_or_else(|| err(format!("the value of `{k}` is cut off")))?;
            if obj.len() > 1 {
                obj.push(',');
            }
            obj.push_str(&serde_json::to_string(&k).unwrap_or_default());
            obj.push(':');
            obj.push_str(&String::from_utf8_lossy(&b.buf[s..e]));
            b.pos = e;
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
