//! Streaming Esri JSON reading: the header keys are parsed once, then the `features`
//! array is cut into one slice per feature by a small byte scanner and each slice is
//! parsed on its own, so memory stays bounded by one read buffer, whatever the file
//! size. Feature slices are parsed in parallel batches (rayon), in order.

use std::io::Read;
use std::path::Path;

use gp_model::{Dims, Feature, FeatureSet, feature_from_slice};
use rayon::prelude::*;

use crate::error::{Result, fmt_err, io};

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

const CHUNK: usize = 4 << 20;

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
/// each feature in order. Returns the number of features and the schema. Reading and parsing run on
/// a second thread (parsing batches in parallel), overlapping with the writing.
pub(crate) fn read_esri_json(
    path: &Path,
    sink: &mut dyn crate::sink::FeatureSink,
) -> Result<(usize, FeatureSet)> {
    let err = fmt_err(path, "Esri JSON");
    let header = match read_header(path)? {
        Some(h) => h,
        None => return Err(err("no `features` array".into())),
    };
    sink.start(&header)?;
    let dims = Dims {
        has_z: header.has_z,
        has_m: header.has_m,
    };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Feature>>>(1);
        let producer = scope.spawn(move || produce(path, dims, &tx));
        let mut n = 0usize;
        let mut failure = None;
        for batch in rx {
            match batch.and_then(|b| {
                b.iter().try_for_each(|f| sink.feature(f))?;
                Ok(b.len())
            }) {
                Ok(k) => n += k,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // Dropping the receiver (on error) makes the producer stop at its next send.
        let produced = producer.join();
        match (failure, produced) {
            (Some(e), _) => Err(e),
            (None, Ok(r)) => r.map(|()| (n, header.clone())),
            (None, Err(_)) => Err(err("the reading thread failed".into())),
        }
    })
}

/// Reads the features array and sends parsed batches, in order.
fn produce(
    path: &Path,
    dims: Dims,
    tx: &std::sync::mpsc::SyncSender<Result<Vec<Feature>>>,
) -> Result<()> {
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
    let mut index = 0usize;
    // Feature texts are copied into a batch buffer (bounded), then parsed in parallel.
    let mut data: Vec<u8> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let flush = |data: &mut Vec<u8>, ranges: &mut Vec<(usize, usize)>, index: &mut usize| -> bool {
        let parsed: Result<Vec<Feature>> = ranges
            .par_iter()
            .enumerate()
            .map(|(k, &(s, e))| {
                feature_from_slice(&data[s..e], dims, *index + k).map_err(|x| err(x.to_string()))
            })
            .collect();
        *index += ranges.len();
        ranges.clear();
        data.clear();
        let failed = parsed.is_err();
        // A closed channel means the writer stopped: stop too.
        tx.send(parsed).is_ok() && !failed
    };
    let mut first = true;
    loop {
        match b.peek().map_err(io("reading", path))? {
            Some(b']') => {
                b.pos += 1;
                break;
            }
            Some(b',') if !first => b.pos += 1,
            None => {
                return Err(err(format!(
                    "the features array ends early, after {} features",
                    index + ranges.len()
                )));
            }
            _ if first => {}
            Some(c) => {
                return Err(err(format!(
                    "expected `,` or `]` after feature {}, found `{}`",
                    index + ranges.len(),
                    c as char
                )));
            }
        }
        first = false;
        let (s, e) = b
            .value()
            .map_err(io("reading", path))?
            .ok_or_else(|| err(format!("feature {} is cut off", index + ranges.len())))?;
        let at = data.len();
        data.extend_from_slice(&b.buf[s..e]);
        ranges.push((at, data.len()));
        b.pos = e;
        if (ranges.len() >= 4096 || data.len() >= 4 << 20)
            && !flush(&mut data, &mut ranges, &mut index)
        {
            return Ok(());
        }
    }
    flush(&mut data, &mut ranges, &mut index);
    Ok(())
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

/// The feature set's keys other than `features`, wherever they stand in the file.
/// Keys before the array are read directly; when the schema keys come after it (rare),
/// the array is skipped by the scanner to find them.
fn read_header(path: &Path) -> Result<Option<FeatureSet>> {
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
    loop {
        if b.peek().map_err(io("reading", path))? == Some(b'}') {
            break;
        }
        let k = key(&mut b, path)?;
        if k == "features" {
            found = true;
            skip_value(&mut b, path)?;
        } else {
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
    Ok(Some(
        FeatureSet::from_json(&obj).map_err(|e| err(e.to_string()))?,
    ))
}
