//! Requests the server has sent to a device and is waiting on, keyed by their 1-byte token
//! (the device echoes it in the piggy-backed or separate response), with the reply channel
//! of the API call that asked.

use std::collections::HashMap;
use std::time::Duration;

use spark_mock_protocol::messages::{Description, Response, VarType, VarValue};
use spark_mock_protocol::{Code, Token, TokenCounter};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::devices::types::DeviceError;

/// Who is waiting for an answer, and how to read it.
#[derive(Debug)]
pub enum Reply {
    Function(oneshot::Sender<Result<i32, DeviceError>>),
    Variable {
        ty: VarType,
        reply: oneshot::Sender<Result<VarValue, DeviceError>>,
    },
    Signal(oneshot::Sender<Result<(), DeviceError>>),
    /// `None` for the Describe the server sends by itself after Hello.
    Describe(Option<oneshot::Sender<Result<(), DeviceError>>>),
    /// An OTA step: the response as it came, 4.00 included.
    Ota(oneshot::Sender<Result<Response, DeviceError>>),
}

impl Reply {
    /// Whether nobody waits any more (the API call timed out and dropped its receiver).
    fn abandoned(&self) -> bool {
        match self {
            Reply::Function(r) => r.is_closed(),
            Reply::Variable { reply, .. } => reply.is_closed(),
            Reply::Signal(r) => r.is_closed(),
            Reply::Describe(r) => r.as_ref().is_some_and(|r| r.is_closed()),
            Reply::Ota(r) => r.is_closed(),
        }
    }

    /// Answers with an error.
    pub fn fail(self, err: DeviceError) {
        match self {
            Reply::Function(r) => drop(r.send(Err(err))),
            Reply::Variable { reply, .. } => drop(reply.send(Err(err))),
            Reply::Signal(r) => drop(r.send(Err(err))),
            Reply::Describe(r) => drop(r.map(|r| r.send(Err(err)))),
            Reply::Ota(r) => drop(r.send(Err(err))),
        }
    }

    /// Delivers the device's answer. A Describe answer is also returned, for the
    /// connection to keep and to store in the registry.
    pub fn answer(self, resp: &Response) -> Option<Description> {
        let this = match self {
            Reply::Ota(r) => {
                let _ = r.send(Ok(resp.clone()));
                return None;
            }
            other => other,
        };
        this.answer_typed(resp)
    }

    fn answer_typed(self, resp: &Response) -> Option<Description> {
        if !resp.is_success() {
            let err = match (resp.code == Code::NOT_FOUND, &self) {
                (true, Reply::Function(_)) => DeviceError::UnknownFunction,
                (true, Reply::Variable { .. }) => DeviceError::UnknownVariable,
                _ => {
                    DeviceError::Device(format!("{}.{:02}", resp.code.class(), resp.code.detail()))
                }
            };
            self.fail(err);
            return None;
        }
        let bad =
            |e: spark_mock_protocol::messages::MessageError| DeviceError::Device(e.to_string());
        match self {
            Reply::Function(r) => drop(r.send(resp.function_return().map_err(bad))),
            Reply::Variable { ty, reply } => drop(reply.send(resp.variable(ty).map_err(bad))),
            Reply::Signal(r) => drop(r.send(Ok(()))),
            Reply::Describe(r) => {
                let parsed = resp.description();
                let result = parsed.as_ref().map(|_| ()).map_err(|e| bad(e.clone()));
                if let Some(r) = r {
                    let _ = r.send(result);
                }
                return parsed.ok();
            }
            Reply::Ota(r) => drop(r.send(Ok(resp.clone()))),
        }
        None
    }
}

/// The requests in flight on one connection.
pub struct Pending {
    by_token: HashMap<u8, (Reply, Instant)>,
    tokens: TokenCounter,
    /// How long an unanswered request is kept before its token may be reused.
    ttl: Duration,
}

impl Pending {
    /// Tokens start at 1 and wrap to 0 after 255, as spark-protocol's did.
    pub fn new(ttl: Duration) -> Self {
        Pending {
            by_token: HashMap::new(),
            tokens: TokenCounter::default(),
            ttl,
        }
    }

    /// Takes the next free token for a request. Abandoned and expired requests are dropped
    /// first; `None` when 256 requests are genuinely in flight.
    pub fn start(&mut self, reply: Reply) -> Result<Token, Reply> {
        let now = Instant::now();
        self.by_token
            .retain(|_, (r, deadline)| *deadline > now && !r.abandoned());
        for _ in 0..=u8::MAX {
            let t = self.tokens.next_token();
            if let std::collections::hash_map::Entry::Vacant(slot) = self.by_token.entry(t) {
                slot.insert((reply, now + self.ttl));
                return Ok(Token::byte(t));
            }
        }
        Err(reply)
    }

    /// A token for a message that expects no answer (the server's Hello).
    pub fn next_token(&mut self) -> Token {
        Token::byte(self.tokens.next_token())
    }

    /// The request a response belongs to.
    pub fn take(&mut self, token: &Token) -> Option<Reply> {
        match token.as_slice() {
            [t] => self.by_token.remove(t).map(|(r, _)| r),
            _ => None,
        }
    }
}
