//! A scenario as the runner sees it, after parsing and checking (see scenarios/README.md for
//! the file format).

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;
use spark_mock_server::{PolicyKind, Profile};
use spark_mock_sim::DeviceSpec;

/// One story: who is in it and what happens, step by step.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The path it was read from (as given), for reports.
    pub file: String,
    pub name: String,
    pub description: String,
    pub profile: Profile,
    pub policy: PolicyKind,
    /// The Build IDE's client id (`spark-build` unless the file says otherwise).
    pub build_client: String,
    /// How long the in-process server waits for a device before "Timed out."
    pub device_timeout: Duration,
    pub users: Vec<User>,
    pub actors: Vec<Actor>,
    pub devices: Vec<Device>,
    pub steps: Vec<Step>,
}

impl Scenario {
    pub fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.name == name)
    }

    pub fn user(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn device(&self, name: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.name == name)
    }
}

/// An account: created by the seed in-process, signed up under `--target`.
#[derive(Debug, Clone)]
pub struct User {
    pub email: String,
    pub password: String,
    pub first_name: Option<String>,
    /// Multi-factor login with this one-time password (particle profile).
    pub mfa_otp: Option<String>,
}

/// Someone or something that talks to the cloud: an OAuth client and a user agent.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub client: String,
    pub secret: String,
    pub user_agent: String,
    /// The account it logs into unless a step names another.
    pub user: Option<String>,
}

/// A simulated core: its sim-device spec and the name steps use for it.
#[derive(Debug, Clone)]
pub struct Device {
    /// The entry's `name`, or its id when it has none.
    pub name: String,
    pub id: String,
    pub spec: DeviceSpec,
}

/// One step: what happens and what must then be true.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of its `[[step]]` table.
    pub line: usize,
    /// Narration, printed under the step.
    pub note: Option<String>,
    pub action: Action,
    pub expect: Expect,
}

/// Which token an API step sends: an actor's latest, a token saved with `save_as`, or a
/// literal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    Actor(String),
    Saved(String),
    Literal(String),
}

/// Which event stream a `subscribe` step opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// `/v1/devices/events/<prefix>`: the user's devices.
    Mine,
    /// `/v1/events/<prefix>`: the public firehose.
    All,
    /// `/v1/devices/<id>/events/<prefix>`.
    Device(String),
}

/// How `device-offline` takes a core away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineFault {
    /// Disconnected and refused (fault `offline`).
    Offline,
    /// Connected but silent: calls time out (fault `no_answer`).
    NoAnswer,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Signup {
        user: String,
    },
    Login {
        actor: String,
        user: String,
        save_as: Option<String>,
        /// Answers an `mfa_required` with this login code.
        otp: Option<String>,
    },
    BuildLogin {
        actor: String,
        user: String,
        save_as: Option<String>,
    },
    ResetToken {
        user: String,
        actor: Option<String>,
        save_as: Option<String>,
    },
    Call {
        api: ApiStep,
        device: String,
        function: String,
        arg: String,
    },
    Get {
        api: ApiStep,
        device: String,
        variable: String,
    },
    List {
        api: ApiStep,
    },
    Publish {
        api: ApiStep,
        event: String,
        data: String,
        private: bool,
    },
    Subscribe {
        api: ApiStep,
        stream: Stream,
        prefix: String,
        publish: Option<String>,
        within: Duration,
    },
    Request {
        api: ApiStep,
        method: String,
        path: String,
        form: Vec<(String, String)>,
    },
    Await {
        label: String,
    },
    ChangePolicy {
        policy: PolicyKind,
    },
    AdvanceClock {
        secs: i64,
    },
    DeviceOffline {
        device: String,
        fault: OfflineFault,
    },
    DeviceOnline {
        device: String,
    },
    Reconnect {
        device: String,
        from: IpAddr,
    },
    RestartServer,
    /// `PUT /__mock/users/:email/mfa`: the user enrols in multi-factor login.
    EnableMfa {
        user: String,
        otp: String,
        invalidate_tokens: bool,
    },
    DisableMfa {
        user: String,
    },
    Check,
}

/// What every "use-token" step shares: who, with which token, and whether it waits.
#[derive(Debug, Clone)]
pub struct ApiStep {
    pub actor: String,
    pub token: TokenRef,
    /// Runs in the background under this label; a later `await` step checks it.
    pub background: Option<String>,
}

impl Action {
    /// The step's name in files and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Signup { .. } => "signup",
            Action::Login { .. } => "login",
            Action::BuildLogin { .. } => "build-login",
            Action::ResetToken { .. } => "reset-token",
            Action::Call { .. } => "call",
            Action::Get { .. } => "get",
            Action::List { .. } => "list",
            Action::Publish { .. } => "publish",
            Action::Subscribe { .. } => "subscribe",
            Action::Request { .. } => "request",
            Action::Await { .. } => "await",
            Action::ChangePolicy { .. } => "change-policy",
            Action::AdvanceClock { .. } => "advance-clock",
            Action::DeviceOffline { .. } => "device-offline",
            Action::DeviceOnline { .. } => "device-online",
            Action::Reconnect { .. } => "reconnect",
            Action::RestartServer => "restart-server",
            Action::EnableMfa { .. } => "enable-mfa",
            Action::DisableMfa { .. } => "disable-mfa",
            Action::Check => "check",
        }
    }
}

/// `new` or `same` for the token a login returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenChange {
    /// Never seen before in this run.
    New,
    /// One the run already knew.
    Same,
}

/// What must hold after a step. Empty fields check nothing.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<u16>,
    /// The body's `error`, or one of its `errors`.
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// Dotted paths into the JSON body and the values they must hold.
    pub body: Vec<(String, Value)>,
    pub token: Option<TokenChange>,
    /// The returned token equals this one (resolved before the step runs).
    pub same_as: Option<TokenRef>,
    /// Tokens that must work / must not work after the step.
    pub valid: Vec<TokenRef>,
    pub invalid: Vec<TokenRef>,
    /// What `/__mock/tokens/<token>` must say about these tokens.
    pub history: Vec<(TokenRef, HistoryExpect)>,
    /// For `subscribe`: the event's name and data.
    pub event: Option<String>,
    pub event_data: Option<String>,
    /// Fields of the device's `/__mock/devices` entry.
    pub device: Vec<(String, Value)>,
    /// No token was issued, invalidated or expired by the step.
    pub tokens_unchanged: bool,
}

impl Expect {
    pub fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.error.is_none()
            && self.error_description.is_none()
            && self.body.is_empty()
            && self.token.is_none()
            && self.same_as.is_none()
            && self.valid.is_empty()
            && self.invalid.is_empty()
            && self.history.is_empty()
            && self.event.is_none()
            && self.event_data.is_none()
            && self.device.is_empty()
            && !self.tokens_unchanged
    }
}

/// Facts about one token's history; `death` and `story` match substrings.
#[derive(Debug, Clone, Default)]
pub struct HistoryExpect {
    /// `valid`, `invalidated` or `expired`.
    pub status: Option<String>,
    pub death: Option<String>,
    pub client: Option<String>,
    pub grant: Option<String>,
    pub policy: Option<String>,
    pub replaced_by: Option<TokenRef>,
    pub story: Option<String>,
}
