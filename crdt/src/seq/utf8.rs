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

/// Byte offset of the `n`-th char of `s` (`s.len()` when `s` has `n` chars or fewer).
pub(crate) fn char_to_byte(s: &str, n: usize) -> usize {
    let bytes = s.as_bytes();
    let mut seen = 0usize;
    let mut base = 0usize;
    let mut blocks = bytes.chunks_exact(BLOCK);
    for block in blocks.by_ref() {
        let Ok(block) = <&[u8; BLOCK]>::try_from(block) else {
            break;
        };
        let c = chars_in(block);
        if seen + c > n {
            return base + nth_start(block, n - seen);
        }
        seen += c;
        base += BLOCK;
    }
    base + nth_start(blocks.remainder(), n - seen)
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
pub(crate) fn chars_and_utf16(s: &str) -> (usize, usize) {
    // One byte (a typed key) or ASCII: one unit per char.
    if s.len() == 1 || s.is_ascii() {
        return (s.len(), s.len());
    }
    let chars = s.chars().count();
    (
        chars,
        chars + s.as_bytes().iter().filter(|&&b| b >= 0xF0).count(),
    )
}

/// The char index at UTF-16 offset `off` of `s`; `None` inside a surrogate pair or past the end.
pub(crate) fn utf16_to_char(s: &str, off: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let (mut units, mut chars, mut base) = (0usize, 0usize, 0usize);
    for block in bytes.chunks_exact(BLOCK) {
        let c = block.iter().filter(|&&b| starts_char(b)).count();
        let u = c + block.iter().filter(|&&b| b >= 0xF0).count();
        if units + u > off {
            break;
        }
        units += u;
        chars += c;
        base += BLOCK;
    }
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
                assert_eq!(char_to_byte(s, n), want, "{s:?} char {n}");
            }
            assert_eq!(chars_and_utf16(s), (chars.len(), s.encode_utf16().count()));
            let mut units = 0;
            for (i, (_, c)) in chars.iter().enumerate() {
                assert_eq!(utf16_to_char(s, units), Some(i), "{s:?} unit {units}");
                if c.len_utf16() == 2 {
                    assert_eq!(utf16_to_char(s, units + 1), None);
                }
                units += c.len_utf16();
            }
            assert_eq!(utf16_to_char(s, units), Some(chars.len()));
            assert_eq!(utf16_to_char(s, units + 1), None);
        }
    }
}
