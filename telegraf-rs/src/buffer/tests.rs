//! The buffer against a model (a queue with a limit), plus crash damage.

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u16>),
    Peek(usize),
    AckOldestPeek,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u16>(), 1..12).prop_map(Op::Append),
        2 => (1usize..10).prop_map(Op::Peek),
        2 => Just(Op::AckOldestPeek),
        1 => Just(Op::Reopen),
    ]
}

fn line(seq: u64, v: u16) -> Vec<u8> {
    format!("m,s={seq} v={v}i {seq}\n").into_bytes()
}

fn open(dir: &Path, limit: usize) -> DiskBuffer {
    DiskBuffer::open(dir, limit)
        .unwrap()
        .0
        .with_segment_bytes(200)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn behaves_like_a_bounded_queue(limit in 1usize..30, ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = open(dir.path(), limit);
        let mut model: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
        let mut seq = 0u64;
        // Batches read but not yet acknowledged, with the last sequence number each covers.
        let mut pending: VecDeque<(Batch, Option<u64>)> = VecDeque::new();
        for op in ops {
            match op {
                Op::Append(values) => {
                    let lines: Vec<Vec<u8>> = values.iter().map(|v| { seq += 1; line(seq, *v) }).collect();
                    let first = seq + 1 - lines.len() as u64;
                    let dropped = buffer.append(&lines).unwrap();
                    for (i, l) in lines.into_iter().enumerate() {
                        model.push_back((first + i as u64, l));
                    }
                    let mut expect_dropped = 0;
                    while model.len() > limit {
                        model.pop_front();
                        expect_dropped += 1;
                    }
                    prop_assert_eq!(dropped, expect_dropped);
                }
                Op::Peek(max) => {
                    let batch = buffer.peek(max).unwrap();
                    let expected: Vec<u8> = model.iter().take(max).flat_map(|(_, l)| l.clone()).collect();
                    prop_assert_eq!(&batch.body, &expected);
                    prop_assert_eq!(batch.count, model.len().min(max));
                    let last = model.iter().take(max).next_back().map(|(s, _)| *s);
                    pending.push_back((batch, last));
                }
                Op::AckOldestPeek => {
                    if let Some((batch, last)) = pending.pop_front() {
                        buffer.ack(&batch).unwrap();
                        if let Some(last) = last {
                            model.retain(|(s, _)| *s > last);
                        }
                    }
                }
                Op::Reopen => {
                    drop(buffer);
                    buffer = open(dir.path(), limit);
                    pending.clear();
                }
            }
            prop_assert_eq!(buffer.len(), model.len());
        }
        let all = buffer.peek(usize::MAX).unwrap();
        let expected: Vec<u8> = model.iter().flat_map(|(_, l)| l.clone()).collect();
        prop_assert_eq!(all.body, expected);
    }
}

#[test]
fn a_torn_tail_is_cut_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = open(dir.path(), 100);
    buffer.append(&[line(1, 1), line(2, 2)]).unwrap();
    drop(buffer);
    let seg = segment_path(dir.path(), 1);
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
    drop(f);
    let (mut buffer, recovery) = DiskBuffer::open(dir.path(), 100).unwrap();
    assert_eq!(
        recovery,
        Recovery {
            waiting: 2,
            discarded_bytes: 9
        }
    );
    buffer.append(&[line(3, 3)]).unwrap();
    let batch = buffer.peek(10).unwrap();
    assert_eq!(batch.count, 3);
    assert!(batch.body.ends_with(&line(3, 3)));
}

#[test]
fn a_damaged_record_in_an_old_segment_skips_the_rest_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = open(dir.path(), 1000);
    for i in 0..20 {
        buffer.append(&[line(i, 0)]).unwrap();
    }
    drop(buffer);
    let seg = segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&seg).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    std::fs::write(&seg, bytes).unwrap();
    let (mut buffer, recovery) = DiskBuffer::open(dir.path(), 1000).unwrap();
    assert!(recovery.discarded_bytes > 0);
    let all = buffer.peek(1000).unwrap();
    assert_eq!(all.count, recovery.waiting);
    assert!(all.body.ends_with(&line(19, 0)));
}

#[test]
fn acknowledged_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = open(dir.path(), 1000);
    for i in 0..30 {
        buffer.append(&[line(i, 0)]).unwrap();
    }
    let segments = |d: &Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count()
    };
    assert!(segments(dir.path()) > 3);
    let batch = buffer.peek(1000).unwrap();
    buffer.ack(&batch).unwrap();
    assert!(segments(dir.path()) <= 1);
    assert!(buffer.is_empty());
}

#[test]
fn segments_start_with_the_magic_number_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = open(dir.path(), 1000);
    for i in 0..30 {
        buffer.append(&[line(i, 0)]).unwrap();
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "seg") {
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(&bytes[..8], b"TBUF\x01\0\0\0", "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen > 1);
    let (mut again, recovery) = DiskBuffer::open(dir.path(), 1000).unwrap();
    assert_eq!(recovery.waiting, 30);
    assert!(again.peek(1000).unwrap().body.starts_with(&line(0, 0)));
}

/// A segment as telegraf-rs wrote them before segments had a header: records from byte 0.
fn legacy_segment(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend_from_slice(&(l.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(l).to_le_bytes());
        bytes.extend_from_slice(l);
    }
    bytes
}

#[test]
fn segments_without_a_header_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        segment_path(dir.path(), 1),
        legacy_segment(&[line(1, 1), line(2, 2)]),
    )
    .unwrap();
    let (mut buffer, recovery) = DiskBuffer::open(dir.path(), 100).unwrap();
    assert_eq!(
        recovery,
        Recovery {
            waiting: 2,
            discarded_bytes: 0
        }
    );
    // Appends go on in the old segment, and a new one gets the header.
    buffer.append(&[line(3, 3)]).unwrap();
    let batch = buffer.peek(10).unwrap();
    assert_eq!(batch.count, 3);
    assert_eq!(batch.body, [line(1, 1), line(2, 2), line(3, 3)].concat());
    let first = buffer.peek(1).unwrap();
    buffer.ack(&first).unwrap();
    drop(buffer);
    let (mut buffer, recovery) = DiskBuffer::open(dir.path(), 100).unwrap();
    assert_eq!(recovery.waiting, 2);
    assert_eq!(
        buffer.peek(10).unwrap().body,
        [line(2, 2), line(3, 3)].concat()
    );
}

#[test]
fn a_segment_from_a_later_format_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"TBUF\x02\0\0\0".to_vec();
    bytes.extend(legacy_segment(&[line(1, 1)]));
    std::fs::write(segment_path(dir.path(), 1), bytes).unwrap();
    let e = DiskBuffer::open(dir.path(), 100).unwrap_err();
    assert!(
        e.to_string().contains("format version 2") && e.to_string().contains(".seg"),
        "{e}"
    );
}

#[test]
fn a_torn_first_header_is_cut_and_written_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(segment_path(dir.path(), 1), b"TBU").unwrap();
    let (mut buffer, recovery) = DiskBuffer::open(dir.path(), 100).unwrap();
    assert_eq!(
        recovery,
        Recovery {
            waiting: 0,
            discarded_bytes: 3
        }
    );
    buffer.append(&[line(1, 1)]).unwrap();
    let bytes = std::fs::read(segment_path(dir.path(), 1)).unwrap();
    assert_eq!(&bytes[..8], b"TBUF\x01\0\0\0");
    assert_eq!(buffer.peek(10).unwrap().body, line(1, 1));
}

/// The acknowledgement is rewritten in place; one that a power cut tore (bad CRC) or took
/// back reads as an older position, so batches come again and none is lost.
#[test]
fn a_torn_or_older_ack_sends_again_never_skips() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ack.tmp"), b"left by an older version").unwrap();
    let mut buffer = open(dir.path(), 1000);
    for i in 0..6 {
        buffer.append(&[line(i, 0)]).unwrap();
    }
    let first = buffer.peek(2).unwrap();
    buffer.ack(&first).unwrap();
    let ack = std::fs::read(dir.path().join("ack")).unwrap();
    assert_eq!(ack.len(), 20);
    assert!(!dir.path().join("ack.tmp").exists());
    drop(buffer);
    assert_eq!(
        open(dir.path(), 1000).len(),
        4,
        "the acknowledged two are gone"
    );
    // Torn: the offset half-written.
    let mut torn = ack.clone();
    torn[9] ^= 0xff;
    std::fs::write(dir.path().join("ack"), &torn).unwrap();
    let mut reopened = open(dir.path(), 1000);
    assert_eq!(reopened.len(), 6, "from the oldest segment again");
    let all = reopened.peek(1000).unwrap();
    assert_eq!(all.count, 6);
    reopened.ack(&all).unwrap();
    drop(reopened);
    assert!(open(dir.path(), 1000).is_empty());
}

/// Appends are written at once and synced only when asked (an output failed, a segment
/// closes, shutdown); what was delivered needs no sync.
#[test]
fn appends_are_synced_only_when_left_undelivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut buffer = open(dir.path(), 1000);
    buffer.append(&[line(1, 0), line(2, 0)]).unwrap();
    assert!(buffer.unsynced);
    // Written: another reader (the agent after kill -9) sees them before any sync.
    assert_eq!(open(dir.path(), 1000).len(), 2);
    buffer.sync().unwrap();
    assert!(!buffer.unsynced);
    buffer.append(&[line(3, 0)]).unwrap();
    let all = buffer.peek(10).unwrap();
    buffer.ack(&all).unwrap();
    assert!(!buffer.unsynced, "delivered: nothing to sync");
    // Crossing into a new segment syncs the closed one.
    for i in 0..40 {
        buffer.append(&[line(10 + i, 0)]).unwrap();
    }
    assert!(buffer.segments.len() > 1);
    assert!(
        buffer.unsynced,
        "the open segment's last appends wait for a sync"
    );
}
