//! The journal's line format. Each record is one line: its CRC-32 in 8 hex digits, a
//! space, and the record as JSON:
//!
//! ```text
//! 1c291ca3 {"seq":42,"at":"2026-…","policy":"single",…}
//! ```
//!
//! A crash can leave the last lines of a segment half written (no newline, a wrong CRC, or
//! zeros where the file grew but its data never reached the disk). Such a tail was never
//! acknowledged, since a record is acknowledged only after its fsync, so reading stops there
//! and reports it; the caller decides whether a torn tail may be where it is.

use std::path::Path;

use super::snapshot::Record;
use super::PersistError;

/// Appends one record's line to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) -> Result<(), PersistError> {
    let json = serde_json::to_vec(record)?;
    let crc = crc32fast::hash(&json);
    out.extend_from_slice(format!("{crc:08x} ").as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(())
}

/// The records of one segment, and where its torn tail starts, if it has one.
#[derive(Debug, Default)]
pub struct Segment {
    pub records: Vec<Record>,
    pub torn_at: Option<usize>,
}

/// Decodes a segment's bytes. A line whose CRC matches but whose JSON is not a record is
/// corruption (or a newer format), not a torn write, and is an error.
pub fn decode(bytes: &[u8], source: &str) -> Result<Segment, PersistError> {
    let mut seg = Segment::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(len) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            seg.torn_at = Some(pos);
            break;
        };
        let line = &bytes[pos..pos + len];
        let Some(json) = checked(line) else {
            seg.torn_at = Some(pos);
            break;
        };
        let record: Record = serde_json::from_slice(json).map_err(|e| PersistError::Corrupt {
            path: source.to_string(),
            message: format!("journal record at byte {pos}: {e}"),
        })?;
        seg.records.push(record);
        pos += len + 1;
    }
    Ok(seg)
}

/// The JSON of a line whose CRC matches.
fn checked(line: &[u8]) -> Option<&[u8]> {
    let (crc, rest) = line.split_at_checked(8)?;
    let json = rest.strip_prefix(b" ")?;
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    (crc32fast::hash(json) == crc).then_some(json)
}

/// Reads and decodes a segment file.
pub fn read(path: &Path) -> Result<Segment, PersistError> {
    let bytes = std::fs::read(path).map_err(|source| PersistError::Read {
        path: path.display().to_string(),
        source,
    })?;
    decode(&bytes, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyKind;
    use crate::devices::registry::DeviceChanges;
    use crate::domain::db::DbDelta;

    fn record(seq: u64) -> Record {
        let mut r = Record::new(
            chrono::Utc::now(),
            PolicyKind::Single,
            seq as i64,
            DbDelta::default(),
            DeviceChanges::default(),
        );
        r.seq = seq;
        r
    }

    fn lines(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for seq in 1..=n {
            encode(&record(seq), &mut out).unwrap();
        }
        out
    }

    fn seqs(seg: &Segment) -> Vec<u64> {
        seg.records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn records_come_back_in_order() {
        let seg = decode(&lines(3), "t").unwrap();
        assert_eq!(seqs(&seg), [1, 2, 3]);
        assert_eq!(seg.records[2].clock_offset_secs, 3);
        assert_eq!(seg.torn_at, None);
    }

    #[test]
    fn a_torn_last_line_is_reported_and_ignored_wherever_the_cut_falls() {
        let whole = lines(3);
        let two = lines(2).len();
        // Every cut inside the third line: no newline yet, or a partial line.
        for cut in two + 1..whole.len() {
            let seg = decode(&whole[..cut], "t").unwrap();
            assert_eq!(seqs(&seg), [1, 2], "cut at {cut}");
            assert_eq!(seg.torn_at, Some(two), "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_byte_or_a_zero_filled_tail_stops_reading_there() {
        let mut bytes = lines(3);
        let two = lines(2).len();
        let flip = two + 20;
        bytes[flip] ^= 0x01;
        let seg = decode(&bytes, "t").unwrap();
        assert_eq!((seqs(&seg), seg.torn_at), (vec![1, 2], Some(two)));
        let mut zeros = lines(2);
        zeros.extend_from_slice(&[0u8; 4096]);
        let seg = decode(&zeros, "t").unwrap();
        assert_eq!((seqs(&seg), seg.torn_at), (vec![1, 2], Some(two)));
    }

    #[test]
    fn a_line_with_a_good_checksum_that_is_not_a_record_is_an_error() {
        let json = br#"{"not":"a record"}"#;
        let mut bytes = format!("{:08x} ", crc32fast::hash(json)).into_bytes();
        bytes.extend_from_slice(json);
        bytes.push(b'\n');
        assert!(matches!(
            decode(&bytes, "t"),
            Err(PersistError::Corrupt { .. })
        ));
    }
}
