//! The fast half of flat batches: a strict byte-level reader for the plain Esri JSON
//! features that make up nearly all real data (2-D points, multipoints, paths and
//! rings of numbers; attributes that are strings, numbers, booleans or null), with
//! its number parsing (Clinger's fast path) and string scanning. Anything else falls
//! back to gp-model's complete reader, flattened by [`FlatBatch::push`], so both paths
//! give the same result and the same errors.

use gp_model::{AttrValue, Coord, Dims};

use crate::error::{Result, fmt_err};
use crate::flat::{Cell, FlatBatch, FlatSchema, Kind, Slot};
use crate::flat_number::{POW10, parse_f64, parse_int, string_stop};
use crate::repair::Fixes;

/// The fast parser met something it leaves to the complete reader.
struct Fallback;

type Fast<T> = std::result::Result<T, Fallback>;

impl FlatBatch {
    /// Adds the Esri JSON feature in `bytes` (feature `index` of the input): by the
    /// fast parser when it can, else by gp-model's reader.
    pub(crate) fn parse(
        &mut self,
        schema: &FlatSchema,
        bytes: &[u8],
        dims: Dims,
        index: usize,
        path: &std::path::Path,
        fixes: &Fixes,
    ) -> Result<()> {
        let mark = (
            self.attrs.len(),
            self.text.len(),
            self.extras.len(),
            self.coords.len(),
            self.ends.len(),
            self.slots.len(),
        );
        if !dims.has_z && !dims.has_m {
            let mut p = Parser { b: bytes, i: 0 };
            if p.feature(self, schema).is_ok() && p.end() {
                self.fix_rings(fixes);
                return Ok(());
            }
        }
        self.attrs.truncate(mark.0);
        self.text.truncate(mark.1);
        self.extras.truncate(mark.2);
        self.coords.truncate(mark.3);
        self.ends.truncate(mark.4);
        self.slots.truncate(mark.5);
        let f = gp_model::feature_from_slice(bytes, dims, index)
            .map_err(|e| fmt_err(path, "Esri JSON")(e.to_string()))?;
        self.push(schema, &f, fixes);
        Ok(())
    }
}

/// A strict reader of the common subset of Esri JSON features.
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    fn end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    fn peek(&mut self) -> Fast<u8> {
        self.ws();
        self.b.get(self.i).copied().ok_or(Fallback)
    }

    fn eat(&mut self, c: u8) -> Fast<()> {
        if self.peek()? == c {
            self.i += 1;
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// `,` (true) or the closing byte (false).
    fn next(&mut self, close: u8) -> Fast<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Ok(true)
            }
            c if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(Fallback),
        }
    }

    /// A string without escapes, as raw bytes (valid UTF-8 is checked by the caller
    /// where the text is kept).
    fn raw_str(&mut self) -> Fast<&'a [u8]> {
        self.eat(b'"')?;
        let rest = &self.b[self.i..];
        let k = string_stop(rest).ok_or(Fallback)?;
        if rest[k] != b'"' {
            return Err(Fallback);
        }
        self.i += k + 1;
        Ok(&rest[..k])
    }

    fn literal(&mut self, word: &[u8]) -> Fast<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// A number, strictly as JSON writes it: its bytes and whether it has a
    /// fraction or exponent.
    fn number(&mut self) -> Fast<(&'a [u8], bool)> {
        self.ws();
        let b = self.b;
        let s = self.i;
        let mut i = s;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(i),
            _ => return Err(Fallback),
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            let d = i + 1;
            i = digits(d);
            if i == d {
                return Err(Fallback);
            }
            float = true;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let d = i;
            i = digits(d);
            if i == d {
                return Err(Fallback);
            }
            float = true;
        }
        self.i = i;
        Ok((&b[s..i], float))
    }

    /// A number as `f64`. The common form (an optional minus, at most 19 digits with
    /// or without a fraction, no exponent, a mantissa of at most 2^53) is checked and
    /// computed in one pass, with the arithmetic of [`crate::flat_number::clinger`]; anything else goes
    /// through [`Parser::number`] and [`parse_f64`], as every number did before. Both
    /// give the same value, bit for bit (tested).
    #[inline(always)]
    fn f64(&mut self) -> Fast<f64> {
        self.ws();
        let b = self.b;
        let mut i = self.i;
        let neg = b.get(i) == Some(&b'-');
        i += usize::from(neg);
        let first = i;
        let mut mant = 0u64;
        let mut digits = |i: &mut usize| {
            let from = *i;
            while let Some(&d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
                mant = mant.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                *i += 1;
            }
            *i - from
        };
        let whole = digits(&mut i);
        let dot = b.get(i) == Some(&b'.');
        i += usize::from(dot);
        let frac = digits(&mut i);
        let plain = whole > 0
            && (whole == 1 || b[first] != b'0')
            && (!dot || frac > 0)
            && !matches!(b.get(i), Some(b'e' | b'E'))
            && whole + frac <= 19
            && mant <= 1 << 53
            && frac < POW10.len();
        if !plain {
            let (t, _) = self.number()?;
            return parse_f64(t).map_err(|_| Fallback);
        }
        self.i = i;
        let v = mant as f64 / POW10[frac];
        Ok(if neg { -v } else { v })
    }

    /// An attribute's value; text goes to the end of `text`.
    fn attr_value(&mut self, text: &mut String) -> Fast<Cell> {
        match self.peek()? {
            b'"' => {
                let s = self.raw_str()?;
                let s = std::str::from_utf8(s).map_err(|_| Fallback)?;
                let from = text.len();
                text.push_str(s);
                Ok(Cell::Text(from, text.len()))
            }
            b'n' => self.literal(b"null").map(|()| Cell::Value(AttrValue::Null)),
            b't' => self
                .literal(b"true")
                .map(|()| Cell::Value(AttrValue::Bool(true))),
            b'f' => self
                .literal(b"false")
                .map(|()| Cell::Value(AttrValue::Bool(false))),
            _ => {
                let (t, float) = self.number()?;
                if float {
                    parse_f64(t)
                        .map(|x| Cell::Value(AttrValue::Float(x)))
                        .map_err(|_| Fallback)
                } else {
                    parse_int(t).map(Cell::Value).map_err(|_| Fallback)
                }
            }
        }
    }

    fn attributes(&mut self, batch: &mut FlatBatch, schema: &FlatSchema, i: usize) -> Fast<()> {
        if self.peek()? == b'n' {
            return self.literal(b"null");
        }
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            let k = self.raw_str()?;
            self.eat(b':')?;
            let v = self.attr_value(&mut batch.text)?;
            match schema.slot_bytes(k) {
                Some(s) => batch.attrs[i * batch.width + s] = Some(v),
                None => {
                    let k = std::str::from_utf8(k).map_err(|_| Fallback)?;
                    let v = match v {
                        Cell::Value(v) => v,
                        Cell::Text(from, to) => AttrValue::String(
                            batch.text.get(from..to).unwrap_or_default().to_string(),
                        ),
                    };
                    batch.extras.push((i, k.to_string(), v));
                }
            }
            if !self.next(b'}')? {
                return Ok(());
            }
        }
    }

    /// `[x, y]`
    fn coord(&mut self, out: &mut Vec<Coord>) -> Fast<()> {
        self.eat(b'[')?;
        let x = self.f64()?;
        self.eat(b',')?;
        let y = self.f64()?;
        self.eat(b']')?;
        out.push(Coord::xy(x, y));
        Ok(())
    }

    /// `[[x, y], ...]` as one part: not empty, unless `may_be_empty` (then an empty
    /// array adds no part).
    fn part(&mut self, batch: &mut FlatBatch, may_be_empty: bool) -> Fast<()> {
        self.eat(b'[')?;
        if may_be_empty && self.peek()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.coord(&mut batch.coords)?;
            if !self.next(b']')? {
                break;
            }
        }
        batch.ends.push(batch.coords.len());
        Ok(())
    }

    /// `[part, ...]`, possibly empty.
    fn parts(&mut self, batch: &mut FlatBatch) -> Fast<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.part(batch, false)?;
            if !self.next(b']')? {
                return Ok(());
            }
        }
    }

    fn geometry(&mut self, batch: &mut FlatBatch) -> Fast<Option<Kind>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(None);
        }
        self.eat(b'{')?;
        let (mut x, mut y, mut kind) = (None, None, None);
        loop {
            let k = self.raw_str()?;
            self.eat(b':')?;
            let found = match k {
                b"x" => {
                    x = Some(self.f64()?);
                    Kind::Point
                }
                b"y" => {
                    y = Some(self.f64()?);
                    Kind::Point
                }
                b"points" => {
                    let before = batch.ends.len();
                    self.part(batch, true)?;
                    debug_assert!(batch.ends.len() <= before + 1);
                    Kind::Multipoint
                }
                b"paths" => {
                    self.parts(batch)?;
                    Kind::Polyline
                }
                b"rings" => {
                    self.parts(batch)?;
                    Kind::Polygon
                }
                _ => return Err(Fallback),
            };
            match kind {
                None => kind = Some(found),
                Some(k) if k == found && k == Kind::Point => {}
                Some(_) => return Err(Fallback),
            }
            if !self.next(b'}')? {
                break;
            }
        }
        match (kind, x, y) {
            (Some(Kind::Point), Some(x), Some(y)) => {
                batch.coords.push(Coord::xy(x, y));
                batch.ends.push(batch.coords.len());
                Ok(Some(Kind::Point))
            }
            (Some(Kind::Point), _, _) | (None, _, _) => Err(Fallback),
            (k, _, _) => Ok(k),
        }
    }

    fn feature(&mut self, batch: &mut FlatBatch, schema: &FlatSchema) -> Fast<()> {
        let i = batch.begin();
        let p0 = batch.ends.len();
        self.eat(b'{')?;
        let mut kind = None;
        let (mut seen_a, mut seen_g) = (false, false);
        if self.peek()? != b'}' {
            loop {
                let k = self.raw_str()?;
                self.eat(b':')?;
                match k {
                    b"attributes" if !seen_a => {
                        seen_a = true;
                        self.attributes(batch, schema, i)?;
                    }
                    b"geometry" if !seen_g => {
                        seen_g = true;
                        kind = self.geometry(batch)?;
                    }
                    _ => return Err(Fallback),
                }
                if !self.next(b'}')? {
                    break;
                }
            }
        } else {
            self.i += 1;
        }
        batch.slots.push(Slot {
            kind,
            z: false,
            p0,
            p1: batch.ends.len(),
        });
        Ok(())
    }
}

#[cfg(test)]
#[path = "flat_parse_tests.rs"]
mod tests;
