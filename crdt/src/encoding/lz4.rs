//! An LZ4 block compressor that spends time for size: it finds the longest match at every
//! position (hash chains over the 64 KiB window), then picks the cheapest sequence of literals
//! and matches by dynamic programming (optimal parsing), 4 KiB of input at a time. Its memory is
//! bounded whatever the input's length (about 200 KiB at most: chain heads, a 64 KiB ring of
//! chain links and one segment's tables), which matters in WebAssembly, where memory once grown
//! is never given back. The output is a plain LZ4 block, read by any LZ4 block decompressor
//! (Weft's is [`super::unlz4`]).
//!
//! Home-made because `lz4_flex` only has the fast greedy compressor; see ARCHITECTURE.md
//! ("LZ4, home-made both ways").

/// Shortest match the format can express.
const MIN_MATCH: usize = 4;
/// The last bytes of a block are always literals (LZ4 block format).
const LAST_LITERALS: usize = 5;
/// The last match must start at least this many bytes before the end of the block.
const MF_LIMIT: usize = 12;
/// Largest match offset.
const WINDOW: usize = 65_535;
/// Most bits of the hash of four bytes that indexes the chain heads (fewer for short inputs).
const HASH_BITS: u32 = 14;
/// Candidates examined per position (more find slightly longer matches, at a cost in time that
/// grows faster than the gain: 8 is within 3% of 96 on the editing traces' texts, at a quarter
/// of the time).
const MAX_ATTEMPTS: u32 = 8;
/// The parser tries every cut of a match up to this length, and longer matches only whole: the
/// cheapest cut is practically always short or whole, and trying every length would make long
/// repeats quadratic. 18 is the longest match whose length fits the token.
const SHORT_MATCH: usize = 18;
/// No candidate.
const NONE: u32 = u32::MAX;
/// Bytes the parser optimises at a time (its tables hold this many entries).
const SEGMENT: usize = 4096;

fn hash(b: [u8; 4], bits: u32) -> usize {
    (u32::from_le_bytes(b).wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

fn four(input: &[u8], i: usize) -> [u8; 4] {
    let mut b = [0u8; 4];
    b.copy_from_slice(&input[i..i + 4]);
    b
}

fn word(input: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&input[i..i + 8]);
    u64::from_le_bytes(b)
}

/// Length of the common prefix of `input[a..limit]` and `input[b..limit]`, `a < b`, compared
/// eight bytes at a time.
fn common(input: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let mut n = 0;
    while b + n + 8 <= limit {
        let x = word(input, a + n) ^ word(input, b + n);
        if x != 0 {
            return n + (x.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + input[b + n..limit]
        .iter()
        .zip(&input[a + n..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Extra bytes a length field needs beyond the token's nibble.
fn extra(n: usize) -> u32 {
    if n < 15 { 0 } else { 1 + (n - 15) as u32 / 255 }
}

/// Hash chains over the window: the last position of every hash and, per position, the
/// distance back to the previous position with the same hash (0: none). The distances live in a
/// ring as long as the window (or the input, when shorter), so memory does not grow with the
/// input beyond 64 KiB.
struct Chains {
    head: Vec<u32>,
    prev: Vec<u16>,
    bits: u32,
    mask: usize,
}

impl Chains {
    fn new(n: usize) -> Self {
        // About one head per position for short inputs (a small update is compressed quickly).
        let bits = (usize::BITS - n.leading_zeros()).clamp(8, HASH_BITS);
        let ring = n.clamp(1, WINDOW + 1).next_power_of_two();
        Chains {
            head: vec![NONE; 1 << bits],
            prev: vec![0; ring],
            bits,
            mask: ring - 1,
        }
    }

    /// The longest match at `i` as `(length, offset)` (length 0: none), then links `i` into its
    /// chain. Positions must come in increasing order.
    fn longest(&mut self, input: &[u8], i: usize) -> (u32, u16) {
        let n = input.len();
        if n <= MF_LIMIT || i > n - MF_LIMIT {
            return (0, 0);
        }
        let h = hash(four(input, i), self.bits);
        let limit = n - LAST_LITERALS;
        let (mut best, mut best_at) = (MIN_MATCH - 1, 0usize);
        let mut c = self.head[h];
        let mut attempts = MAX_ATTEMPTS;
        while c != NONE && attempts > 0 && i - c as usize <= WINDOW {
            let cand = c as usize;
            // A longer match must agree at the current best length first.
            if input.get(cand + best) == input.get(i + best) {
                let len = common(input, cand, i, limit);
                if len > best {
                    (best, best_at) = (len, cand);
                    if i + len == limit {
                        break;
                    }
                }
            }
            // Valid: `cand` is within the window of `i`, and the ring is at least that long.
            let back = self.prev[cand & self.mask] as usize;
            if back == 0 {
                break;
            }
            c = (cand - back) as u32;
            attempts -= 1;
        }
        let back = match self.head[h] {
            NONE => 0,
            p => i - p as usize,
        };
        self.prev[i & self.mask] = if back <= WINDOW { back as u16 } else { 0 };
        self.head[h] = i as u32;
        if best >= MIN_MATCH {
            (best as u32, (i - best_at) as u16)
        } else {
            (0, 0)
        }
    }
}

/// Appends a length field's extension bytes (the part beyond 15).
fn put_len(out: &mut Vec<u8>, n: usize) {
    if n >= 15 {
        let mut rest = n - 15;
        while rest >= 255 {
            out.push(255);
            rest -= 255;
        }
        out.push(rest as u8);
    }
}

/// Appends one sequence: literals, then a match of `len` bytes at `offset` (none when `len` is
/// 0: the block's last literals).
fn put_sequence(out: &mut Vec<u8>, literals: &[u8], offset: u16, len: usize) {
    let lit = literals.len();
    let ml = len.saturating_sub(MIN_MATCH);
    out.push(((lit.min(15) as u8) << 4) | if len > 0 { ml.min(15) as u8 } else { 0 });
    put_len(out, lit);
    out.extend_from_slice(literals);
    if len > 0 {
        out.extend_from_slice(&offset.to_le_bytes());
        put_len(out, ml);
    }
}

/// Compresses `input` into one LZ4 block. The parse is optimal within segments of
/// [`SEGMENT`] bytes (a match is cut at a segment's end), so the parser's tables stay small
/// whatever the input's length.
pub(crate) fn compress(input: &[u8]) -> Vec<u8> {
    let n = input.len();
    let seg = SEGMENT.min(n);
    let mut chains = Chains::new(n);
    let mut matches = vec![(0u32, 0u16); seg];
    // cost[k]: fewest bytes to encode the segment from its k-th byte (literals counted one byte
    // each); step[k]: the match length taken there, or 0 for a literal.
    let mut cost = vec![0u32; seg + 1];
    let mut step = vec![0u32; seg];
    let mut out = Vec::with_capacity(n / 2 + 16);
    let (mut s, mut lit) = (0usize, 0usize);
    while s < n {
        let e = (s + SEGMENT).min(n);
        for i in s..e {
            matches[i - s] = chains.longest(input, i);
        }
        cost[e - s] = 0;
        for i in (s..e).rev() {
            let k = i - s;
            let mut best = cost[k + 1] + 1;
            let mut take = 0;
            let len = (matches[k].0 as usize).min(e - i);
            if len >= MIN_MATCH {
                for l in
                    (MIN_MATCH..=len.min(SHORT_MATCH)).chain((len > SHORT_MATCH).then_some(len))
                {
                    let c = 3 + extra(l - MIN_MATCH) + cost[k + l];
                    if c < best {
                        (best, take) = (c, l as u32);
                    }
                }
            }
            cost[k] = best;
            step[k] = take;
        }
        let mut i = s;
        while i < e {
            let take = step[i - s] as usize;
            if take == 0 {
                i += 1;
                continue;
            }
            put_sequence(&mut out, &input[lit..i], matches[i - s].1, take);
            i += take;
            lit = i;
        }
        s = e;
    }
    put_sequence(&mut out, &input[lit..], 0, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &[u8]) -> usize {
        let comp = compress(input);
        let back = lz4_flex::block::decompress(&comp, input.len()).expect("valid LZ4 block");
        assert_eq!(back, input);
        comp.len()
    }

    #[test]
    fn round_trips_edge_cases() {
        for input in [
            &b""[..],
            b"a",
            b"aaaaaaaaaaaa",
            b"aaaaaaaaaaaaa",
            b"abcdabcdabcdabcdabcd",
            &[7u8; 70_000],
        ] {
            round_trip(input);
        }
    }

    #[test]
    fn round_trips_text_and_beats_the_fast_compressor() {
        let mut text = String::new();
        let words = [
            "the ",
            "weft ",
            "of ",
            "a ",
            "document\n",
            "crdt ",
            "merge ",
            "é",
        ];
        let mut x = 12345u64;
        for _ in 0..40_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            text.push_str(words[(x >> 33) as usize % words.len()]);
        }
        let ours = round_trip(text.as_bytes());
        assert!(ours < lz4_flex::block::compress(text.as_bytes()).len());
    }

    #[test]
    fn round_trips_pseudo_random_bytes_across_the_window() {
        let mut x = 99u64;
        let mut data: Vec<u8> = (0..200_000)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 60) as u8
            })
            .collect();
        let copy = data[..1000].to_vec();
        data.extend_from_slice(&copy);
        round_trip(&data);
    }
}
