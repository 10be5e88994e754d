//! Position arithmetic on UTF-8 text a block of bytes at a time: which byte starts the n-th char,
//! and which char a UTF-16 offset falls on. A char starts at every byte that is not a
//! continuation byte (`0b10xx_xxxx`), and a char of four bytes is two UTF-16 units, so whole
//! blocks are counted with simple byte tests (which compile to vector instructions) instead of
//! decoding char by char.

/// Bytes counted per step.
const BLOCK: usize = 32;

/// True when `b` starts a char (it is not a continuation byte).
fn starts_char(b: u8) -> bool {
    (b as i8) >= -0x40
}

/// Chars starting in `block`.
fn chars_in(block: &[u8; BLOCK]) -> usize {
    block.iter().filter(|&&b| starts_char(b)).count()
}

/// Four-byte chars (two UTF-16 units each) starting in `block`.
fn longs_in(block: &[u8; BLOCK]) -> usize {
    block.iter().filter(|&&b| b >= 0xF0).count()
}

/// Chars of `s`: its bytes that start one (a loop the compiler vectorises natively, and much
/// smaller in WebAssembly than `str::chars().count()`).
pub(crate) fn count_chars(s: &[u8]) -> usize {
    s.iter().filter(|&&b| starts_char(b)).count()
}

/// Byte offset of the `n`-th char of `s` (`s.len()` when `s` has `n` chars or fewer).
pub(crate) fn char_to_byte(bytes: &[u8], n: usize) -> usize {
    let (seen, _, base) = whole_blocks(
        bytes.chunks_exact(BLOCK),
        |block| {
            let c = chars_in(block);
            (c, c)
        },
        n,
    );
    base + nth_start(bytes.get(base..).unwrap_or_default(), n - seen)
}

/// Byte offset of the `k`-th char of `s` counted back from its end (`k >= 1`; 0 when `s` has
/// `k` chars or fewer).
pub(crate) fn char_from_end(s: &[u8], k: usize) -> usize {
    // Whole blocks at the end holding fewer than `k` char starts are counted, not searched.
    let (mut seen, _, cut) = whole_blocks(
        s.rchunks_exact(BLOCK),
        |block| {
            let c = chars_in(block);
            (c, c)
        },
        k.saturating_sub(1),
    );
    let head = s.get(..s.len() - cut).unwrap_or_default();
    for (i, &b) in head.iter().enumerate().rev() {
        if starts_char(b) {
            seen += 1;
            if seen == k {
                return i;
            }
        }
    }
    0
}

/// Skips the whole blocks of `blocks` (a slice's chunks of [`BLOCK`] bytes, from its start or
/// its end) whose `(count, measure)` (from `f`) keeps the summed measure at most `limit`; returns
/// the summed count and measure and the bytes skipped. WebAssembly builds skip nothing and leave
/// the work to the byte-by-byte loops: without vector instructions blocks gain little there, and
/// their unrolled bodies cost package size.
#[cfg(not(target_arch = "wasm32"))]
fn whole_blocks<'a>(
    blocks: impl Iterator<Item = &'a [u8]>,
    f: impl Fn(&[u8; BLOCK]) -> (usize, usize),
    limit: usize,
) -> (usize, usize, usize) {
    let (mut count, mut measure, mut base) = (0usize, 0usize, 0usize);
    for block in blocks {
        let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
            break;
        };
        let (c, m) = f(block);
        if measure + m > limit {
            break;
        }
        (count, measure, base) = (count + c, measure + m, base + BLOCK);
    }
    (count, measure, base)
}

#[cfg(target_arch = "wasm32")]
fn whole_blocks<'a>(
    _: impl Iterator<Item = &'a [u8]>,
    _: impl Fn(&[u8; BLOCK]) -> (usize, usize),
    _: usize,
) -> (usize, usize, usize) {
    (0, 0, 0)
}

/// Index of the `k`-th char start in `bytes` (`bytes.len()` when there are `k` or fewer).
fn nth_start(bytes: &[u8], k: usize) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| starts_char(**b))
        .nth(k)
        .map_or(bytes.len(), |(i, _)| i)
}

/// Chars and UTF-16 units of `s`.
pub(crate) fn chars_and_utf16(bytes: &[u8]) -> (usize, usize) {
    // One byte (a typed key) or ASCII: one unit per char.
    if bytes.len() == 1 || bytes.is_ascii() {
        return (bytes.len(), bytes.len());
    }
    let chars = count_chars(bytes);
    let (long, _, base) = whole_blocks(bytes.chunks_exact(BLOCK), |block| (longs_in(block), 0), 0);
    let tail = bytes.get(base..).unwrap_or_default();
    (
        chars,
        chars + long + tail.iter().filter(|&&b| b >= 0xF0).count(),
    )
}

/// The char index at UTF-16 offset `off` of `s`; `None` inside a surrogate pair or past the end.
pub(crate) fn utf16_to_char(bytes: &[u8], off: usize) -> Option<usize> {
    let (mut chars, mut units, base) = whole_blocks(
        bytes.chunks_exact(BLOCK),
        |block| {
            let c = chars_in(block);
            (c, c + longs_in(block))
        },
        off,
    );
    for &b in bytes.get(base..).unwrap_or_default() {
        if !starts_char(b) {
            continue;
        }
        if units >= off {
            break;
        }
        units += if b >= 0xF0 { 2 } else { 1 };
        chars += 1;
    }
    (units == off).then_some(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_match_char_by_char_decoding() {
        let samples = [
            String::new(),
            "plain ascii text".repeat(5),
            "héllo wörld — ünïcode ".repeat(4),
            "a😀b𝄞c".repeat(9),
            "日本語のテキスト".repeat(7),
        ];
        for s in &samples {
            let chars: Vec<(usize, char)> = s.char_indices().collect();
            for n in 0..=chars.len() + 2 {
                let want = chars.get(n).map_or(s.len(), |(b, _)| *b);
                assert_eq!(char_to_byte(s.as_bytes(), n), want, "{s:?} char {n}");
                if n < chars.len() {
                    assert_eq!(
                        char_from_end(s.as_bytes(), chars.len() - n),
                        want,
                        "{s:?} back to {n}"
                    );
                }
            }
            assert_eq!(
                chars_and_utf16(s.as_bytes()),
                (chars.len(), s.encode_utf16().count())
            );
            let mut units = 0;
            for (i, (_, c)) in chars.iter().enumerate() {
                assert_eq!(
                    utf16_to_char(s.as_bytes(), units),
                    Some(i),
                    "{s:?} unit {units}"
                );
                if c.len_utf16() == 2 {
                    assert_eq!(utf16_to_char(s.as_bytes(), units + 1), None);
                }
                units += c.len_utf16();
            }
            assert_eq!(utf16_to_char(s.as_bytes(), units), Some(chars.len()));
            assert_eq!(utf16_to_char(s.as_bytes(), units + 1), None);
        }
    }
}
