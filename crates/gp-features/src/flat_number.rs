//! Numbers and strings for the fast Esri JSON reader: floats by Clinger's exact fast
//! path (else the standard parser), integers, and where a string's text stops.

use gp_model::AttrValue;

/// A number the fast reader leaves to the complete one.
#[derive(Debug)]
pub(crate) struct NotFast;

/// Powers of ten that f64 holds exactly.
pub(crate) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path: a decimal whose digits fit in 2^53 and whose power of ten is
/// at most 22 is one exactly rounded multiplication or division of two exact values,
/// so the result is the correctly rounded one, as the standard parser gives. `None`
/// for anything else (the standard parser then decides).
pub(crate) fn clinger(t: &[u8]) -> Option<f64> {
    let (neg, t) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    let mut mant: u64 = 0;
    let mut exp: i32 = 0;
    let mut i = 0;
    let mut frac = false;
    while i < t.len() {
        match t[i] {
            d @ b'0'..=b'9' => {
                mant = mant.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                if frac {
                    exp -= 1;
                }
            }
            b'.' => frac = true,
            _ => break,
        }
        i += 1;
    }
    if i < t.len() {
        // An exponent: [eE][+-]?digits (its grammar was checked).
        let e = std::str::from_utf8(&t[i + 1..]).ok()?.parse::<i32>().ok()?;
        exp = exp.checked_add(e)?;
    }
    if mant > 1 << 53 {
        return None;
    }
    let m = mant as f64;
    let v = match exp {
        0..=22 => m * POW10[exp as usize],
        -22..=-1 => m / POW10[(-exp) as usize],
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

/// A finite float from JSON number bytes (ASCII, checked by the caller).
pub(crate) fn parse_f64(t: &[u8]) -> Result<f64, NotFast> {
    if let Some(v) = clinger(t) {
        return Ok(v);
    }
    let t = std::str::from_utf8(t).map_err(|_| NotFast)?;
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(NotFast),
    }
}

/// An integer from JSON number bytes: `Int`, else `UInt` above `i64::MAX`, else left
/// to the complete reader (which reads it as a float).
pub(crate) fn parse_int(t: &[u8]) -> Result<AttrValue, NotFast> {
    let (neg, digits) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(NotFast)?;
    }
    if neg {
        // -(i64::MAX + 1) fits; below it the complete reader decides.
        match i64::try_from(v) {
            Ok(x) => Ok(AttrValue::Int(-x)),
            Err(_) if v == 1 << 63 => Ok(AttrValue::Int(i64::MIN)),
            Err(_) => Err(NotFast),
        }
    } else {
        Ok(i64::try_from(v).map_or(AttrValue::UInt(v), AttrValue::Int))
    }
}

/// Where a string's text stops in `rest`: the first quote, backslash or control
/// character (only a quote ends a string the fast reader takes). Keys and most
/// values are short: the first 64 bytes are looked at eight at a time in a `u64`
/// (bytes equal to a quote or backslash become zero and the zero-byte test flags
/// them; bytes below 0x20 are flagged by subtracting 0x20; flags only spread upward
/// from a flagged byte, so the lowest one is the first stop), longer strings go to
/// memchr.
pub(crate) fn string_stop(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut i = 0;
    while i < 64 {
        let Some(word) = rest.get(i..).and_then(<[u8]>::first_chunk::<8>) else {
            break;
        };
        let w = u64::from_le_bytes(*word);
        let flags = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if flags != 0 {
            return Some(i + (flags.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = rest.get(i..)?;
    let end = memchr::memchr2(b'"', b'\\', tail).unwrap_or(tail.len());
    let k = tail[..end].iter().position(|&c| c < 0x20).unwrap_or(end);
    (k < tail.len()).then_some(i + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_stops_are_the_first_quote_backslash_or_control_byte() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..50_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 150) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| {
                    let r = (seed.rotate_left(k as u32 * 7) ^ (k as u64 * 0x9E37)) as u8;
                    // Mostly plain text, now and then a stop or a high byte.
                    match r % 64 {
                        0 => b'"',
                        1 => b'\\',
                        2 => r % 0x20,
                        3 => 0x80 | r,
                        _ => b'a' + r % 26,
                    }
                })
                .collect();
            let want = text
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            assert_eq!(string_stop(&text), want, "{text:?}");
        }
    }
}
