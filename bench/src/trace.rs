//! Loader for the editing traces of `shared/editing-traces` (see its README for the format and
//! licence: CC BY 4.0, Joseph Gentle and contributors; json-crdt traces by JSON Joy).
//!
//! A trace is gzipped JSON: `{"startContent", "endContent", "txns": [{"patches": [[pos, del,
//! "ins"], ...]}, ...]}`. Positions count chars (Unicode scalar values). The loader also works out
//! every position in UTF-16 code units, for libraries whose text API has no char positions.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// Environment variable naming a directory of `*.json.gz` traces, used instead of the default.
pub const TRACES_ENV: &str = "WEFT_TRACES";

/// The traces `report --quick` covers.
pub const QUICK_TRACES: [&str; 2] = ["automerge-paper", "seph-blog1"];

/// The directory traces are read from: `$WEFT_TRACES` when set, else
/// `shared/editing-traces/sequential` beside the repository.
pub fn traces_dir() -> PathBuf {
    match std::env::var_os(TRACES_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/editing-traces/sequential"),
    }
}

/// The names (file names without `.json.gz`) of the traces in [`traces_dir`], sorted.
///
/// Errors with a message that says where the traces were looked for and how to point at them
/// when the directory is missing or holds no trace.
pub fn available_traces() -> Result<Vec<String>> {
    let dir = traces_dir();
    let missing = |why: &str| {
        Error::new(format!(
            "editing traces not found: {} {why}. Set {TRACES_ENV} to a directory holding the \
             *.json.gz files of the editing-traces collection (see bench/README.md).",
            dir.display()
        ))
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| missing(&format!("cannot be read ({e})")))?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            Some(name.strip_suffix(".json.gz")?.to_owned())
        })
        .collect();
    if names.is_empty() {
        return Err(missing("holds no *.json.gz file"));
    }
    names.sort();
    Ok(names)
}

/// Loads the trace `name` (`<traces_dir>/<name>.json.gz`).
pub fn load(name: &str) -> Result<Trace> {
    let path = traces_dir().join(format!("{name}.json.gz"));
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::new(format!("cannot read trace {}: {e}", path.display())))?;
    Trace::from_gzip(name, &bytes)
}

/// One edit: delete `del` chars at `pos`, then insert `ins` there. The UTF-16 fields give the
/// same edit in UTF-16 code units, measured in the document the edit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit<'a> {
    /// Position in chars.
    pub pos: usize,
    /// Number of chars deleted at `pos`.
    pub del: usize,
    /// `pos` in UTF-16 code units.
    pub pos_utf16: usize,
    /// The deleted range's length in UTF-16 code units.
    pub del_utf16: usize,
    /// Text inserted at `pos` (after the deletion).
    pub ins: &'a str,
}

impl<'a> Edit<'a> {
    /// An edit of ASCII-only (or BMP-only) text, where chars and UTF-16 units coincide.
    pub fn bmp(pos: usize, del: usize, ins: &'a str) -> Self {
        Self {
            pos,
            del,
            pos_utf16: pos,
            del_utf16: del,
            ins,
        }
    }

    /// Number of chars inserted.
    pub fn ins_chars(&self) -> usize {
        self.ins.chars().count()
    }
}

#[derive(Debug, Clone, Copy)]
struct Patch {
    pos: usize,
    del: usize,
    pos_utf16: usize,
    del_utf16: usize,
    ins_start: usize,
    ins_end: usize,
}

/// A parsed editing trace.
#[derive(Debug, Clone)]
pub struct Trace {
    name: String,
    end_content: String,
    /// Every inserted string, concatenated; patches refer to byte ranges of it.
    inserted: String,
    patches: Vec<Patch>,
    /// Exclusive end (index into `patches`) of each transaction.
    txn_ends: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrace {
    #[serde(default)]
    start_content: String,
    end_content: String,
    txns: Vec<RawTxn>,
}

#[derive(Deserialize)]
struct RawTxn {
    patches: Vec<(usize, usize, String)>,
}

impl Trace {
    /// Parses a gzipped trace.
    pub fn from_gzip(name: &str, gz: &[u8]) -> Result<Self> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut json)
            .map_err(|e| Error::new(format!("trace {name}: not valid gzip: {e}")))?;
        Self::from_json(name, &json)
    }

    /// Parses a trace's JSON text. A non-empty `startContent` becomes a first transaction that
    /// inserts it. Every patch is checked against the document length, so a malformed trace is
    /// reported here rather than inside a library.
    pub fn from_json(name: &str, json: &[u8]) -> Result<Self> {
        let raw: RawTrace = serde_json::from_slice(json)
            .map_err(|e| Error::new(format!("trace {name}: not a valid trace: {e}")))?;
        let mut trace = Self {
            name: name.to_owned(),
            end_content: raw.end_content,
            inserted: String::new(),
            patches: Vec::new(),
            txn_ends: Vec::new(),
        };
        let start = (!raw.start_content.is_empty()).then_some(vec![(0, 0, raw.start_content)]);
        let mut len = 0usize; // document length in chars
        for patches in start
            .into_iter()
            .chain(raw.txns.into_iter().map(|t| t.patches))
        {
            for (pos, del, ins) in patches {
                if pos.checked_add(del).is_none_or(|end| end > len) {
                    return Err(Error::new(format!(
                        "trace {name}: patch {} deletes {del} at {pos} in a document of {len} chars",
                        trace.patches.len()
                    )));
                }
                let ins_start = trace.inserted.len();
                trace.inserted.push_str(&ins);
                len = len - del + ins.chars().count();
                trace.patches.push(Patch {
                    pos,
                    del,
                    pos_utf16: pos,
                    del_utf16: del,
                    ins_start,
                    ins_end: trace.inserted.len(),
                });
            }
            trace.txn_ends.push(trace.patches.len());
        }
        if len != trace.end_content.chars().count() {
            return Err(Error::new(format!(
                "trace {name}: the patches leave {len} chars but endContent has {}",
                trace.end_content.chars().count()
            )));
        }
        if trace.inserted.chars().any(|c| c.len_utf16() > 1) {
            trace.compute_utf16();
        }
        Ok(trace)
    }

    /// Fills in the UTF-16 positions by replaying the trace on a simple chunked buffer (only
    /// needed when some inserted char lies outside the Basic Multilingual Plane).
    fn compute_utf16(&mut self) {
        let mut doc = Utf16Tracker::default();
        for patch in &mut self.patches {
            let ins = &self.inserted[patch.ins_start..patch.ins_end];
            (patch.pos_utf16, patch.del_utf16) = doc.splice(patch.pos, patch.del, ins);
        }
    }

    /// The trace's name (its file name without `.json.gz`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text the trace ends with.
    pub fn end_content(&self) -> &str {
        &self.end_content
    }

    /// Number of transactions.
    pub fn txn_count(&self) -> usize {
        self.txn_ends.len()
    }

    /// Number of patches (edits) over all transactions: the trace's operation count.
    pub fn patch_count(&self) -> usize {
        self.patches.len()
    }

    /// The transactions in order, each a list of edits to apply one after another.
    pub fn txns(&self) -> impl Iterator<Item = impl Iterator<Item = Edit<'_>> + '_> + '_ {
        let starts = std::iter::once(0).chain(self.txn_ends.iter().copied());
        starts
            .zip(self.txn_ends.iter().copied())
            .map(move |(start, end)| self.patches[start..end].iter().map(|p| self.edit(p)))
    }

    fn edit(&self, p: &Patch) -> Edit<'_> {
        Edit {
            pos: p.pos,
            del: p.del,
            pos_utf16: p.pos_utf16,
            del_utf16: p.del_utf16,
            ins: &self.inserted[p.ins_start..p.ins_end],
        }
    }
}

/// A document as chunks of chars, just to convert char positions into UTF-16 positions. Each
/// chunk caches its length in UTF-16 units, so a splice costs O(chunks + chunk size + edit).
#[derive(Default)]
struct Utf16Tracker {
    chunks: Vec<(Vec<char>, usize)>,
}

const CHUNK: usize = 512;

fn utf16_len(chars: &[char]) -> usize {
    chars.iter().map(|c| c.len_utf16()).sum()
}

impl Utf16Tracker {
    /// Applies a splice given in chars (within the document, as [`Trace::from_json`] checked) and
    /// returns its position and deleted length in UTF-16 units.
    fn splice(&mut self, pos: usize, del: usize, ins: &str) -> (usize, usize) {
        let (mut chars_before, mut utf16_before, mut first) = (0, 0, 0);
        while let Some((chunk, units)) = self.chunks.get(first) {
            if chars_before + chunk.len() >= pos {
                break;
            }
            chars_before += chunk.len();
            utf16_before += units;
            first += 1;
        }
        let (mut last, mut covered) = (first, chars_before);
        while let Some((chunk, _)) = self.chunks.get(last) {
            if last > first && covered >= pos + del {
                break;
            }
            covered += chunk.len();
            last += 1;
        }
        let mut local: Vec<char> = self.chunks.drain(first..last).flat_map(|c| c.0).collect();
        let offset = pos - chars_before;
        let pos_utf16 = utf16_before + utf16_len(&local[..offset]);
        let del_utf16 = utf16_len(&local[offset..offset + del]);
        local.splice(offset..offset + del, ins.chars());
        let rebuilt = local.chunks(CHUNK).map(|c| (c.to_vec(), utf16_len(c)));
        self.chunks.splice(first..first, rebuilt);
        (pos_utf16, del_utf16)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(json: &str) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(json.as_bytes()).unwrap();
        enc.finish().unwrap()
    }

    fn apply(trace: &Trace) -> (String, Vec<u16>) {
        let mut chars: Vec<char> = Vec::new();
        let mut utf16: Vec<u16> = Vec::new();
        for txn in trace.txns() {
            for e in txn {
                chars.splice(e.pos..e.pos + e.del, e.ins.chars());
                utf16.splice(e.pos_utf16..e.pos_utf16 + e.del_utf16, e.ins.encode_utf16());
            }
        }
        (chars.into_iter().collect(), utf16)
    }

    #[test]
    fn parses_a_gzipped_trace() {
        let json = r#"{"startContent":"","endContent":"héllo!","txns":[
            {"time":"x","patches":[[0,0,"hello"]]},
            {"patches":[[5,0,"!"],[1,1,"é"]]}]}"#;
        let trace = Trace::from_gzip("tiny", &gzip(json)).unwrap();
        assert_eq!(trace.name(), "tiny");
        assert_eq!(trace.txn_count(), 2);
        assert_eq!(trace.patch_count(), 3);
        let sizes: Vec<usize> = trace.txns().map(Iterator::count).collect();
        assert_eq!(sizes, [1, 2]);
        assert_eq!(apply(&trace).0, trace.end_content());
    }

    #[test]
    fn utf16_positions_account_for_astral_chars() {
        let json = r#"{"startContent":"a😀b","endContent":"a😀xc","txns":[
            {"patches":[[3,0,"c"]]},{"patches":[[2,1,"x"]]}]}"#;
        let trace = Trace::from_json("astral", json.as_bytes()).unwrap();
        assert_eq!(trace.txn_count(), 3, "startContent becomes a transaction");
        let (text, utf16) = apply(&trace);
        assert_eq!(text, "a😀xc");
        assert_eq!(String::from_utf16(&utf16).unwrap(), "a😀xc");
        let last = trace.txns().last().unwrap().next().unwrap();
        assert_eq!((last.pos, last.pos_utf16, last.del_utf16), (2, 3, 1));
    }

    #[test]
    fn utf16_tracker_matches_a_naive_model() {
        let mut rng = crate::rng::SplitMix64::new(3);
        let mut tracker = Utf16Tracker::default();
        let mut model: Vec<char> = Vec::new();
        let alphabet = ['a', 'é', '😀', '\u{10FFFF}', 'z'];
        for _ in 0..3000 {
            let pos = rng.below(model.len() + 1);
            let del = rng.below((model.len() - pos).min(40) + 1);
            let ins: String = (0..rng.below(30)).map(|_| alphabet[rng.below(5)]).collect();
            let expected = (
                model[..pos].iter().map(|c| c.len_utf16()).sum::<usize>(),
                model[pos..pos + del]
                    .iter()
                    .map(|c| c.len_utf16())
                    .sum::<usize>(),
            );
            assert_eq!(tracker.splice(pos, del, &ins), expected);
            model.splice(pos..pos + del, ins.chars());
        }
        let flat: Vec<char> = tracker.chunks.iter().flat_map(|c| c.0.clone()).collect();
        assert_eq!(flat, model);
    }

    #[test]
    fn rejects_malformed_traces() {
        let out_of_range = r#"{"endContent":"","txns":[{"patches":[[1,0,"a"]]}]}"#;
        let err = Trace::from_json("bad", out_of_range.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("document of 0 chars"), "{err}");
        let wrong_end = r#"{"endContent":"ab","txns":[{"patches":[[0,0,"a"]]}]}"#;
        assert!(Trace::from_json("bad", wrong_end.as_bytes()).is_err());
        assert!(Trace::from_gzip("bad", b"not gzip").is_err());
        assert!(Trace::from_json("bad", b"{}").is_err());
    }
}
