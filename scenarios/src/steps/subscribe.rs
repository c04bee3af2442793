//! `subscribe`: open an event stream with the actor's token, optionally publish once it is
//! listening, and wait for the first event (the cloud's own SSE bytes, parsed here).

use futures_util::StreamExt;
use serde_json::Value;

use super::api::{device_id, prepare, used};
use super::{answer, Outcome};
use crate::format::{Action, ApiStep, Step, Stream};
use crate::http::{Call, Reply};
use crate::transcript::StepRecord;
use crate::world::World;

/// Opens the stream, publishes when asked, and waits for the first event.
pub(super) async fn subscribe(
    w: &mut World<'_>,
    n: usize,
    step: &Step,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let Action::Subscribe {
        api,
        stream,
        prefix,
        publish,
        within,
    } = &step.action
    else {
        return Err("not a subscribe step".into());
    };
    let path = match stream {
        Stream::Mine => format!("/v1/devices/events/{prefix}"),
        Stream::All => format!("/v1/events/{prefix}"),
        Stream::Device(d) => format!("/v1/devices/{}/events/{prefix}", device_id(w, d)),
    };
    let (call, token) = prepare(w, api, Call::new("GET", path.clone()))?;
    let doing = format!(
        "{} subscribes to {path} with {}",
        api.actor,
        w.tokens.label(&token)
    );
    let deadline = tokio::time::Instant::now() + *within;
    let resp = tokio::time::timeout_at(deadline, w.http.open(&call))
        .await
        .map_err(|_| format!("GET {path}: no answer within {within:?}"))??;
    let status = resp.status().as_u16();
    rec.status = Some(status);
    if status != 200 {
        let reply = refused(resp, status).await;
        used(w, &token, n, &reply);
        rec.text = format!("{doing} {}", answer(&reply));
        return Ok(Outcome {
            reply: Some(reply),
            ..Default::default()
        });
    }
    w.tokens.used(&token, n, status);
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    // The stream opens with `:ok`; publish only once it is listening.
    if let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    let published = match publish {
        Some(data) => {
            let name = step.expect.event.clone().unwrap_or_else(|| prefix.clone());
            publish_once(w, n, api, &name, data).await?
        }
        None => String::new(),
    };
    let event = first_event(&mut body, &mut buf, deadline).await;
    let got = match &event {
        Some((name, data)) => format!("; receives {name} {data:?}"),
        None => format!("; no event within {} s", within.as_secs_f64()),
    };
    rec.text = format!("{doing} → 200{published}{got}");
    let reply = Reply {
        status,
        body: Value::Null,
        text: String::new(),
    };
    Ok(Outcome {
        reply: Some(reply),
        event,
        ..Default::default()
    })
}

/// A stream the cloud refused: its answer, read as a reply.
async fn refused(resp: reqwest::Response, status: u16) -> Reply {
    let text = resp.text().await.unwrap_or_default();
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// The actor publishes `name` once its stream listens: "; publishes … → 200".
async fn publish_once(
    w: &mut World<'_>,
    n: usize,
    api: &ApiStep,
    name: &str,
    data: &str,
) -> Result<String, String> {
    let mut c = Call::new("POST", "/v1/devices/events");
    c.form = vec![
        ("name".into(), name.to_string()),
        ("data".into(), data.to_string()),
    ];
    let (c, t) = prepare(w, api, c)?;
    let r = w.send(&c).await?;
    w.tokens.used(&t, n, r.status);
    Ok(format!("; publishes {name:?} {data:?} {}", answer(&r)))
}

/// Reads the stream until its first event or the deadline.
async fn first_event<B: AsRef<[u8]>>(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    buf: &mut String,
    deadline: tokio::time::Instant,
) -> Option<(String, String)> {
    loop {
        if let Some(event) = take_event(buf) {
            return Some(event);
        }
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => buf.push_str(&String::from_utf8_lossy(chunk.as_ref())),
            _ => return None,
        }
    }
}

/// The first complete `event:`/`data:` block in `buf` (removed from it), skipping comments.
fn take_event(buf: &mut String) -> Option<(String, String)> {
    loop {
        let normalized = buf.replace("\r\n", "\n");
        *buf = normalized;
        let end = buf.find("\n\n")?;
        let block: String = buf.drain(..end + 2).collect();
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("data:") {
                data = v.trim().to_string();
            }
        }
        if let Some(name) = name {
            let payload: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            let data = match payload.get("data") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            return Some((name, data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::take_event;

    #[test]
    fn events_are_read_block_by_block_past_comments_and_keepalives() {
        let mut buf = ":ok\n\n\nevent: coffee/order\r\ndata: {\"data\":\"latte\",\"ttl\":\"60\"}\r\n\r\nevent: x".to_string();
        assert_eq!(
            take_event(&mut buf),
            Some(("coffee/order".into(), "latte".into()))
        );
        assert_eq!(
            take_event(&mut buf),
            None,
            "an incomplete block waits for more"
        );
        buf.push_str("\ndata: {\"data\":null}\n\n");
        assert_eq!(take_event(&mut buf), Some(("x".into(), String::new())));
    }
}
