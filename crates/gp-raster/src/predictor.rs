//! After decompression: samples to native byte order and the TIFF predictors undone
//! (2: horizontal differencing of integers; 3: the floating-point predictor of Adobe's
//! technical note 3, whose byte planes are most significant first in any byte order).

/// Swaps each sample of `size` bytes when the file's byte order is not the machine's.
pub(crate) fn to_native(buf: &mut [u8], size: usize, big_endian: bool) {
    if size == 1 || big_endian == cfg!(target_endian = "big") {
        return;
    }
    for s in buf.chunks_exact_mut(size) {
        s.reverse();
    }
}

/// Undoes horizontal differencing on native samples: each sample adds the one a
/// pixel to its left (`stride` samples back), wrapping, row by row.
pub(crate) fn horizontal(buf: &mut [u8], row_bytes: usize, size: usize, stride: usize) {
    macro_rules! acc {
        ($t:ty) => {{
            for row in buf.chunks_exact_mut(row_bytes) {
                let n = row.len() / size;
                for i in stride..n {
                    let a = <$t>::from_ne_bytes(
                        row[(i - stride) * size..(i - stride + 1) * size]
                            .try_into()
                            .unwrap_or_default(),
                    );
                    let b = <$t>::from_ne_bytes(
                        row[i * size..(i + 1) * size].try_into().unwrap_or_default(),
                    );
                    row[i * size..(i + 1) * size].copy_from_slice(&a.wrapping_add(b).to_ne_bytes());
                }
            }
        }};
    }
    match size {
        1 => {
            for row in buf.chunks_exact_mut(row_bytes) {
                for i in stride..row.len() {
                    row[i] = row[i].wrapping_add(row[i - stride]);
                }
            }
        }
        2 => acc!(u16),
        4 => acc!(u32),
        _ => acc!(u64),
    }
}

/// Undoes the floating-point predictor, row by row: bytes are summed across the row
/// (`stride` bytes back), then each sample is put together from the row's byte planes.
pub(crate) fn floating(
    buf: &mut [u8],
    row_bytes: usize,
    size: usize,
    stride: usize,
    scratch: &mut Vec<u8>,
) {
    let count = row_bytes / size;
    for row in buf.chunks_exact_mut(row_bytes) {
        for i in stride..row.len() {
            row[i] = row[i].wrapping_add(row[i - stride]);
        }
        scratch.clear();
        scratch.extend_from_slice(row);
        if size == 4 {
            let (p0, rest) = scratch.split_at(count);
            let (p1, rest) = rest.split_at(count);
            let (p2, p3) = rest.split_at(count);
            for (i, sample) in row.chunks_exact_mut(4).enumerate() {
                sample.copy_from_slice(
                    &u32::from_be_bytes([p0[i], p1[i], p2[i], p3[i]]).to_ne_bytes(),
                );
            }
            continue;
        }
        for (i, sample) in row.chunks_exact_mut(size).enumerate() {
            // Plane 0 holds the most significant bytes.
            for (b, byte) in sample.iter_mut().enumerate() {
                let plane = if cfg!(target_endian = "big") {
                    b
                } else {
                    size - 1 - b
                };
                *byte = scratch[plane * count + i];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizontal_wraps_and_respects_the_pixel_stride() {
        let mut v: Vec<u8> = [1u16, 2, 65535, 3, 1, 1]
            .iter()
            .flat_map(|x| x.to_ne_bytes())
            .collect();
        horizontal(&mut v, 12, 2, 2);
        let got: Vec<u16> = v
            .chunks(2)
            .map(|c| u16::from_ne_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(got, [1, 2, 0, 5, 1, 6]);
    }

    #[test]
    fn floating_rebuilds_samples_from_byte_planes() {
        let xs = [1.5f32, -2.25, 1e30];
        // Encode as the predictor does: byte planes MSB first, then differences.
        let mut planes = vec![0u8; 12];
        for (i, x) in xs.iter().enumerate() {
            for (b, byte) in x.to_be_bytes().iter().enumerate() {
                planes[b * 3 + i] = *byte;
            }
        }
        for i in (1..12).rev() {
            planes[i] = planes[i].wrapping_sub(planes[i - 1]);
        }
        floating(&mut planes, 12, 4, 1, &mut Vec::new());
        let got: Vec<f32> = planes
            .chunks(4)
            .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(got, xs);
    }
}
