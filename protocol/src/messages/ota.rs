//! Over-the-air update messages: UpdateBegin, Chunk, ChunkMissed (the
//! replies UpdateReady, ChunkReceived and the UpdateDone ACK are built in
//! `replies`).

use super::MessageError;

/// Size of a firmware chunk (the last one is zero-padded to it).
pub const CHUNK_SIZE: usize = 256;

/// The payload newer servers add to UpdateBegin; the Core ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateParams {
    /// Bit 0: fast OTA.
    pub flags: u8,
    /// Chunk size (256).
    pub chunk_size: u16,
    /// Total file size.
    pub file_size: u32,
    /// Destination flag.
    pub dest_flag: u8,
    /// Destination address.
    pub dest_addr: u32,
}

impl UpdateParams {
    /// Encoded length.
    pub const LEN: usize = 12;

    /// The 12 payload bytes (all big-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.push(self.flags);
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.file_size.to_be_bytes());
        out.push(self.dest_flag);
        out.extend_from_slice(&self.dest_addr.to_be_bytes());
        out
    }

    /// Parses the first 12 bytes; `None` when shorter.
    pub fn decode(p: &[u8]) -> Option<Self> {
        let p: &[u8; Self::LEN] = p.get(..Self::LEN)?.try_into().ok()?;
        Some(Self {
            flags: p[0],
            chunk_size: u16::from_be_bytes([p[1], p[2]]),
            file_size: u32::from_be_bytes([p[3], p[4], p[5], p[6]]),
            dest_flag: p[7],
            dest_addr: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        })
    }
}

/// UpdateBegin (CON POST `u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateBegin {
    /// Optional parameters (absent for the original server).
    pub params: Option<UpdateParams>,
}

/// One firmware chunk (CON POST `c`): CRC-32 as the first Uri-Query (4 raw
/// big-endian bytes; the Core reads it at plaintext offset 8, assuming a
/// 1-byte token), an optional uint16 index as the second in fast mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// CRC-32 (IEEE/zlib) the sender claims for `data`.
    pub crc: u32,
    /// Chunk index (fast OTA only).
    pub index: Option<u16>,
    /// Chunk bytes.
    pub data: Vec<u8>,
}

impl Chunk {
    /// A chunk with its CRC computed.
    pub fn new(data: impl Into<Vec<u8>>, index: Option<u16>) -> Self {
        let data = data.into();
        Self {
            crc: crc32(&data),
            index,
            data,
        }
    }

    /// Whether the data matches the claimed CRC (ChunkReceived OK vs BAD).
    pub fn crc_matches(&self) -> bool {
        crc32(&self.data) == self.crc
    }
}

/// CRC-32 (IEEE, as zlib) used for chunks.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// ChunkMissed (CON GET `c`): the indices of missing chunks, uint16 BE each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkMissed {
    /// Missing chunk indices (the Core sends one).
    pub indices: Vec<u16>,
}

impl ChunkMissed {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.indices.iter().flat_map(|i| i.to_be_bytes()).collect()
    }

    /// Parses a payload of whole uint16 values.
    pub fn decode(p: &[u8]) -> Result<Self, MessageError> {
        if p.len() % 2 != 0 {
            return Err(MessageError::BadPayload {
                what: "chunk missed",
                len: p.len(),
            });
        }
        Ok(Self {
            indices: p
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        })
    }
}
