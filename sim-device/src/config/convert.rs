//! Raw TOML entries to [`DeviceSpec`]s. Errors carry the byte offset of the
//! entry or value at fault; `mod.rs` turns it into a line.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::{DeviceId, DeviceKey};
use toml::Spanned;

use super::raw::{RawBehaviour, RawDevice, RawFile, RawFleet};
use super::{FleetConfig, DEFAULT_MAX_CONNECTING};
use crate::model::{Behaviour, FunctionDef};
use crate::rng::{id_from_seed, seed_from_str};
use crate::spec::{
    check_function, check_name, check_publish, check_subscription, Definitions, DeviceSpec,
    KeySource, PublishDef, SubscriptionDef,
};

mod connection;
mod variables;

use connection::{connection, secs};

/// A byte offset in the file and a message.
pub(super) type Fail = (usize, String);

pub(super) fn fail<T>(at: usize, msg: impl Into<String>) -> Result<T, Fail> {
    Err((at, msg.into()))
}

pub(super) fn convert(raw: RawFile, base: &Path) -> Result<FleetConfig, Fail> {
    let max_connecting = match &raw.fleet.max_connecting {
        Some(m) if *m.get_ref() == 0 => return fail(m.span().start, "max_connecting must be >= 1"),
        Some(m) => *m.get_ref(),
        None => DEFAULT_MAX_CONNECTING,
    };
    let mut devices = Vec::new();
    let mut seen = HashSet::new();
    for entry in raw.device {
        let at = entry.span().start;
        let d = entry.into_inner();
        let defs = Arc::new(definitions(&d)?);
        let connection = connection(d.connection.as_ref())?;
        let key = key_source(&d, &raw.fleet, base)?;
        let count = match &d.count {
            Some(c) if *c.get_ref() == 0 => return fail(c.span().start, "count must be >= 1"),
            Some(c) => *c.get_ref(),
            None => 1,
        };
        for (n, (id, seed)) in (1..=count).zip(ids(&d, count, at)?) {
            if !seen.insert(id) {
                return fail(at, format!("duplicate device id {id}"));
            }
            devices.push(DeviceSpec {
                id,
                name: d.name.as_deref().map(|name| device_name(name, n, count)),
                owner: d.owner.clone().or_else(|| raw.fleet.owner.clone()),
                mode: d.mode.or(raw.fleet.mode).unwrap_or_default(),
                seed,
                key: key.clone(),
                defs: Arc::clone(&defs),
                connection: connection.clone(),
            });
        }
    }
    Ok(FleetConfig {
        devices,
        key_dir: raw.fleet.key_dir.as_ref().map(|d| base.join(d)),
        max_connecting,
    })
}

/// `{n}` in a name becomes the device's number in its entry; with `count`
/// and no `{n}`, `-<n>` is appended.
fn device_name(name: &str, n: u32, count: u32) -> String {
    if name.contains("{n}") {
        name.replace("{n}", &n.to_string())
    } else if count > 1 {
        format!("{name}-{n}")
    } else {
        name.to_owned()
    }
}

/// The ids and value seeds of the `count` devices of an entry.
fn ids(d: &RawDevice, count: u32, at: usize) -> Result<Vec<(DeviceId, u64)>, Fail> {
    let seeded = |i: u32, id: DeviceId| {
        let seed = d.seed.map(|s| s.wrapping_add(u64::from(i)));
        (id, seed.unwrap_or_else(|| seed_from_str(&id.to_hex())))
    };
    if let Some(id) = &d.id {
        if count > 1 {
            return fail(
                id.span().start,
                "with count > 1, use id_prefix or seed, not id",
            );
        }
        let parsed: DeviceId = id.get_ref().parse().or_else(|e| {
            fail(
                id.span().start,
                format!("bad device id {:?}: {e}", id.get_ref()),
            )
        })?;
        return Ok(vec![seeded(0, parsed)]);
    }
    if let Some(prefix) = &d.id_prefix {
        let p = prefix.get_ref().to_ascii_lowercase();
        let width = 24usize.saturating_sub(p.len());
        let ok = !p.is_empty() && width > 0 && p.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return fail(
                prefix.span().start,
                "id_prefix must be 1 to 23 hex characters",
            );
        }
        if width < 8 && u64::from(count) >= 16u64.pow(width as u32) {
            return fail(
                prefix.span().start,
                format!("id_prefix leaves too few digits for {count} devices"),
            );
        }
        return (1..=count)
            .map(|n| {
                let hex = format!("{p}{n:0width$x}");
                let id = hex
                    .parse()
                    .or_else(|e| fail(at, format!("bad id {hex}: {e}")))?;
                Ok(seeded(n - 1, id))
            })
            .collect();
    }
    match d.seed {
        Some(seed) => Ok((0..count)
            .map(|i| {
                let s = seed.wrapping_add(u64::from(i));
                (id_from_seed(s), s)
            })
            .collect()),
        None => fail(at, "a device needs an id, an id_prefix or a seed"),
    }
}

fn key_source(d: &RawDevice, fleet: &RawFleet, base: &Path) -> Result<KeySource, Fail> {
    if let Some(path) = &d.key {
        let full = base.join(path.get_ref());
        let at = path.span().start;
        let bytes = std::fs::read(&full)
            .or_else(|e| fail(at, format!("cannot read key {}: {e}", full.display())))?;
        let key = DeviceKey::load(&bytes)
            .or_else(|e| fail(at, format!("key {}: {e}", full.display())))?;
        return Ok(KeySource::Given(Arc::new(key)));
    }
    Ok(if d.shared_key.or(fleet.shared_key).unwrap_or(false) {
        KeySource::Shared
    } else {
        KeySource::PerDevice
    })
}

fn definitions(d: &RawDevice) -> Result<Definitions, Fail> {
    let mut defs = Definitions::default();
    for v in &d.variable {
        let at = v.span().start;
        let def = variables::variable(v.get_ref(), at)?;
        defs.variables.push(def);
        let names: Vec<&String> = defs.variables.iter().map(|v| &v.name).collect();
        check_name("variable", &names).or_else(|e| fail(at, e.to_string()))?;
    }
    for f in &d.function {
        let at = f.span().start;
        let def = function(f)?;
        check_function(&def, &defs.variables).or_else(|e| fail(at, e.to_string()))?;
        defs.functions.push(def);
        let names: Vec<&String> = defs.functions.iter().map(|f| &f.name).collect();
        check_name("function", &names).or_else(|e| fail(at, e.to_string()))?;
    }
    for p in &d.publish {
        let at = p.span().start;
        let r = p.get_ref();
        let def = PublishDef {
            name: r.name.clone(),
            interval: secs(Some(r.interval_s), at, "interval_s")?.unwrap_or_default(),
            data: r.data.clone(),
            private: r.private,
            ttl: r.ttl.unwrap_or(spark_mock_protocol::messages::DEFAULT_TTL),
        };
        check_publish(&def, &defs.variables).or_else(|e| fail(at, e.to_string()))?;
        defs.publishes.push(def);
    }
    for s in &d.subscribe {
        let at = s.span().start;
        let r = s.get_ref();
        let def = SubscriptionDef {
            prefix: r.prefix.clone(),
            scope: r.scope,
            set_variable: r.set_variable.clone(),
        };
        check_subscription(&def, &defs.variables).or_else(|e| fail(at, e.to_string()))?;
        defs.subscriptions.push(def);
    }
    Ok(defs)
}

fn function(f: &Spanned<super::raw::RawFunction>) -> Result<FunctionDef, Fail> {
    let at = f.span().start;
    let r = f.get_ref();
    let b = r.behaviour;
    let takes_value = matches!(b, RawBehaviour::Constant | RawBehaviour::Delay);
    let takes_var = matches!(b, RawBehaviour::SetVariable | RawBehaviour::Toggle);
    if r.value.is_some() && !takes_value {
        return fail(at, "`value` is only for the constant and delay behaviours");
    }
    if r.variable.is_some() && !takes_var {
        return fail(
            at,
            "`variable` is only for the set_variable and toggle behaviours",
        );
    }
    let behaviour = match b {
        RawBehaviour::Constant | RawBehaviour::Delay => Behaviour::Constant(r.value.unwrap_or(0)),
        RawBehaviour::ArgLength => Behaviour::ArgLength,
        RawBehaviour::SetVariable => match &r.variable {
            Some(v) => Behaviour::SetVariable(crate::model::truncate_name(v)),
            None => return fail(at, "set_variable needs `variable`"),
        },
        RawBehaviour::Toggle => {
            Behaviour::Toggle(r.variable.as_deref().map(crate::model::truncate_name))
        }
        RawBehaviour::Fail => Behaviour::Fail,
        RawBehaviour::Hang => Behaviour::Hang,
    };
    if b == RawBehaviour::Delay && r.delay_ms.is_none() {
        return fail(at, "the delay behaviour needs `delay_ms`");
    }
    let delay = Duration::from_millis(r.delay_ms.unwrap_or(0));
    Ok(FunctionDef::new(&r.name, behaviour).with_delay(delay))
}
