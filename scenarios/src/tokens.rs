//! Every token the run has seen: who holds it, the step it appeared at, the steps that used
//! it, and when and why it died. The source of "killed python's 1a2b…" and the timeline.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// A token as the transcript shows it: its first eight characters and an ellipsis.
pub(crate) fn short(token: &str) -> String {
    format!("{}…", token.get(..8).unwrap_or(token))
}

/// One token's life in this run.
#[derive(Debug, Clone, Serialize)]
pub struct TokenLife {
    pub token: String,
    /// Whose it is: an actor, or the user for tokens the run did not ask for.
    pub holder: String,
    /// How it came: "password grant by spark-ios", "Reset Token", "seen on the server".
    pub origin: String,
    pub born_at_step: usize,
    /// Steps that sent it, with the status they got.
    pub uses: Vec<(usize, u16)>,
    pub died_at_step: Option<usize>,
    /// The server's words (`death` in the token history), when it could tell.
    pub death: Option<String>,
}

impl TokenLife {
    /// "python's 1a2b3c4d…".
    pub fn label(&self) -> String {
        format!("{}'s {}", self.holder, short(&self.token))
    }
}

/// A token's status on the server: `valid`, `invalidated` or `expired`, and why it died.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub user: String,
    pub client: String,
    pub status: String,
    pub death: Option<String>,
}

/// What `/__mock/tokens` said at one moment.
pub(crate) type Snapshot = BTreeMap<String, Seen>;

/// Reads `/__mock/tokens` (the `tokens` array) into a snapshot of the given users' tokens.
pub(crate) fn snapshot(body: &Value, users: &[String]) -> Snapshot {
    let mut out = Snapshot::new();
    for t in body
        .get("tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = |k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let user = text("user");
        if !users.iter().any(|u| u.eq_ignore_ascii_case(&user)) {
            continue;
        }
        out.insert(
            text("token"),
            Seen {
                user,
                client: text("client"),
                status: text("status"),
                death: t.get("death").and_then(Value::as_str).map(str::to_string),
            },
        );
    }
    out
}

#[derive(Debug, Default)]
pub(crate) struct Tokens {
    lives: Vec<TokenLife>,
    /// Each actor's latest token.
    latest: BTreeMap<String, String>,
    /// Tokens named by `save_as`.
    saved: BTreeMap<String, String>,
}

impl Tokens {
    pub fn get(&self, token: &str) -> Option<&TokenLife> {
        self.lives.iter().find(|l| l.token == token)
    }

    fn get_mut(&mut self, token: &str) -> Option<&mut TokenLife> {
        self.lives.iter_mut().find(|l| l.token == token)
    }

    /// "python's 1a2b3c4d…", or the bare short form for a token the run never saw.
    pub fn label(&self, token: &str) -> String {
        self.get(token)
            .map_or_else(|| short(token), TokenLife::label)
    }

    pub fn latest(&self, actor: &str) -> Option<&str> {
        self.latest.get(actor).map(String::as_str)
    }

    pub fn saved(&self, name: &str) -> Option<&str> {
        self.saved.get(name).map(String::as_str)
    }

    pub fn save(&mut self, name: &str, token: &str) {
        self.saved.insert(name.to_string(), token.to_string());
    }

    /// Records a token an actor received; returns whether it is new to the run.
    pub fn received(&mut self, actor: &str, token: &str, origin: String, step: usize) -> bool {
        self.latest.insert(actor.to_string(), token.to_string());
        if self.get(token).is_some() {
            return false;
        }
        self.lives.push(TokenLife {
            token: token.to_string(),
            holder: actor.to_string(),
            origin,
            born_at_step: step,
            uses: Vec::new(),
            died_at_step: None,
            death: None,
        });
        true
    }

    pub fn used(&mut self, token: &str, step: usize, status: u16) {
        if let Some(l) = self.get_mut(token) {
            l.uses.push((step, status));
        }
    }

    /// Compares two snapshots: tokens that appeared on the server are recorded (held by
    /// their user), tokens that stopped being valid die. Returns "killed …" sentences.
    pub fn observe(&mut self, before: &Snapshot, after: &Snapshot, step: usize) -> Vec<String> {
        for (token, seen) in after {
            let dead_before = before.get(token).is_some_and(|b| b.status != "valid");
            if self.get(token).is_none() && !dead_before {
                self.lives.push(TokenLife {
                    token: token.clone(),
                    holder: seen.user.clone(),
                    origin: format!("seen on the server (client {})", seen.client),
                    born_at_step: step,
                    uses: Vec::new(),
                    died_at_step: None,
                    death: None,
                });
            }
        }
        let mut killed = Vec::new();
        for (token, seen) in after {
            let was_valid = before.get(token).is_none_or(|b| b.status == "valid");
            if seen.status == "valid" || !was_valid {
                continue;
            }
            let Some(life) = self.get_mut(token) else {
                continue;
            };
            if life.died_at_step.is_some() {
                continue;
            }
            life.died_at_step = Some(step);
            life.death = seen.death.clone();
            let why = seen.death.clone().unwrap_or_else(|| seen.status.clone());
            killed.push(if seen.status == "expired" {
                format!("{} {why}", life.label())
            } else {
                format!("killed {} ({why})", life.label())
            });
        }
        killed
    }

    /// Tokens of the scenario's users that are valid before the first step (a target that
    /// ran other stories): held by their user, born at step 0.
    pub fn existing(&mut self, at_start: &Snapshot) {
        for (token, seen) in at_start.iter().filter(|(_, s)| s.status == "valid") {
            self.lives.push(TokenLife {
                token: token.clone(),
                holder: seen.user.clone(),
                origin: format!("on the server before the scenario (client {})", seen.client),
                born_at_step: 0,
                uses: Vec::new(),
                died_at_step: None,
                death: None,
            });
        }
    }

    /// Marks a token dead without the server's word (a foreign target refused it).
    pub fn refused(&mut self, token: &str, step: usize, why: &str) {
        if let Some(l) = self.get_mut(token) {
            if l.died_at_step.is_none() {
                l.died_at_step = Some(step);
                l.death = Some(format!("refused: {why}"));
            }
        }
    }

    pub fn lives(&self) -> &[TokenLife] {
        &self.lives
    }
}
