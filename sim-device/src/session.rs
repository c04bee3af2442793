//! One TCP connection: connect, handshake, Hello, then a single loop that
//! reads the server's messages and wakes for timers (keepalive ping, ping
//! timeout, publishes, delayed answers, drop / offline). What the device
//! sends on its own is in `conn`, its answers to the server in `answers`.

use spark_mock_protocol::frame::CORE_MAX_FRAME_LEN;
use spark_mock_protocol::io::{device_handshake, FrameReader, FrameWriter, IoError};
use spark_mock_protocol::{Origin, Session};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::conn::Conn;
use crate::handle::{DeviceState, SimEvent};
use crate::model::Model;
pub(crate) use crate::session_ctx::{Ctx, Ended, SessionError};
use crate::spec::Mode;

/// Photon-mode frame limit (Device OS raised the Core's 640).
const PHOTON_MAX_FRAME_LEN: usize = 1024;

/// One session: connect and handshake, Hello, then serve until it ends.
pub(crate) async fn run(
    ctx: &Ctx<'_>,
    model: &mut Model,
    backoff: &mut Backoff,
    ota_done: bool,
) -> Result<Ended, SessionError> {
    let photon = ctx.spec.mode == Mode::Photon;
    let (stream, session) = connect(ctx, photon).await?;
    let keys = session.keys().clone();
    let (sealer, opener) = session.into_split();
    let (r, w) = stream.into_split();
    let max = if photon {
        PHOTON_MAX_FRAME_LEN
    } else {
        CORE_MAX_FRAME_LEN
    };
    let mut reader = FrameReader::new(r, opener, max);
    let now = Instant::now();
    let mut conn = Conn::new(ctx, model, FrameWriter::new(w, sealer), &keys, now);
    conn.hello(photon, ota_done).await?;
    backoff.reset();
    online(ctx);
    conn.after_hello().await?;
    serve(&mut conn, &mut reader, now).await
}

/// Connects (waiting for a handshake slot when the fleet limits them) and runs the
/// device's side of the handshake, each step within the step timeout.
async fn connect(ctx: &Ctx<'_>, photon: bool) -> Result<(TcpStream, Session), SessionError> {
    let opts = ctx.opts;
    let _permit = match &opts.handshake_limit {
        Some(s) => Some(s.acquire().await.map_err(|_| SessionError::Closed)?),
        None => None,
    };
    let addr = opts.device_server;
    let connect = tokio::time::timeout(opts.step_timeout, connect_from(addr, opts.local_addr));
    let mut stream = match connect.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(SessionError::Connect(addr, e.to_string())),
        Err(_) => return Err(SessionError::Connect(addr, "timed out".into())),
    };
    let _ = stream.set_nodelay(true);
    let session = device_handshake(
        &mut stream,
        ctx.key,
        &opts.server_key,
        &ctx.spec.id,
        photon,
        opts.step_timeout,
    )
    .await?;
    Ok((stream, session))
}

/// Reports the device online (state, log, event) once Hello is out.
fn online(ctx: &Ctx<'_>) {
    ctx.rep.state(DeviceState::Online);
    let session = ctx.rep.sessions();
    if ctx.opts.quiet {
        tracing::debug!(device = %ctx.label, session, "online");
    } else {
        tracing::info!(device = %ctx.label, session, "online");
    }
    ctx.rep.emit(SimEvent::Online { session });
}

/// The session's loop: answer what the server sends, and wake for the connection's timers
/// and for a scripted drop or offline period (counted from `start`).
async fn serve(
    conn: &mut Conn<'_, '_>,
    reader: &mut FrameReader<OwnedReadHalf>,
    start: Instant,
) -> Result<Ended, SessionError> {
    let behaviour = &conn.ctx.spec.connection;
    let drop_at = behaviour.drop_after.map(|d| start + d);
    let offline_at = behaviour.offline_after.map(|d| start + d);
    loop {
        let wake = [drop_at, offline_at, Some(conn.next_timer())]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(start);
        tokio::select! {
            read = reader.read_packet(Origin::Server) => match read {
                Ok(Some(packet)) => {
                    conn.last_rx = Instant::now();
                    conn.ping_deadline = None;
                    if let Some(ended) = conn.handle(packet).await? {
                        return Ok(ended);
                    }
                }
                Ok(None) => return Err(SessionError::Closed),
                Err(IoError::Protocol(e @ (spark_mock_protocol::Error::Message(_)
                    | spark_mock_protocol::Error::Coap(_)))) => {
                    tracing::debug!(device = %conn.ctx.label, "ignoring a malformed message: {e}");
                }
                Err(e) => return Err(e.into()),
            },
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if drop_at.is_some_and(|t| now >= t) {
                    return Ok(Ended::Dropped);
                }
                if offline_at.is_some_and(|t| now >= t) {
                    return Ok(Ended::Offline(behaviour.offline_for));
                }
                conn.on_timer(now).await?;
            }
        }
    }
}

/// Connects to `addr`, from `local` when given (port chosen by the OS).
async fn connect_from(
    addr: std::net::SocketAddr,
    local: Option<std::net::IpAddr>,
) -> std::io::Result<TcpStream> {
    let Some(ip) = local else {
        return TcpStream::connect(addr).await;
    };
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(std::net::SocketAddr::new(ip, 0))?;
    socket.connect(addr).await
}
