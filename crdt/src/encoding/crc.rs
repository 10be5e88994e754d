//! CRC-32 (IEEE 802.3, as zlib computes it) of whole-document encodings: `crc32fast` natively;
//! on wasm32 a byte-at-a-time table, which keeps `crc32fast`'s 16 KB of slice-by-16 tables out
//! of the npm package (about 17 KB gzipped) at a speed that still checks 100 KB in well under a
//! millisecond.

/// The CRC-32 of `bytes`.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The CRC-32 of `bytes`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    bytewise(bytes)
}

/// The reflected CRC-32 of every byte value (polynomial 0xEDB88320).
#[cfg(any(target_arch = "wasm32", test))]
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

#[cfg(any(target_arch = "wasm32", test))]
fn bytewise(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c = TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytewise_matches_crc32fast() {
        assert_eq!(bytewise(b""), 0);
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(bytewise(b"123456789"), 0xCBF4_3926);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for len in [1, 2, 3, 15, 16, 17, 255, 4096, 5000] {
            assert_eq!(
                bytewise(&data[..len]),
                crc32fast::hash(&data[..len]),
                "{len}"
            );
        }
    }
}
