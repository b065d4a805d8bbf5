//! Walking the top-level object of an Esri JSON feature set: a buffered reader with
//! the few primitives the walk needs ([`Buf`]), an incremental scanner for the end of
//! one value, and the reading of the keys around the `features` array (the header
//! before it, the schema keys and `exceededTransferLimit` after it).

use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use gp_model::FeatureSet;

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
pub(crate) struct Buf<R: Read> {
    pub(crate) r: R,
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) eof: bool,
}

pub(crate) const CHUNK: usize = 256 << 10;
/// Bytes read at a time into the features array: a batch, so they bound the memory
/// of the batches in flight (read, parsed and encoded, being written).
pub(crate) const BATCH: usize = 512 << 10;

impl<R: Read> Buf<R> {
    /// A reader over `r` with room for `capacity` bytes to start with.
    pub(crate) fn new(r: R, capacity: usize) -> Self {
        Buf {
            r,
            buf: Vec::with_capacity(capacity),
            pos: 0,
            eof: false,
        }
    }

    pub(crate) fn fill(&mut self) -> std::io::Result<bool> {
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
    pub(crate) fn peek(&mut self) -> std::io::Result<Option<u8>> {
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
    pub(crate) fn value(&mut self) -> std::io::Result<Option<(usize, usize)>> {
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
    pub(crate) fn skip(&mut self) -> std::io::Result<bool> {
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

/// Keys that shape how features are read and written: when one stands after the
/// features array, the file cannot be streamed.
const SCHEMA_KEYS: [&str; 5] = ["geometryType", "fields", "spatialReference", "hasZ", "hasM"];

/// After the features array: true when none of [`SCHEMA_KEYS`] follows it.
/// With `exceeded`, notes there an `exceededTransferLimit: true` found on the way.
pub(crate) fn schema_keys_before<R: Read>(
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

pub(crate) fn expect<R: Read>(b: &mut Buf<R>, c: u8, path: &Path) -> Result<()> {
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

pub(crate) fn key<R: Read>(b: &mut Buf<R>, path: &Path) -> Result<String> {
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

pub(crate) fn skip_value<R: Read>(b: &mut Buf<R>, path: &Path) -> Result<()> {
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
pub(crate) fn header_key<R: Read>(
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
pub(crate) fn read_header(path: &Path, whole: bool) -> Result<Option<(FeatureSet, bool)>> {
    let err = fmt_err(path, "Esri JSON");
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    let mut b = Buf::new(f, CHUNK);
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
