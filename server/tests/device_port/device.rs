//! An in-test Core built from the protocol crate: handshake, Hello, Describe, sending with
//! the device's own message-id counter, and reading with a timeout.

use std::time::Duration;

use spark_mock_protocol::io::{device_handshake, FrameReader, FrameWriter, IoError};
use spark_mock_protocol::messages::{Description, Hello};
use spark_mock_protocol::{
    DeviceId, DeviceKey, Message, MessageIdCounter, Origin, Packet, Token, TokenCounter,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{Port, WAIT};

/// An in-test Core.
pub struct Device {
    pub id: DeviceId,
    pub reader: FrameReader<OwnedReadHalf>,
    pub writer: FrameWriter<OwnedWriteHalf>,
    pub ids: MessageIdCounter,
    pub tokens: TokenCounter,
}

impl Device {
    /// TCP connect and handshake; `append` adds the public key, Photon style.
    pub async fn connect(
        port: &Port,
        id: DeviceId,
        key: &DeviceKey,
        append: bool,
    ) -> Result<Device, IoError> {
        Device::connect_with(port, id, key, append, None).await
    }

    /// As `connect`; `recv_buffer` shrinks the socket's receive buffer (a slow reader
    /// then blocks the server's writes sooner).
    pub async fn connect_with(
        port: &Port,
        id: DeviceId,
        key: &DeviceKey,
        append: bool,
        recv_buffer: Option<u32>,
    ) -> Result<Device, IoError> {
        let socket = TcpSocket::new_v4()?;
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(port.addr).await?;
        Device::handshake(port, stream, id, key, append).await
    }

    /// The handshake on a stream already connected to `port`.
    pub async fn handshake(
        port: &Port,
        mut stream: TcpStream,
        id: DeviceId,
        key: &DeviceKey,
        append: bool,
    ) -> Result<Device, IoError> {
        let server_public = port.state.config().server_key.as_ref().expect("key");
        let session = device_handshake(
            &mut stream,
            key,
            server_public.public_key(),
            &id,
            append,
            WAIT,
        )
        .await?;
        let ids = session.keys().device_message_ids();
        let tokens = session.keys().device_tokens();
        let (r, w) = stream.into_split();
        let (sealer, opener) = session.into_split();
        Ok(Device {
            id,
            reader: FrameReader::new(r, opener, 4096),
            writer: FrameWriter::new(w, sealer),
            ids,
            tokens,
        })
    }

    /// Sends a Core's Hello and reads the server's Hello.
    pub async fn hello(&mut self) {
        self.hello_as(Hello::core()).await;
    }

    /// Sends the given Hello and reads the server's Hello.
    pub async fn hello_as(&mut self, hello: Hello) {
        self.send(Message::Hello(hello), Token::EMPTY).await;
        let h = self.recv().await;
        assert_eq!(h.message, Message::ServerHello, "{h:?}");
        assert_eq!(
            h.token.as_slice().len(),
            1,
            "the server's Hello carries a token"
        );
    }

    /// Answers the server's Describe, then waits until the server has stored it (a ping's
    /// ACK comes back only after everything sent before it was handled).
    pub async fn answer_describe(&mut self, desc: &Description) {
        let req = self.recv().await;
        assert_eq!(req.message, Message::DescribeRequest, "{req:?}");
        self.reply(Packet::describe_reply(req.message_id, req.token, desc))
            .await;
        self.ping().await;
    }

    /// Sends a message the device originates, under its next message id.
    pub async fn send(&mut self, message: Message, token: Token) -> u16 {
        let id = self.ids.next_id();
        self.reply(Packet::new(message, id, token)).await;
        id
    }

    /// Sends a packet as is (ACKs, or a deliberately wrong id).
    pub async fn reply(&mut self, p: Packet) {
        self.writer.write_packet(&p).await.expect("write");
    }

    /// The next packet from the server, within `WAIT`.
    pub async fn recv(&mut self) -> Packet {
        tokio::time::timeout(WAIT, self.reader.read_packet(Origin::Server))
            .await
            .expect("nothing from the server in time")
            .expect("read")
            .expect("the server closed the connection")
    }

    /// Pings and waits for the ACK; returns whatever else arrived first.
    pub async fn ping(&mut self) -> Vec<Packet> {
        let id = self.send(Message::Ping, Token::EMPTY).await;
        let mut other = Vec::new();
        loop {
            let p = self.recv().await;
            if p.message == Message::EmptyAck && p.message_id == id {
                return other;
            }
            other.push(p);
        }
    }

    /// Whether the server closes the connection within `within` (reading and discarding
    /// anything it still sends).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        reader_closed(&mut self.reader, within).await
    }
}

/// Whether the server closes the connection within `within`, discarding what it sends.
pub async fn reader_closed(reader: &mut FrameReader<OwnedReadHalf>, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        loop {
            match reader.read_packet(Origin::Server).await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await
    .is_ok()
}
