//! One device call, from a name to an answer: the owner's `POST /v1/devices/:id/:function`
//! and `GET /v1/devices/:id/:variable` in both profiles, and the console's calls and reads,
//! all run here. Plain Rust: the HTTP layers parse the request and shape the outcome or the
//! [`CallError`].
//!
//! A call runs in two steps, so that each route keeps its order of checks: find the device
//! ([`DeviceCalls::find_device`]) and its function or variable ([`DeviceCalls::function`],
//! [`DeviceCalls::variable`]); then, once the route has its argument, run it
//! ([`Function::call`], [`Variable::read`]): the argument limit, the injected device faults
//! (offline, no answer, latency), and the device's answer within the time left of the
//! device timeout.

mod faults;
#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::clock::Clock;
use crate::config::Profile;
use crate::devices::types::{DeviceError, DeviceInfo, VarType, VarValue};
use crate::devices::Registry;
use crate::faults::Faults;
use crate::journal::NoteSlot;

/// The longest argument a Core takes: its buffer holds 64 bytes with the terminator.
pub const CORE_ARGUMENT_LIMIT: usize = 63;
/// The longest argument later platforms take (the particle cloud's limit for them).
pub const ARGUMENT_LIMIT: usize = 622;

/// The longest function argument a device accepts: the 2014 cloud knew only Cores; today's
/// tells a Core (platform 0) from later platforms.
pub fn argument_limit(profile: Profile, platform_id: u16) -> usize {
    match profile {
        Profile::Spark2014 => CORE_ARGUMENT_LIMIT,
        Profile::Particle if platform_id == 0 => CORE_ARGUMENT_LIMIT,
        Profile::Particle => ARGUMENT_LIMIT,
    }
}

/// Who is asking, which decides which devices a name or id can reach.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// An API user (by username): only their own devices.
    Owner(&'a str),
    /// The operator's console: every device, whoever owns it.
    Operator,
}

/// The device `id_or_name` names for `caller`. An owner finds by id, else by name among
/// their devices, else among unclaimed ones, and then only a device they own; the operator
/// finds any device by id or name.
pub fn find_device(devices: &Registry, caller: Caller<'_>, id_or_name: &str) -> Option<DeviceInfo> {
    match caller {
        Caller::Owner(user) => devices
            .find_for(id_or_name, user)
            .filter(|d| d.owner.as_deref() == Some(user)),
        Caller::Operator => devices.resolve(id_or_name).and_then(|id| devices.get(&id)),
    }
}

/// `name` among `names`: exactly, else ignoring case (spark-protocol looked names up in
/// lower case).
fn find_name<'n>(
    mut names: impl Iterator<Item = &'n String> + Clone,
    name: &str,
) -> Option<String> {
    names
        .clone()
        .find(|n| n.as_str() == name)
        .or_else(|| names.find(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
}

/// Why a call or read failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No such device for this caller (or one of someone else).
    #[error("Unknown device")]
    UnknownDevice,
    /// The device's last Describe has no such function.
    #[error("Function not found")]
    UnknownFunction,
    /// The device's last Describe has no such variable.
    #[error("Variable not found")]
    UnknownVariable,
    /// The argument is longer than the device takes; `len` in bytes.
    #[error("Argument too long: {len} characters, the device accepts at most {limit}")]
    ArgumentTooLong { len: usize, limit: usize },
    /// Offline, timed out, or refused by the device (including its own "not found").
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// What a call needs from the cloud: the registry, the faults in force, the clock they
/// expire by, the profile's argument limit and the device timeout. Cheap to copy.
#[derive(Clone, Copy)]
pub struct DeviceCalls<'a> {
    devices: &'a Registry,
    faults: &'a Faults,
    clock: &'a Clock,
    profile: Profile,
    timeout: Duration,
}

impl<'a> DeviceCalls<'a> {
    pub fn new(
        devices: &'a Registry,
        faults: &'a Faults,
        clock: &'a Clock,
        profile: Profile,
        timeout: Duration,
    ) -> Self {
        DeviceCalls {
            devices,
            faults,
            clock,
            profile,
            timeout,
        }
    }

    /// The device `id_or_name` names for `caller` (see [`find_device`]).
    pub fn find_device(
        &self,
        caller: Caller<'_>,
        id_or_name: &str,
    ) -> Result<DeviceInfo, CallError> {
        find_device(self.devices, caller, id_or_name).ok_or(CallError::UnknownDevice)
    }

    /// The device's function `name` (exactly, else ignoring case), ready to call.
    pub fn function(&self, device: DeviceInfo, name: &str) -> Result<Function<'a>, CallError> {
        let name = find_name(device.functions.iter(), name).ok_or(CallError::UnknownFunction)?;
        Ok(Function {
            calls: *self,
            device,
            name,
        })
    }

    /// The device's variable `name` (exactly, else ignoring case), ready to read.
    pub fn variable(&self, device: DeviceInfo, name: &str) -> Result<Variable<'a>, CallError> {
        let (name, ty) = find_name(device.variables.keys(), name)
            .and_then(|n| device.variables.get(&n).map(|t| (n, *t)))
            .ok_or(CallError::UnknownVariable)?;
        Ok(Variable {
            calls: *self,
            device,
            name,
            ty,
        })
    }
}

/// A function found on a device, not yet called.
pub struct Function<'a> {
    calls: DeviceCalls<'a>,
    /// The device as found.
    pub device: DeviceInfo,
    /// The function's name as the device spells it.
    pub name: String,
}

impl Function<'_> {
    /// Calls the function with `arg`: refused when longer than the device takes, then
    /// shaped by the device's faults, then sent, waiting up to the time left.
    pub async fn call(&self, arg: &str, note: &NoteSlot) -> Result<i32, CallError> {
        let calls = &self.calls;
        let limit = argument_limit(calls.profile, self.device.platform_id);
        if arg.len() > limit {
            return Err(CallError::ArgumentTooLong {
                len: arg.len(),
                limit,
            });
        }
        let timeout = calls.apply_faults(&self.device.id, note).await?;
        let id = &self.device.id;
        Ok(calls
            .devices
            .call_function(id, &self.name, arg, timeout)
            .await?)
    }
}

/// A variable found on a device, not yet read.
pub struct Variable<'a> {
    calls: DeviceCalls<'a>,
    /// The device as found.
    pub device: DeviceInfo,
    /// The variable's name as the device spells it.
    pub name: String,
    /// Its type, from the device's last Describe.
    pub ty: VarType,
}

impl Variable<'_> {
    /// Reads the variable: shaped by the device's faults, then asked, waiting up to the
    /// time left.
    pub async fn read(&self, note: &NoteSlot) -> Result<VarValue, CallError> {
        let calls = &self.calls;
        let timeout = calls.apply_faults(&self.device.id, note).await?;
        Ok(calls
            .devices
            .get_variable(&self.device.id, &self.name, timeout)
            .await?)
    }

    /// The device as the registry knows it now: after a read, heard from just now.
    pub fn device_now(&self) -> DeviceInfo {
        self.calls
            .devices
            .get(&self.device.id)
            .unwrap_or_else(|| self.device.clone())
    }
}

/// A variable's value as JSON, keeping its type (`result` in the API); a string's bytes
/// are read as UTF-8, invalid sequences replaced.
pub fn variable_json(v: &VarValue) -> serde_json::Value {
    match v {
        VarValue::Bool(b) => serde_json::Value::from(*b),
        VarValue::Int(i) => serde_json::Value::from(*i),
        VarValue::Double(d) => serde_json::Number::from_f64(*d)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        VarValue::String(s) => serde_json::Value::from(String::from_utf8_lossy(s)),
    }
}

/// A variable's value as plain text (`format=raw`).
pub fn variable_text(v: &VarValue) -> String {
    match v {
        VarValue::Bool(b) => b.to_string(),
        VarValue::Int(i) => i.to_string(),
        VarValue::Double(d) => d.to_string(),
        VarValue::String(s) => String::from_utf8_lossy(s).into_owned(),
    }
}
