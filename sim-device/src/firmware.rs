//! What a simulated core makes of a file flashed to it over the air.
//!
//! The chunks are stored in order ([`Receiving`]). On UpdateDone the file is cut to the
//! size UpdateBegin announced (without one, trailing zero padding is dropped) and looked
//! at: a devices-file fragment *for this device* becomes its new firmware, so after the
//! reboot it describes the fragment's functions and variables (and runs its publishes and
//! subscriptions); any other file is kept (size and CRC-32 in the log and in
//! [`crate::DeviceStatus::last_flash`]) and the device reboots unchanged.
//!
//! A fragment is for this device when it is a devices file with exactly one `[[device]]`
//! table, without `count`, `seed` or `id_prefix`, that names this device by `id`, by
//! `name`, or both (every one it gives must match). Only its functions, variables,
//! publishes and subscriptions are taken; its owner, key, mode and connection settings
//! are not (a firmware image cannot change those either). The same checks as for the
//! devices file apply (at most 4 functions, 10 variables, …).

use std::path::Path;
use std::sync::Arc;

use spark_mock_protocol::messages::{crc32, CHUNK_SIZE};

use crate::config::FleetConfig;
use crate::spec::{Definitions, DeviceSpec};

/// The last file flashed to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flashed {
    /// Its length.
    pub bytes: usize,
    /// Its CRC-32 (IEEE), as the chunks carry.
    pub crc32: u32,
    /// Whether it was a devices-file fragment for this device, now running.
    pub applied: bool,
}

/// An update being received.
#[derive(Debug, Default)]
pub(crate) struct Receiving {
    data: Vec<u8>,
    file_size: Option<u32>,
    /// The chunk the device expects next (what it asks for in ChunkMissed).
    pub next_index: u16,
}

impl Receiving {
    pub fn new(file_size: Option<u32>) -> Self {
        Self {
            file_size,
            ..Self::default()
        }
    }

    /// Stores a chunk whose CRC matched: at its index in fast mode, else at the next one.
    pub fn store(&mut self, index: Option<u16>, data: &[u8]) {
        let i = index.unwrap_or(self.next_index);
        let at = usize::from(i) * CHUNK_SIZE;
        if self.data.len() < at + data.len() {
            self.data.resize(at + data.len(), 0);
        }
        self.data[at..at + data.len()].copy_from_slice(data);
        self.next_index = i.wrapping_add(1);
    }

    /// The file: cut to the announced size, or without the last chunk's zero padding.
    pub fn finish(mut self) -> Vec<u8> {
        match self.file_size {
            Some(n) => self.data.truncate(n as usize),
            None => {
                let end = self.data.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
                self.data.truncate(end);
            }
        }
        self.data
    }
}

/// The file's summary for the log and the status.
pub(crate) fn summary(file: &[u8], applied: bool) -> Flashed {
    Flashed {
        bytes: file.len(),
        crc32: crc32(file),
        applied,
    }
}

/// The definitions in `file` when it is a devices-file fragment for `spec`'s device;
/// otherwise why not (for the log).
pub fn definitions_for(file: &[u8], spec: &DeviceSpec) -> Result<Arc<Definitions>, String> {
    let text = std::str::from_utf8(file).map_err(|_| "not UTF-8 text".to_string())?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not TOML: {}", e.message()))?;
    let entry = match table.remove("device") {
        Some(toml::Value::Array(mut a)) if a.len() == 1 => a.remove(0),
        Some(toml::Value::Array(a)) => {
            return Err(format!("{} [[device]] tables, not one", a.len()))
        }
        _ => return Err("no [[device]] table".into()),
    };
    let toml::Value::Table(mut entry) = entry else {
        return Err("[[device]] is not a table".into());
    };
    for key in ["count", "seed", "id_prefix"] {
        if entry.contains_key(key) {
            return Err(format!("its `{key}` describes other devices"));
        }
    }
    let (id, name) = (spec.id.to_hex(), spec.name.as_deref());
    let given_id = entry.get("id").and_then(|v| v.as_str());
    let given_name = entry.get("name").and_then(|v| v.as_str());
    match (given_id, given_name) {
        (None, None) => return Err("its [[device]] names no id and no name".into()),
        (Some(other), _) if !other.eq_ignore_ascii_case(&id) => {
            return Err(format!("it is for device {other}"))
        }
        (_, Some(other)) if name != Some(other) => {
            return Err(format!("it is for a device named {other:?}"))
        }
        _ => {}
    }
    entry.retain(|k, _| matches!(k, "function" | "variable" | "publish" | "subscribe"));
    entry.insert("id".into(), toml::Value::String(id));
    let mut file = toml::Table::new();
    file.insert(
        "device".into(),
        toml::Value::Array(vec![toml::Value::Table(entry)]),
    );
    let text = toml::to_string(&file).map_err(|e| e.to_string())?;
    let parsed = FleetConfig::parse(&text, "the flashed fragment", Path::new("."))
        .map_err(|e| e.to_string())?;
    parsed
        .devices
        .into_iter()
        .next()
        .map(|d| d.defs)
        .ok_or_else(|| "no device in it".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimDevice;

    fn spec() -> DeviceSpec {
        let d = SimDevice::builder("1a118ad1c886d54240ce4b17")
            .name("kettle")
            .function("boil", |_| 1)
            .build()
            .unwrap();
        d.spec().clone()
    }

    fn why(text: &str) -> String {
        definitions_for(text.as_bytes(), &spec()).unwrap_err()
    }

    #[test]
    fn a_fragment_by_id_or_name_gives_its_definitions() {
        for head in [
            "id = \"1A118AD1C886D54240CE4B17\"",
            "name = \"kettle\"",
            "id = \"1a118ad1c886d54240ce4b17\"\nname = \"kettle\"\nowner = \"x@y\"",
        ] {
            let text = format!("[[device]]\n{head}\n[[device.function]]\nname = \"pour\"\n");
            let defs = definitions_for(text.as_bytes(), &spec()).unwrap();
            let names: Vec<_> = defs.functions.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(names, ["pour"], "{head}");
        }
    }

    #[test]
    fn anything_else_says_why_it_is_not_firmware() {
        assert_eq!(
            definitions_for(&[0xff, 0xfe], &spec()).unwrap_err(),
            "not UTF-8 text"
        );
        assert!(why("int main() {}").starts_with("not TOML"));
        assert_eq!(why("[fleet]\n"), "no [[device]] table");
        assert_eq!(
            why("[[device]]\nname = \"a\"\n[[device]]\nname = \"b\"\n"),
            "2 [[device]] tables, not one"
        );
        assert_eq!(
            why("[[device]]\nname = \"teapot\"\n"),
            "it is for a device named \"teapot\""
        );
        assert_eq!(
            why("[[device]]\nid = \"000000000000000000000001\"\nname = \"kettle\"\n"),
            "it is for device 000000000000000000000001"
        );
        assert_eq!(
            why("[[device]]\nname = \"kettle\"\ncount = 2\n"),
            "its `count` describes other devices"
        );
        assert_eq!(
            why("[[device]]\n[[device.function]]\nname = \"x\"\n"),
            "its [[device]] names no id and no name"
        );
        let five: String = (0..5)
            .map(|i| format!("[[device.function]]\nname = \"f{i}\"\n"))
            .collect();
        let text = format!("[[device]]\nname = \"kettle\"\n{five}");
        assert!(why(&text).contains("at most 4"), "{}", why(&text));
    }

    #[test]
    fn the_file_is_cut_to_its_size_or_its_padding() {
        let mut r = Receiving::new(Some(300));
        r.store(None, &[1; 256]);
        r.store(None, &[0; 256]);
        assert_eq!(r.next_index, 2);
        assert_eq!(r.finish().len(), 300);
        let mut r = Receiving::new(None);
        r.store(None, &[1; 256]);
        let mut last = vec![2; 10];
        last.resize(256, 0);
        r.store(None, &last);
        assert_eq!(r.finish().len(), 266);
    }
}
