//! Little-endian numbers, UTF-16 names and the two variable-length integer codings of
//! the File Geodatabase, read from a byte slice with every length checked against
//! what is left of it.

/// A parse error's message (the caller adds the file).
pub(crate) type Bad = String;

/// A cursor over bytes read from a file; `base` is the file offset of `buf[0]`, so
/// errors name the byte of the file.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The file offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next byte, not consumed.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// The next `n` bytes, not consumed.
    pub(crate) fn peek_bytes(&self, n: usize) -> Option<&'a [u8]> {
        self.buf.get(self.pos..self.pos.checked_add(n)?)
    }

    /// Bytes left.
    pub(crate) fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails with `what` at the current offset.
    pub(crate) fn bad<T>(&self, what: &str) -> Result<T, Bad> {
        Err(format!("{what} at byte {}", self.offset()))
    }

    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Bad> {
        if n > self.left() {
            return self.bad(&format!(
                "{what}: {n} bytes needed, {} left in the record",
                self.left()
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn arr<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Bad> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, Bad> {
        Ok(self.arr::<1>(what)?[0])
    }
    pub(crate) fn i16(&mut self, what: &str) -> Result<i16, Bad> {
        Ok(i16::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, Bad> {
        Ok(u16::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn i32(&mut self, what: &str) -> Result<i32, Bad> {
        Ok(i32::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, Bad> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn i64(&mut self, what: &str) -> Result<i64, Bad> {
        Ok(i64::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn f32(&mut self, what: &str) -> Result<f32, Bad> {
        Ok(f32::from_le_bytes(self.arr(what)?))
    }
    pub(crate) fn f64(&mut self, what: &str) -> Result<f64, Bad> {
        Ok(f64::from_le_bytes(self.arr(what)?))
    }

    /// An unsigned varint: 7 bits a byte, low first, high bit set on all but the last.
    pub(crate) fn varuint(&mut self, what: &str) -> Result<u64, Bad> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8(what)?;
            if shift == 63 && b > 1 {
                return self.bad(&format!("{what}: a variable-length integer beyond 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return self.bad(&format!("{what}: a variable-length integer beyond 64 bits"));
            }
        }
    }

    /// A signed varint: as [`Reader::varuint`], but the first byte holds 6 bits of
    /// value and the sign (0x40).
    pub(crate) fn varint(&mut self, what: &str) -> Result<i64, Bad> {
        let b = self.u8(what)?;
        let neg = b & 0x40 != 0;
        let mut v: u64 = u64::from(b & 0x3f);
        if b & 0x80 != 0 {
            let mut shift = 6u32;
            loop {
                let b = self.u8(what)?;
                if shift > 62 || (shift == 62 && b > 1) {
                    return self.bad(&format!("{what}: a variable-length integer beyond 64 bits"));
                }
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
        }
        let v = i64::try_from(v).or_else(|_| self.bad(&format!("{what}: integer out of range")))?;
        Ok(if neg { -v } else { v })
    }

    /// `n` UTF-16 code units.
    pub(crate) fn utf16(&mut self, n: usize, what: &str) -> Result<String, Bad> {
        let raw = self.take(n * 2, what)?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).or_else(|_| self.bad(&format!("{what}: invalid UTF-16")))
    }
}

/// Appends an unsigned varint.
pub(crate) fn put_varuint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a signed varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut u = v.unsigned_abs();
    let sign = if v < 0 { 0x40 } else { 0 };
    if u < 0x40 {
        out.push(u as u8 | sign);
        return;
    }
    out.push((u as u8 & 0x3f) | sign | 0x80);
    u >>= 6;
    put_varuint(out, u);
}

/// Appends a name as its UTF-16 length (one byte) and code units; `None` when longer
/// than 255 code units.
pub(crate) fn put_utf16_name(out: &mut Vec<u8>, s: &str) -> Option<()> {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.push(u8::try_from(units.len()).ok()?);
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            63,
            -63,
            64,
            -64,
            8191,
            -8192,
            1 << 40,
            -(1 << 52),
            i64::MAX,
            -i64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(Reader::new(&b, 0).varint("v"), Ok(v), "{v}");
        }
        for v in [0u64, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut b = Vec::new();
            put_varuint(&mut b, v);
            assert_eq!(Reader::new(&b, 0).varuint("v"), Ok(v), "{v}");
        }
    }

    #[test]
    fn overlong_varints_are_refused() {
        let b = [0xffu8; 12];
        assert!(Reader::new(&b, 0).varuint("v").is_err());
        assert!(Reader::new(&b, 0).varint("v").is_err());
        assert!(
            Reader::new(&[0x80], 7)
                .varuint("x")
                .unwrap_err()
                .contains("byte 8")
        );
    }
}
