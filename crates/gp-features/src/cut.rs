//! Cutting the `features` array into one slice per feature, 64 bytes at a time
//! where it can (bit masks of quotes and braces), and sending them on in batches.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::error::{Result, fmt_err, io};
use crate::walk::{BATCH, Buf, schema_keys_before};

/// Feature texts cut from the input: `data[ranges[k]]` is feature `index + k`.
pub(crate) struct Raw {
    pub(crate) data: Vec<u8>,
    pub(crate) ranges: Vec<(usize, usize)>,
    pub(crate) index: usize,
}

/// Where the reading stage sends the feature texts it cuts.
pub(crate) type Sender = std::sync::mpsc::SyncSender<Raw>;

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

/// Cuts the features array that `b` stands in (just after its `[`) and sends
/// batches of feature texts, in order. The read buffer itself is sent (only an
/// unfinished feature at its end is copied into the next one). Returns false when a
/// schema key follows the array and `tail_checked` is false (the header was read
/// without looking past the array). `exceeded` is set when
/// `exceededTransferLimit: true` follows the array.
pub(crate) fn cut_array<R: Read>(
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
    /// as the reading stage in `stream` does; ranges are into `data`; also the blocks cut by bit masks.
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
