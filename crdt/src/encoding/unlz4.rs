//! An LZ4 block decompressor for untrusted input: every length and offset is checked against
//! the bytes left and the size the caller expects, so any input gives the content or `None`.
//!
//! Weft's own, like the compressor in [`super::lz4`]: a decoder of a few dozen lines costs the
//! WebAssembly package far fewer bytes than `lz4_flex`'s, whose fast paths are unrolled many
//! times over. The tests check both against `lz4_flex` (a development dependency only).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

/// Shortest match the format can express.
const MIN_MATCH: usize = 4;

/// Reads a length field's extension bytes (each 255 means "more follows") onto `n`.
fn extend_len(input: &[u8], pos: &mut usize, mut n: usize) -> Option<usize> {
    loop {
        let b = *input.get(*pos)?;
        *pos += 1;
        n = n.checked_add(usize::from(b))?;
        if b != 255 {
            return Some(n);
        }
    }
}

/// Decompresses one LZ4 block that must hold exactly `size` bytes.
pub(crate) fn decompress(input: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(size);
    let mut pos = 0usize;
    loop {
        let token = *input.get(pos)?;
        pos += 1;
        let mut lit = usize::from(token >> 4);
        if lit == 15 {
            lit = extend_len(input, &mut pos, lit)?;
        }
        let literals = input.get(pos..pos.checked_add(lit)?)?;
        if out.len() + lit > size {
            return None;
        }
        out.extend_from_slice(literals);
        pos += lit;
        if pos == input.len() {
            // The last sequence has literals only.
            return (out.len() == size).then_some(out);
        }
        let offset = usize::from(u16::from_le_bytes([*input.get(pos)?, *input.get(pos + 1)?]));
        pos += 2;
        let mut len = usize::from(token & 15);
        if len == 15 {
            len = extend_len(input, &mut pos, len)?;
        }
        let len = len + MIN_MATCH;
        if offset == 0 || offset > out.len() || len > size - out.len() {
            return None;
        }
        let start = out.len() - offset;
        if offset >= len {
            out.extend_from_within(start..start + len);
        } else {
            // Overlapping: the match repeats the last `offset` bytes.
            for i in start..start + len {
                let b = *out.get(i)?;
                out.push(b);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_lz4_flex_and_our_compressor_write() {
        let mut text = Vec::new();
        let mut x = 7u64;
        for _ in 0..50_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            text.extend_from_slice(
                [&b"the "[..], b"weft ", b"aaaa", b"\n", b"\xc3\xa9"][(x >> 33) as usize % 5],
            );
        }
        for input in [
            &b""[..],
            b"a",
            b"abcdabcdabcdabcdabcd",
            &[0u8; 70_000],
            &text,
        ] {
            for comp in [
                lz4_flex::block::compress(input),
                super::super::lz4::compress(input),
            ] {
                assert_eq!(decompress(&comp, input.len()).as_deref(), Some(input));
                // A wrong expected size is refused.
                assert_eq!(decompress(&comp, input.len() + 1), None);
                if !input.is_empty() {
                    assert_eq!(decompress(&comp, input.len() - 1), None);
                }
            }
        }
    }

    #[test]
    fn any_bytes_give_content_or_none_and_agree_with_lz4_flex() {
        let mut x = 1u64;
        for round in 0..20_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1442695040888963407);
            let n = (x >> 58) as usize;
            let bytes: Vec<u8> = (0..n)
                .map(|i| (x.rotate_left(i as u32 * 7) >> 24) as u8)
                .collect();
            let size = round % 300;
            let ours = decompress(&bytes, size);
            let theirs = lz4_flex::block::decompress(&bytes, size)
                .ok()
                .filter(|v| v.len() == size);
            assert_eq!(ours, theirs, "input {bytes:?}, size {size}");
        }
    }
}
