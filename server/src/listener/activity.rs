//! What one HTTP connection is doing, and so which deadline applies to it.
//!
//! hyper's own `header_read_timeout` starts its clock when a keep-alive connection goes idle,
//! so "idle" and "slow headers" could not have their own limits; and it needs hyper's timer.
//! Instead the socket ([`Watched`]) notes the first byte of each request, the service notes
//! when a request is being answered, and the response body ([`Guarded`]) notes when the
//! answer is fully sent (or dropped). An event stream is an answer still being sent, so it is
//! never idle.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The limits a connection is held to.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deadlines {
    /// From the start of a request (the connection's start, for the first) to its full head.
    pub header: Duration,
    /// From the end of an answer to the first byte of the next request.
    pub idle: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of the next request since then.
    Idle(Instant),
    /// Reading a request head (or waiting for the first one) since then.
    Head(Instant),
    /// This many requests are being answered.
    Busy(usize),
}

/// Shared by a connection's socket, service and response bodies, and watched by its task.
pub(super) struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    /// A new connection: its first request's head is due within the header timeout.
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        })
    }

    /// The moment this connection is overdue, if any deadline applies now. A timeout too
    /// long to represent is no deadline, not an overflow.
    fn deadline(&self, limits: Deadlines) -> Option<Instant> {
        match *self.phase.lock() {
            Phase::Idle(since) => since.checked_add(limits.idle),
            Phase::Head(since) => since.checked_add(limits.header),
            Phase::Busy(_) => None,
        }
    }

    /// Resolves once the connection is overdue: idle or reading a head for too long. Never
    /// while a request is being answered.
    pub async fn overdue(&self, limits: Deadlines) {
        loop {
            // `notify_one` keeps a permit when nobody waits, so a change made between reading
            // the deadline and awaiting `changed` is not lost.
            let changed = self.changed.notified();
            match self.deadline(limits) {
                None => changed.await,
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {
                            if self.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                                return;
                            }
                        }
                        _ = changed => {}
                    }
                }
            }
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock() = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: an idle connection is now reading a request head.
    fn on_read(&self) {
        let mut phase = self.phase.lock();
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// A request's head is in: no deadline until its answer is sent or dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        let mut phase = self.phase.lock();
        *phase = match *phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        };
        drop(phase);
        self.changed.notify_one();
        Busy(self.clone())
    }
}

/// Held from a request's head until its answer is fully sent or dropped.
pub(super) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let next = match *self.0.phase.lock() {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        };
        self.0.set(next);
    }
}

/// A response body that keeps its connection [`Busy`] until it ends or is dropped.
pub(super) struct Guarded {
    inner: Body,
    busy: Option<Busy>,
}

impl Guarded {
    pub fn new(inner: Body, busy: Busy) -> Self {
        Guarded {
            inner,
            busy: Some(busy),
        }
    }
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            // All handed to hyper: idle from now, even if hyper keeps the body a while longer.
            self.busy = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket, noting when bytes arrive.
pub(super) struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl Watched {
    pub fn new(tcp: TcpStream, activity: Arc<Activity>) -> Self {
        Watched { tcp, activity }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Deadlines = Deadlines {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    /// Whether `overdue` has resolved after `wait` of (paused) time.
    async fn overdue_after(activity: &Activity, wait: Duration) -> bool {
        tokio::time::timeout(wait, activity.overdue(LIMITS))
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_new_connection_is_overdue_after_the_header_timeout() {
        let a = Activity::new();
        assert!(!overdue_after(&a, Duration::from_secs(9)).await);
        assert!(overdue_after(&a, Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_in_progress_is_never_overdue() {
        let a = Activity::new();
        let busy = a.begin();
        assert!(!overdue_after(&a, Duration::from_secs(3600)).await);
        drop(busy);
        // Idle from the end of the answer: the idle timeout, not the header one.
        assert!(!overdue_after(&a, Duration::from_secs(59)).await);
        assert!(overdue_after(&a, Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_of_a_request_starts_the_header_timeout() {
        let a = Activity::new();
        drop(a.begin());
        tokio::time::advance(Duration::from_secs(30)).await;
        a.on_read();
        assert!(!overdue_after(&a, Duration::from_secs(9)).await);
        assert!(overdue_after(&a, Duration::from_secs(2)).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_of_ages_never_fires() {
        let a = Activity::new();
        let ages = Deadlines {
            header: Duration::MAX,
            idle: Duration::MAX,
        };
        let waited = tokio::time::timeout(Duration::from_secs(3600), a.overdue(ages)).await;
        assert!(waited.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn the_connection_is_busy_until_every_answer_is_done() {
        let a = Activity::new();
        let (first, second) = (a.begin(), a.begin());
        drop(first);
        assert!(!overdue_after(&a, Duration::from_secs(3600)).await);
        drop(second);
        assert!(overdue_after(&a, Duration::from_secs(61)).await);
    }
}
