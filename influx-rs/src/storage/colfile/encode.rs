//! Block codec: one block holds up to [`MAX_BLOCK_POINTS`] points of one column.
//!
//! Times: a regular series (one step) is stored as first time + step; anything else as
//! delta-of-delta zig-zag varints. Integers and unsigned integers: zig-zag deltas, packed as
//! nibbles when nearly all are small (a random walk costs ~4 bits before zstd) and as varints
//! otherwise. Floats are XOR'ed with their predecessor; booleans bit-packed; strings
//! length-prefixed. Times and values then go through zstd together — unless that would not make
//! them smaller (a block of a few points: zstd's frame alone is about ten bytes), when they are
//! stored as they are — and the block carries a CRC-32 of its bytes.

use crate::storage::column::{Column, Values};
use crate::storage::value::FieldType;
use crate::storage::varint::{get_bytes, get_uvarint, put_uvarint, unzigzag, zigzag};

/// Points per block: large enough for zstd to find the entropy, small enough for range reads.
pub const MAX_BLOCK_POINTS: usize = 4096;

/// zstd level of cache snapshots (on the ingest path: fast).
pub const SNAPSHOT_LEVEL: i32 = 1;
/// zstd level of compactions (in the background: smaller).
pub const COMPACTION_LEVEL: i32 = 3;

/// Set in a block's type byte when its times and values are stored without zstd.
const STORED: u8 = 0x80;
/// Encoded times and values shorter than this are stored without trying zstd: its frame costs
/// more than it could save (and a snapshot of many one-point series would spend most of its
/// time setting up compressions).
const STORE_BELOW: usize = 64;

const TIMES_DOD: u8 = 0;
const TIMES_REGULAR: u8 = 1;
const TIMES_DOD_SCALED: u8 = 2;
const INTS_VARINT: u8 = 0;
const INTS_NIBBLE: u8 = 1;
/// A nibble that announces a full 64-bit value in the next 16 nibbles.
const NIBBLE_ESCAPE: u64 = 15;

/// Why a block could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The CRC does not match the bytes.
    #[error("block checksum mismatch")]
    Checksum,
    /// Bytes that do not follow the layout.
    #[error("malformed block: {0}")]
    Malformed(&'static str),
}

/// The largest `k ≤ 18` such that every delta is a multiple of `10^k` (times in ms or s stored
/// in ns have many trailing zeros; dividing them out shrinks the varints).
fn decimal_scale(times: &[i64]) -> u32 {
    let mut k = 0;
    while k < 18 {
        let unit = 10i64.pow(k + 1);
        if times
            .windows(2)
            .all(|w| w[1].wrapping_sub(w[0]) % unit == 0)
        {
            k += 1;
        } else {
            break;
        }
    }
    k
}

fn encode_times(times: &[i64], out: &mut Vec<u8>) {
    let step = match times {
        [a, b, ..] => b.wrapping_sub(*a),
        _ => 0,
    };
    if times.len() > 2 && times.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step) {
        out.push(TIMES_REGULAR);
        put_uvarint(out, zigzag(times[0]));
        put_uvarint(out, zigzag(step));
        return;
    }
    let scale = decimal_scale(times);
    if scale > 0 {
        out.push(TIMES_DOD_SCALED);
        out.push(scale as u8);
    } else {
        out.push(TIMES_DOD);
    }
    let unit = 10i64.pow(scale);
    let mut prev = 0i64;
    let mut prev_delta = 0i64;
    for (i, &t) in times.iter().enumerate() {
        if i == 0 {
            put_uvarint(out, zigzag(t));
        } else {
            let delta = t.wrapping_sub(prev) / unit;
            put_uvarint(out, zigzag(delta.wrapping_sub(prev_delta)));
            prev_delta = delta;
        }
        prev = t;
    }
}

fn decode_times(buf: &[u8], n: usize) -> Option<Vec<i64>> {
    let mut pos = 1;
    let mut out = Vec::with_capacity(n);
    let mode = *buf.first()?;
    match mode {
        TIMES_REGULAR => {
            let first = unzigzag(get_uvarint(buf, &mut pos)?);
            let step = unzigzag(get_uvarint(buf, &mut pos)?);
            let mut t = first;
            for _ in 0..n {
                out.push(t);
                t = t.wrapping_add(step);
            }
        }
        TIMES_DOD | TIMES_DOD_SCALED => {
            let unit = if mode == TIMES_DOD_SCALED {
                let scale = u32::from(*get_bytes(buf, &mut pos, 1)?.first()?);
                10i64.checked_pow(scale).filter(|_| scale <= 18)?
            } else {
                1
            };
            let mut prev = 0i64;
            let mut delta = 0i64;
            for i in 0..n {
                let v = unzigzag(get_uvarint(buf, &mut pos)?);
                let t = if i == 0 {
                    v
                } else {
                    delta = delta.wrapping_add(v);
                    prev.wrapping_add(delta.wrapping_mul(unit))
                };
                out.push(t);
                prev = t;
            }
        }
        _ => return None,
    }
    (pos == buf.len()).then_some(out)
}

/// Zig-zag deltas of a sequence of 64-bit words (signed or unsigned, wrapping).
fn zigzag_deltas(words: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut prev = 0u64;
    words
        .map(|w| {
            let d = zigzag(w.wrapping_sub(prev) as i64);
            prev = w;
            d
        })
        .collect()
}

fn encode_deltas(deltas: &[u64], out: &mut Vec<u8>) {
    let small = deltas.iter().filter(|&&d| d < NIBBLE_ESCAPE).count();
    // An escaped value costs 17 nibbles: nibbles win while escapes stay rare.
    if small * 10 >= deltas.len() * 9 {
        out.push(INTS_NIBBLE);
        let mut nibbles = Vec::with_capacity(deltas.len() + 1);
        for &d in deltas {
            if d < NIBBLE_ESCAPE {
                nibbles.push(d as u8);
            } else {
                nibbles.push(NIBBLE_ESCAPE as u8);
                nibbles.extend((0..16).map(|i| ((d >> (4 * i)) & 0xf) as u8));
            }
        }
        for pair in nibbles.chunks(2) {
            out.push(pair[0] | pair.get(1).map_or(0, |n| n << 4));
        }
    } else {
        out.push(INTS_VARINT);
        for &d in deltas {
            put_uvarint(out, d);
        }
    }
}

fn decode_deltas(buf: &[u8], n: usize) -> Option<Vec<u64>> {
    let mut out = Vec::with_capacity(n);
    match *buf.first()? {
        INTS_NIBBLE => {
            let body = &buf[1..];
            let nibble = |i: usize| {
                body.get(i / 2)
                    .map(|b| u64::from((b >> (4 * (i % 2))) & 0xf))
            };
            let mut i = 0;
            while out.len() < n {
                let v = nibble(i)?;
                i += 1;
                if v == NIBBLE_ESCAPE {
                    let mut d = 0u64;
                    for k in 0..16 {
                        d |= nibble(i)? << (4 * k);
                        i += 1;
                    }
                    out.push(d);
                } else {
                    out.push(v);
                }
            }
            (i.div_ceil(2) == body.len()).then_some(out)
        }
        INTS_VARINT => {
            let mut pos = 1;
            for _ in 0..n {
                out.push(get_uvarint(buf, &mut pos)?);
            }
            (pos == buf.len()).then_some(out)
        }
        _ => None,
    }
}

fn undelta(deltas: Vec<u64>) -> impl Iterator<Item = u64> {
    let mut prev = 0u64;
    deltas.into_iter().map(move |d| {
        prev = prev.wrapping_add(unzigzag(d) as u64);
        prev
    })
}

fn encode_values(values: &Values, start: usize, end: usize, out: &mut Vec<u8>) {
    match values {
        Values::Float(v) => {
            let mut prev = 0u64;
            for f in &v[start..end] {
                let bits = f.to_bits();
                out.extend_from_slice(&(bits ^ prev).to_be_bytes());
                prev = bits;
            }
        }
        Values::Integer(v) => {
            encode_deltas(&zigzag_deltas(v[start..end].iter().map(|&x| x as u64)), out)
        }
        Values::Unsigned(v) => encode_deltas(&zigzag_deltas(v[start..end].iter().copied()), out),
        Values::Boolean(v) => {
            for chunk in v[start..end].chunks(8) {
                let mut byte = 0u8;
                for (i, &b) in chunk.iter().enumerate() {
                    byte |= u8::from(b) << i;
                }
                out.push(byte);
            }
        }
        Values::String(v) => {
            for s in &v[start..end] {
                put_uvarint(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

fn decode_values(ty: FieldType, buf: &[u8], n: usize) -> Option<Values> {
    let mut pos = 0;
    let values = match ty {
        FieldType::Float => {
            let mut prev = 0u64;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let x = u64::from_be_bytes(get_bytes(buf, &mut pos, 8)?.try_into().ok()?);
                prev ^= x;
                v.push(f64::from_bits(prev));
            }
            Values::Float(v)
        }
        FieldType::Integer => {
            return Some(Values::Integer(
                undelta(decode_deltas(buf, n)?).map(|w| w as i64).collect(),
            ))
        }
        FieldType::Unsigned => {
            return Some(Values::Unsigned(undelta(decode_deltas(buf, n)?).collect()))
        }
        FieldType::Boolean => {
            let bytes = get_bytes(buf, &mut pos, n.div_ceil(8))?;
            Values::Boolean((0..n).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect())
        }
        FieldType::String => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let len = usize::try_from(get_uvarint(buf, &mut pos)?).ok()?;
                v.push(String::from_utf8(get_bytes(buf, &mut pos, len)?.to_vec()).ok()?);
            }
            Values::String(v)
        }
    };
    (pos == buf.len()).then_some(values)
}

/// Encodes blocks, reusing one zstd context and scratch buffers for a whole file.
pub struct BlockEncoder {
    compressor: zstd::bulk::Compressor<'static>,
    raw: Vec<u8>,
    times: Vec<u8>,
}

impl BlockEncoder {
    /// An encoder compressing at zstd `level`.
    pub fn new(level: i32) -> std::io::Result<BlockEncoder> {
        Ok(BlockEncoder {
            compressor: zstd::bulk::Compressor::new(level)?,
            raw: Vec::new(),
            times: Vec::new(),
        })
    }

    /// Encodes points `start..end` of `column` as one block (CRC included).
    pub fn encode(
        &mut self,
        column: &Column,
        start: usize,
        end: usize,
    ) -> std::io::Result<Vec<u8>> {
        self.times.clear();
        encode_times(&column.times[start..end], &mut self.times);
        self.raw.clear();
        put_uvarint(&mut self.raw, self.times.len() as u64);
        self.raw.extend_from_slice(&self.times);
        encode_values(&column.values, start, end, &mut self.raw);
        let compressed = match self.raw.len() {
            n if n < STORE_BELOW => None,
            n => Some(self.compressor.compress(&self.raw)?).filter(|c| c.len() < n),
        };
        let body = compressed.as_deref().unwrap_or(&self.raw);
        let mut block = Vec::with_capacity(body.len() + 16);
        block.extend_from_slice(&[0; 4]);
        let stored = if compressed.is_some() { 0 } else { STORED };
        block.push(column.values.field_type() as u8 | stored);
        put_uvarint(&mut block, (end - start) as u64);
        put_uvarint(&mut block, self.raw.len() as u64);
        block.extend_from_slice(body);
        let crc = crc32fast::hash(&block[4..]);
        block[..4].copy_from_slice(&crc.to_le_bytes());
        Ok(block)
    }
}

thread_local! {
    /// One zstd context per thread, kept across blocks: making one per block showed up in
    /// the profile of short queries.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Unpacks a block's zstd body of `raw_len` bytes.
fn decompress(compressed: &[u8], raw_len: usize) -> Result<Vec<u8>, BlockError> {
    let malformed = |_| BlockError::Malformed("compressed data");
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match &mut *slot {
            Some(d) => d,
            empty => empty.insert(zstd::bulk::Decompressor::new().map_err(malformed)?),
        };
        decompressor
            .decompress(compressed, raw_len)
            .map_err(malformed)
    })
}

/// Decodes a block written by [`BlockEncoder::encode`].
pub fn decode_block(block: &[u8]) -> Result<Column, BlockError> {
    let body = block.get(4..).ok_or(BlockError::Malformed("short block"))?;
    let crc = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
    if crc32fast::hash(body) != crc {
        return Err(BlockError::Checksum);
    }
    let tag = *body.first().ok_or(BlockError::Malformed("short block"))?;
    let ty = FieldType::from_tag(tag & !STORED).ok_or(BlockError::Malformed("unknown type"))?;
    let mut pos = 1;
    let n = get_uvarint(body, &mut pos)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= MAX_BLOCK_POINTS)
        .ok_or(BlockError::Malformed("point count"))?;
    let raw_len = get_uvarint(body, &mut pos)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= 64 * 1024 * 1024)
        .ok_or(BlockError::Malformed("raw length"))?;
    let raw = match tag & STORED {
        0 => std::borrow::Cow::Owned(decompress(&body[pos..], raw_len)?),
        _ => std::borrow::Cow::Borrowed(
            body.get(pos..)
                .filter(|stored| stored.len() == raw_len)
                .ok_or(BlockError::Malformed("stored length"))?,
        ),
    };
    let mut rpos = 0;
    let tlen = get_uvarint(&raw, &mut rpos)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(BlockError::Malformed("times length"))?;
    let tbytes = get_bytes(&raw, &mut rpos, tlen).ok_or(BlockError::Malformed("times"))?;
    let times = decode_times(tbytes, n).ok_or(BlockError::Malformed("times"))?;
    let values = decode_values(ty, &raw[rpos..], n).ok_or(BlockError::Malformed("values"))?;
    Ok(Column { times, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(ty: u8, n: usize) -> BoxedStrategy<Values> {
        match ty % 5 {
            0 => proptest::collection::vec(any::<f64>(), n)
                .prop_map(Values::Float)
                .boxed(),
            1 => proptest::collection::vec(any::<i64>(), n)
                .prop_map(Values::Integer)
                .boxed(),
            2 => proptest::collection::vec(any::<u64>(), n)
                .prop_map(Values::Unsigned)
                .boxed(),
            3 => proptest::collection::vec(".{0,5}", n)
                .prop_map(Values::String)
                .boxed(),
            _ => proptest::collection::vec(any::<bool>(), n)
                .prop_map(Values::Boolean)
                .boxed(),
        }
    }

    /// Whether a decoded column has the points encoded, floats compared bitwise (NaN).
    fn same_points(back: &Column, c: &Column) -> Result<(), TestCaseError> {
        prop_assert_eq!(&back.times, &c.times);
        match (&back.values, &c.values) {
            (Values::Float(a), Values::Float(b)) => {
                let a: Vec<u64> = a.iter().map(|f| f.to_bits()).collect();
                let b: Vec<u64> = b.iter().map(|f| f.to_bits()).collect();
                prop_assert_eq!(a, b);
            }
            (a, b) => prop_assert_eq!(a, b),
        }
        Ok(())
    }

    fn column() -> impl Strategy<Value = Column> {
        (0u8..5, 1usize..MAX_BLOCK_POINTS).prop_flat_map(|(ty, n)| {
            (proptest::collection::vec(any::<i64>(), n), values(ty, n))
                .prop_map(|(times, values)| Column { times, values })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn blocks_round_trip(c in column()) {
            let block = BlockEncoder::new(COMPACTION_LEVEL).unwrap().encode(&c, 0, c.len()).unwrap();
            let back = decode_block(&block).unwrap();
            same_points(&back, &c)?;
        }

        #[test]
        fn damaged_blocks_are_errors_not_panics(c in column(), at in any::<usize>(), bit in 0u8..8) {
            let mut block = BlockEncoder::new(COMPACTION_LEVEL).unwrap().encode(&c, 0, c.len()).unwrap();
            let i = at % block.len();
            block[i] ^= 1 << bit;
            prop_assert!(decode_block(&block).is_err());
            let _ = decode_block(&block[..i]);
        }
    }

    /// Random walks (nibble mode), large deltas (varint mode), regular and jittered times.
    #[test]
    fn integer_modes_and_time_modes_round_trip() {
        let mut enc = BlockEncoder::new(SNAPSHOT_LEVEL).unwrap();
        let walk: Vec<i64> = (0..4000).map(|i| 50 + (i * 7919 % 5) - 2).collect();
        let jumps: Vec<i64> = (0..4000)
            .map(|i| i * 1_000_003 - (i % 3) * (i64::MAX / 4))
            .collect();
        let jittered: Vec<i64> = (0..4000)
            .map(|i| i * 10_000_000_000 + (i * 7919 % 1000) * 1_000_000)
            .collect();
        let jittered_ns: Vec<i64> = jittered.iter().map(|t| t + t % 7).collect();
        for values in [walk, jumps] {
            for times in [
                (0..4000).map(|i| i * 10).collect::<Vec<_>>(),
                jittered.clone(),
                jittered_ns.clone(),
            ] {
                let c = Column {
                    times,
                    values: Values::Integer(values.clone()),
                };
                let block = enc.encode(&c, 0, c.len()).unwrap();
                assert_eq!(decode_block(&block).unwrap(), c);
            }
        }
    }

    proptest! {
        /// Blocks of a few points read back the same; a few floats (under 64 bytes encoded) are
        /// stored without zstd.
        #[test]
        fn short_blocks_round_trip_and_are_stored(
            c in (0u8..5, 1usize..4).prop_flat_map(|(ty, n)| {
                (proptest::collection::vec(any::<i64>(), n), values(ty, n))
                    .prop_map(|(times, values)| Column { times, values })
            }),
        ) {
            let block = BlockEncoder::new(SNAPSHOT_LEVEL).unwrap().encode(&c, 0, c.len()).unwrap();
            if matches!(c.values, Values::Float(_)) {
                prop_assert_eq!(block[4] & STORED, STORED);
            }
            let back = decode_block(&block).unwrap();
            same_points(&back, &c)?;
        }
    }

    /// A one-point float block: 4 (CRC) + 3 (type, count, length) + the encoded point, where
    /// zstd's frame made it 30 bytes.
    #[test]
    fn a_one_point_block_is_its_encoded_point() {
        let c = Column {
            times: vec![1_700_000_000_000_000_000],
            values: Values::Float(vec![0.5]),
        };
        let block = BlockEncoder::new(SNAPSHOT_LEVEL)
            .unwrap()
            .encode(&c, 0, 1)
            .unwrap();
        assert!(
            block.len() <= 4 + 3 + 1 + 1 + 9 + 1 + 8,
            "{} bytes",
            block.len()
        );
        assert_eq!(decode_block(&block).unwrap(), c);
    }

    #[test]
    fn regular_series_compress_well() {
        let times: Vec<i64> = (0..1000)
            .map(|i| 1_451_606_400_000_000_000 + i * 10_000_000_000)
            .collect();
        let values = Values::Integer((0..1000).map(|i| 50 + (i % 7) - 3).collect());
        let c = Column { times, values };
        let block = BlockEncoder::new(COMPACTION_LEVEL)
            .unwrap()
            .encode(&c, 0, c.len())
            .unwrap();
        assert!(block.len() < 500, "{} bytes for 1000 points", block.len());
    }
}
