//! Block codec: one block holds up to [`MAX_BLOCK_POINTS`] points of one column.
//!
//! Times are delta-of-delta, integers delta, both zig-zag varints; floats are XOR'ed with their
//! predecessor; booleans are bit-packed; strings are length-prefixed. The encoded times and
//! values then go through zstd together, and the block carries a CRC-32 of its bytes.

use crate::storage::column::{Column, Values};
use crate::storage::value::FieldType;
use crate::storage::varint::{get_bytes, get_uvarint, put_uvarint, unzigzag, zigzag};

/// Points per block; large enough for good compression, small enough for cheap range reads.
pub const MAX_BLOCK_POINTS: usize = 1000;
const ZSTD_LEVEL: i32 = 3;

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

fn encode_times(times: &[i64], out: &mut Vec<u8>) {
    let mut prev = 0i64;
    let mut prev_delta = 0i64;
    for (i, &t) in times.iter().enumerate() {
        if i == 0 {
            put_uvarint(out, zigzag(t));
        } else {
            let delta = t.wrapping_sub(prev);
            put_uvarint(out, zigzag(delta.wrapping_sub(prev_delta)));
            prev_delta = delta;
        }
        prev = t;
    }
}

fn decode_times(buf: &[u8], n: usize) -> Option<Vec<i64>> {
    let mut pos = 0;
    let mut out = Vec::with_capacity(n);
    let mut prev = 0i64;
    let mut delta = 0i64;
    for i in 0..n {
        let v = unzigzag(get_uvarint(buf, &mut pos)?);
        let t = if i == 0 {
            v
        } else {
            delta = delta.wrapping_add(v);
            prev.wrapping_add(delta)
        };
        out.push(t);
        prev = t;
    }
    (pos == buf.len()).then_some(out)
}

fn encode_values(values: &Values, out: &mut Vec<u8>) {
    match values {
        Values::Float(v) => {
            let mut prev = 0u64;
            for f in v {
                let bits = f.to_bits();
                out.extend_from_slice(&(bits ^ prev).to_be_bytes());
                prev = bits;
            }
        }
        Values::Integer(v) => {
            let mut prev = 0i64;
            for &x in v {
                put_uvarint(out, zigzag(x.wrapping_sub(prev)));
                prev = x;
            }
        }
        Values::Unsigned(v) => {
            let mut prev = 0u64;
            for &x in v {
                put_uvarint(out, zigzag(x.wrapping_sub(prev) as i64));
                prev = x;
            }
        }
        Values::Boolean(v) => {
            for chunk in v.chunks(8) {
                let mut byte = 0u8;
                for (i, &b) in chunk.iter().enumerate() {
                    byte |= u8::from(b) << i;
                }
                out.push(byte);
            }
        }
        Values::String(v) => {
            for s in v {
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
            let mut prev = 0i64;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                prev = prev.wrapping_add(unzigzag(get_uvarint(buf, &mut pos)?));
                v.push(prev);
            }
            Values::Integer(v)
        }
        FieldType::Unsigned => {
            let mut prev = 0u64;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                prev = prev.wrapping_add(unzigzag(get_uvarint(buf, &mut pos)?) as u64);
                v.push(prev);
            }
            Values::Unsigned(v)
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

/// Encodes `column[range]` as one block (CRC included).
pub fn encode_block(column: &Column, start: usize, end: usize) -> std::io::Result<Vec<u8>> {
    let part = column.range_by_index(start, end);
    let mut raw = Vec::with_capacity((end - start) * 4);
    let mut times = Vec::with_capacity((end - start) * 2);
    encode_times(&part.times, &mut times);
    put_uvarint(&mut raw, times.len() as u64);
    raw.extend_from_slice(&times);
    encode_values(&part.values, &mut raw);
    let compressed = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
    let mut block = Vec::with_capacity(compressed.len() + 16);
    block.extend_from_slice(&[0; 4]);
    block.push(part.values.field_type() as u8);
    put_uvarint(&mut block, part.len() as u64);
    put_uvarint(&mut block, raw.len() as u64);
    block.extend_from_slice(&compressed);
    let crc = crc32fast::hash(&block[4..]);
    block[..4].copy_from_slice(&crc.to_le_bytes());
    Ok(block)
}

/// Decodes a block written by [`encode_block`].
pub fn decode_block(block: &[u8]) -> Result<Column, BlockError> {
    let body = block.get(4..).ok_or(BlockError::Malformed("short block"))?;
    let crc = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
    if crc32fast::hash(body) != crc {
        return Err(BlockError::Checksum);
    }
    let ty = body
        .first()
        .and_then(|&t| FieldType::from_tag(t))
        .ok_or(BlockError::Malformed("unknown type"))?;
    let mut pos = 1;
    let n = get_uvarint(body, &mut pos)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= MAX_BLOCK_POINTS)
        .ok_or(BlockError::Malformed("point count"))?;
    let raw_len = get_uvarint(body, &mut pos)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= 64 * 1024 * 1024)
        .ok_or(BlockError::Malformed("raw length"))?;
    let raw = zstd::bulk::decompress(&body[pos..], raw_len)
        .map_err(|_| BlockError::Malformed("compressed data"))?;
    let mut rpos = 0;
    let tlen = get_uvarint(&raw, &mut rpos)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or(BlockError::Malformed("times length"))?;
    let tbytes = get_bytes(&raw, &mut rpos, tlen).ok_or(BlockError::Malformed("times"))?;
    let times = decode_times(tbytes, n).ok_or(BlockError::Malformed("times"))?;
    let values = decode_values(ty, &raw[rpos..], n).ok_or(BlockError::Malformed("values"))?;
    Ok(Column { times, values })
}

impl Column {
    /// Points `start..end` by position.
    fn range_by_index(&self, start: usize, end: usize) -> Column {
        let values = match &self.values {
            Values::Float(v) => Values::Float(v[start..end].to_vec()),
            Values::Integer(v) => Values::Integer(v[start..end].to_vec()),
            Values::Unsigned(v) => Values::Unsigned(v[start..end].to_vec()),
            Values::String(v) => Values::String(v[start..end].to_vec()),
            Values::Boolean(v) => Values::Boolean(v[start..end].to_vec()),
        };
        Column {
            times: self.times[start..end].to_vec(),
            values,
        }
    }
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
            let block = encode_block(&c, 0, c.len()).unwrap();
            let back = decode_block(&block).unwrap();
            prop_assert_eq!(back.times, c.times);
            // Compare floats bitwise (NaN).
            match (&back.values, &c.values) {
                (Values::Float(a), Values::Float(b)) => {
                    let a: Vec<u64> = a.iter().map(|f| f.to_bits()).collect();
                    let b: Vec<u64> = b.iter().map(|f| f.to_bits()).collect();
                    prop_assert_eq!(a, b);
                }
                (a, b) => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn damaged_blocks_are_errors_not_panics(c in column(), at in any::<usize>(), bit in 0u8..8) {
            let mut block = encode_block(&c, 0, c.len()).unwrap();
            let i = at % block.len();
            block[i] ^= 1 << bit;
            prop_assert!(decode_block(&block).is_err());
            let _ = decode_block(&block[..i]);
        }
    }

    #[test]
    fn regular_series_compress_well() {
        let times: Vec<i64> = (0..1000)
            .map(|i| 1_451_606_400_000_000_000 + i * 10_000_000_000)
            .collect();
        let values = Values::Integer((0..1000).map(|i| 50 + (i % 7) - 3).collect());
        let c = Column { times, values };
        let block = encode_block(&c, 0, c.len()).unwrap();
        assert!(block.len() < 1000, "{} bytes for 1000 points", block.len());
    }
}
