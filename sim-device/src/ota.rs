//! The device's side of an OTA update: UpdateReady, ChunkReceived by CRC with the good
//! chunks stored, ChunkMissed after 3 s without a chunk (as a Core), and on UpdateDone the
//! reboot, into the file's definitions when it is a fragment for this device
//! ([`crate::firmware`]).

use std::time::Duration;

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::{crc32, Chunk, ChunkMissed};
use spark_mock_protocol::{Message, Packet, Token};
use tokio::time::Instant;
use tracing::info;

use crate::answers::empty_ack;
use crate::conn::{Conn, Outgoing};
use crate::firmware::{definitions_for, summary, Receiving};
use crate::handle::SimEvent;
use crate::session_ctx::{Ended, SessionError};

/// How long a Core waits for the next chunk of an update before sending ChunkMissed.
pub(crate) const CHUNK_MISSED_AFTER: Duration = Duration::from_secs(3);

impl Conn<'_, '_> {
    /// UpdateBegin: ACK, then UpdateReady (a separate 2.04); the file starts over.
    pub(crate) async fn update_begin(
        &mut self,
        id: u16,
        token: Token,
        file_size: Option<u32>,
    ) -> Result<(), SessionError> {
        self.ota = Some(Receiving::new(file_size));
        self.ota_missed_at = Some(Instant::now() + CHUNK_MISSED_AFTER);
        let late = self.ctx.spec.connection.answer_delay;
        self.reply(late, empty_ack(id)).await?;
        let out = Outgoing::Separate {
            token,
            code: Code::CHANGED,
            payload: Vec::new(),
        };
        self.reply(late, out).await?;
        Ok(())
    }

    /// A chunk: ACK, then ChunkReceived, 2.04 when its CRC matches (the chunk is stored) or
    /// 4.00 when not.
    pub(crate) async fn chunk(
        &mut self,
        id: u16,
        token: Token,
        c: &Chunk,
    ) -> Result<(), SessionError> {
        let ok = c.crc_matches();
        if let (true, Some(r)) = (ok, self.ota.as_mut()) {
            r.store(c.index, &c.data);
        }
        if self.ota.is_some() {
            self.ota_missed_at = Some(Instant::now() + CHUNK_MISSED_AFTER);
        }
        let late = self.ctx.spec.connection.answer_delay;
        self.reply(late, empty_ack(id)).await?;
        let code = if ok { Code::CHANGED } else { Code::BAD_REQUEST };
        let out = Outgoing::Separate {
            token,
            code,
            payload: Vec::new(),
        };
        self.reply(late, out).await?;
        Ok(())
    }

    /// UpdateDone: ACK at once, look at the file, and end the session for the reboot (into
    /// the fragment's definitions when the file is one for this device).
    pub(crate) async fn update_done(
        &mut self,
        id: u16,
        token: Token,
    ) -> Result<Ended, SessionError> {
        let ack = Outgoing::Ack(Packet::update_done_ack(id, token));
        self.reply(Duration::ZERO, ack).await?;
        self.ota_missed_at = None;
        let file = self.ota.take().map(Receiving::finish).unwrap_or_default();
        let label = self.ctx.label;
        let defs = match definitions_for(&file, self.ctx.spec) {
            Ok(defs) => {
                let f: Vec<_> = defs.functions.iter().map(|f| f.name.as_str()).collect();
                let v: Vec<_> = defs.variables.iter().map(|v| v.name.as_str()).collect();
                info!(device = %label, "OTA done ({} bytes): new firmware with functions {f:?} and variables {v:?}; rebooting", file.len());
                Some(defs)
            }
            Err(why) => {
                info!(device = %label, "OTA done: stored {} bytes, CRC-32 {:08x} ({why}); rebooting unchanged", file.len(), crc32(&file));
                None
            }
        };
        let flashed = summary(&file, defs.is_some());
        self.ctx.rep.flashed(flashed.clone());
        self.ctx.rep.emit(SimEvent::OtaDone {
            bytes: flashed.bytes,
            crc32: flashed.crc32,
            applied: flashed.applied,
        });
        Ok(Ended::Reboot(defs))
    }

    /// Like a Core, asks again for the chunk it expects after 3 s without one.
    pub(crate) async fn ota_timer(&mut self, now: Instant) -> Result<(), SessionError> {
        if !self.ota_missed_at.is_some_and(|t| now >= t) {
            return Ok(());
        }
        let index = self.ota.as_ref().map_or(0, |r| r.next_index);
        self.ota_missed_at = Some(now + CHUNK_MISSED_AFTER);
        tracing::debug!(device = %self.ctx.label, "chunk {index} missed; asking again");
        let missed = ChunkMissed {
            indices: vec![index],
        };
        self.originate(Message::ChunkMissed(missed), Token::EMPTY)
            .await?;
        Ok(())
    }
}
