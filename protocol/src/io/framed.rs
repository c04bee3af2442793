//! Split framed reader and writer over an established [`Session`].

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

use super::IoError;
use crate::coap::CoapMessage;
use crate::frame::FrameDecoder;
use crate::messages::{Origin, Packet};
use crate::session::{Opener, Sealer, Session};

const READ_CHUNK: usize = 1024;

/// Splits a stream and a session into a reader and a writer that can run on
/// different tasks. For a `TcpStream`, `into_split()` plus
/// [`FrameReader::new`] / [`FrameWriter::new`] avoids the internal lock.
pub fn split<S>(
    stream: S,
    session: Session,
    max_frame_len: usize,
) -> (FrameReader<ReadHalf<S>>, FrameWriter<WriteHalf<S>>)
where
    S: AsyncRead + AsyncWrite,
{
    let (r, w) = tokio::io::split(stream);
    let (sealer, opener) = session.into_split();
    (
        FrameReader::new(r, opener, max_frame_len),
        FrameWriter::new(w, sealer),
    )
}

/// Reads frames and opens them. Cancel-safe: bytes already read stay
/// buffered, so it can sit in a `select!` with a timer.
pub struct FrameReader<R> {
    inner: R,
    decoder: FrameDecoder,
    opener: Opener,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader rejecting frames longer than `max_frame_len` (640 for a Core;
    /// a server may allow more).
    pub fn new(inner: R, opener: Opener, max_frame_len: usize) -> Self {
        Self {
            inner,
            decoder: FrameDecoder::with_max_len(max_frame_len),
            opener,
        }
    }

    /// The next frame's ciphertext, still encrypted. `Ok(None)` on a clean
    /// end of stream between frames.
    pub async fn read_frame(&mut self) -> Result<Option<Vec<u8>>, IoError> {
        let mut buf = [0u8; READ_CHUNK];
        loop {
            if let Some(f) = self.decoder.next_frame().map_err(crate::Error::from)? {
                return Ok(Some(f));
            }
            let n = self.inner.read(&mut buf).await?;
            if n == 0 {
                return if self.decoder.buffered() == 0 {
                    Ok(None)
                } else {
                    Err(IoError::Closed)
                };
            }
            self.decoder.push(&buf[..n]);
        }
    }

    /// The next frame, decrypted (CoAP bytes).
    pub async fn read_plaintext(&mut self) -> Result<Option<Vec<u8>>, IoError> {
        let Some(ct) = self.read_frame().await? else {
            return Ok(None);
        };
        Ok(Some(self.opener.open(&ct).map_err(crate::Error::from)?))
    }

    /// The next frame as CoAP.
    pub async fn read_coap(&mut self) -> Result<Option<CoapMessage>, IoError> {
        let Some(p) = self.read_plaintext().await? else {
            return Ok(None);
        };
        Ok(Some(CoapMessage::decode(&p).map_err(crate::Error::from)?))
    }

    /// The next frame as a typed packet sent by `from`. A parse error leaves
    /// the session usable (the IV has advanced), so a caller may skip it.
    pub async fn read_packet(&mut self, from: Origin) -> Result<Option<Packet>, IoError> {
        let Some(c) = self.read_coap().await? else {
            return Ok(None);
        };
        Ok(Some(
            Packet::from_coap(&c, from).map_err(crate::Error::from)?,
        ))
    }

    /// The underlying stream.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Seals and writes frames, each as one buffer (length prefix and
/// ciphertext together; spark-protocol desynchronises on a split header).
/// Not cancel-safe: a cancelled write leaves the IV advanced.
pub struct FrameWriter<W> {
    inner: W,
    sealer: Sealer,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    /// A writer over `inner`.
    pub fn new(inner: W, sealer: Sealer) -> Self {
        Self { inner, sealer }
    }

    /// Seals and writes CoAP bytes.
    pub async fn write_plaintext(&mut self, coap: &[u8]) -> Result<(), IoError> {
        let frame = self.sealer.seal(coap).map_err(crate::Error::from)?;
        self.inner.write_all(&frame).await?;
        self.inner.flush().await?;
        Ok(())
    }

    /// Encodes, seals and writes a CoAP message.
    pub async fn write_coap(&mut self, msg: &CoapMessage) -> Result<(), IoError> {
        let bytes = msg.encode().map_err(crate::Error::from)?;
        self.write_plaintext(&bytes).await
    }

    /// Encodes, seals and writes a typed packet.
    pub async fn write_packet(&mut self, packet: &Packet) -> Result<(), IoError> {
        let bytes = packet.encode().map_err(crate::Error::from)?;
        self.write_plaintext(&bytes).await
    }

    /// Shuts the write side down.
    pub async fn shutdown(&mut self) -> Result<(), IoError> {
        Ok(self.inner.shutdown().await?)
    }

    /// The underlying stream.
    pub fn into_inner(self) -> W {
        self.inner
    }
}
