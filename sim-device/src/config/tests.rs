//! The TOML format: every behaviour and kind parses, `count` expands, and
//! every error names the line.

use std::path::Path;
use std::time::Duration;

use spark_mock_protocol::messages::{VarType, VarValue};

use super::{ConfigError, FleetConfig};
use crate::model::{Behaviour, VarSource};
use crate::spec::{KeySource, Mode, Scope};

fn parse(text: &str) -> Result<FleetConfig, ConfigError> {
    FleetConfig::parse(text, "devices.toml", Path::new("/nonexistent"))
}

/// The line an error points at, with the message for assertion failures.
fn error_line(text: &str) -> (usize, String) {
    let e = parse(text).expect_err("the file should be rejected");
    let msg = e.to_string();
    assert!(msg.starts_with("devices.toml:"), "{msg}");
    (e.line().expect("a line"), msg)
}

#[test]
fn the_example_file_parses() {
    let text = include_str!("../../examples/devices.toml");
    let cfg = FleetConfig::parse(text, "devices.toml", Path::new(".")).unwrap();
    assert!(cfg.devices.len() > 3);
    assert!(cfg.devices.iter().any(|d| d.mode == Mode::Photon));
}

#[test]
fn every_behaviour_parses() {
    let cfg = parse(
        r#"
[[device]]
id = "53ff6f065067544840551187"
name = "all-behaviours"
owner = "demo@spark-mock.local"

[[device.variable]]
name = "level"
type = "int"

[[device.variable]]
name = "led"
type = "bool"

[[device.function]]
name = "constant"
value = 7
[[device.function]]
name = "length"
behaviour = "arg_length"
[[device.function]]
name = "setlevel"
behaviour = "set_variable"
variable = "level"
[[device.function]]
name = "toggleled"
behaviour = "toggle"
variable = "led"
"#,
    )
    .unwrap();
    let d = &cfg.devices[0];
    assert_eq!(d.id.to_hex(), "53ff6f065067544840551187");
    assert_eq!(d.owner.as_deref(), Some("demo@spark-mock.local"));
    let fs = &d.defs.functions;
    assert!(matches!(fs[0].behaviour, Behaviour::Constant(7)));
    assert!(matches!(fs[1].behaviour, Behaviour::ArgLength));
    assert!(matches!(&fs[2].behaviour, Behaviour::SetVariable(v) if v == "level"));
    assert!(matches!(&fs[3].behaviour, Behaviour::Toggle(Some(v)) if v == "led"));

    let cfg = parse(
        r#"
[[device]]
seed = 1
[[device.function]]
name = "broken"
behaviour = "fail"
[[device.function]]
name = "stuck"
behaviour = "hang"
[[device.function]]
name = "slow"
behaviour = "delay"
delay_ms = 1500
value = 3
[[device.function]]
name = "flip"
behaviour = "toggle"
"#,
    )
    .unwrap();
    let fs = &cfg.devices[0].defs.functions;
    assert!(matches!(fs[0].behaviour, Behaviour::Fail));
    assert!(matches!(fs[1].behaviour, Behaviour::Hang));
    assert!(matches!(fs[2].behaviour, Behaviour::Constant(3)));
    assert_eq!(fs[2].delay, Duration::from_millis(1500));
    assert!(matches!(fs[3].behaviour, Behaviour::Toggle(None)));
}

#[test]
fn every_kind_and_type_parses() {
    let cfg = parse(
        r#"
[[device]]
seed = 9
[[device.variable]]
name = "b"
type = "bool"
value = true
[[device.variable]]
name = "i"
type = "int32"
kind = "counter"
value = 10
step = 5
[[device.variable]]
name = "d"
type = "double"
kind = "random_walk"
value = 20
min = 15
max = 30.5
step = 0.5
[[device.variable]]
name = "s"
type = "string"
kind = "pick"
choices = ["idle", "brewing"]
[[device.variable]]
name = "wave"
type = "double"
kind = "sine"
min = -1
max = 1
period_s = 60
[[device.variable]]
name = "label"
type = "string"
value = "hello"
"#,
    )
    .unwrap();
    let vs = &cfg.devices[0].defs.variables;
    let types: Vec<VarType> = vs.iter().map(|v| v.ty).collect();
    use VarType::*;
    assert_eq!(types, [Bool, Int, Double, String, Double, String]);
    assert!(matches!(
        &vs[0].source,
        VarSource::Constant(VarValue::Bool(true))
    ));
    assert!(
        matches!(vs[1].source, VarSource::Counter { start, step } if start == 10.0 && step == 5.0)
    );
    assert!(
        matches!(vs[2].source, VarSource::RandomWalk { start, min, max, step }
        if (start, min, max, step) == (20.0, 15.0, 30.5, 0.5))
    );
    assert!(matches!(&vs[3].source, VarSource::Pick(c) if c.len() == 2));
    assert!(
        matches!(vs[4].source, VarSource::Sine { period, .. } if period == Duration::from_secs(60))
    );
    assert!(matches!(&vs[5].source, VarSource::Constant(VarValue::String(s)) if s == b"hello"));
}

#[test]
fn publishes_subscriptions_and_connection() {
    let cfg = parse(
        r#"
[fleet]
owner = "fleet@example.com"
mode = "photon"
shared_key = true
max_connecting = 8

[[device]]
seed = 3
[[device.variable]]
name = "temp"
type = "double"
value = 21.5
[[device.publish]]
name = "temperature"
interval_s = 2.5
data = "t=${temp}"
private = true
ttl = 300
[[device.subscribe]]
prefix = "alarm"
scope = "mine"
set_variable = "temp"
[device.connection]
backoff_min_ms = 100
backoff_max_ms = 2000
keepalive_s = 5
ping_timeout_s = 2
answer_delay_ms = 250
drop_after_s = 60
offline_after_s = 120
offline_for_s = 30
time_sync = true
disconnect_on_long_arg = true
"#,
    )
    .unwrap();
    assert_eq!(cfg.max_connecting, 8);
    let d = &cfg.devices[0];
    assert_eq!(d.mode, Mode::Photon);
    assert!(matches!(d.key, KeySource::Shared));
    assert_eq!(d.owner.as_deref(), Some("fleet@example.com"));
    let p = &d.defs.publishes[0];
    assert_eq!(
        (p.interval, p.private, p.ttl),
        (Duration::from_millis(2500), true, 300)
    );
    let s = &d.defs.subscriptions[0];
    assert_eq!(
        (s.scope, s.set_variable.as_deref()),
        (Scope::Mine, Some("temp"))
    );
    let c = &d.connection;
    assert_eq!(c.backoff_min, Duration::from_millis(100));
    assert_eq!(c.keepalive, Duration::from_secs(5));
    assert_eq!(c.answer_delay, Duration::from_millis(250));
    assert_eq!(c.drop_after, Some(Duration::from_secs(60)));
    assert_eq!(c.offline_after, Some(Duration::from_secs(120)));
    assert_eq!(c.offline_for, Duration::from_secs(30));
    assert!(c.time_sync && c.disconnect_on_long_arg);
}

#[test]
fn count_expands_with_prefix_or_seed() {
    let cfg = parse(
        r#"
[[device]]
id_prefix = "0123456789abcdef"
count = 3
name = "sensor"

[[device]]
seed = 100
count = 2
name = "probe-{n}-x"

[[device]]
id_prefix = "ab"
"#,
    )
    .unwrap();
    let ids: Vec<String> = cfg.devices.iter().map(|d| d.id.to_hex()).collect();
    assert_eq!(
        &ids[..3],
        [
            "0123456789abcdef00000001",
            "0123456789abcdef00000002",
            "0123456789abcdef00000003"
        ]
    );
    assert_eq!(ids[3], crate::rng::id_from_seed(100).to_hex());
    assert_eq!(ids[4], crate::rng::id_from_seed(101).to_hex());
    assert_eq!(ids[5], "ab0000000000000000000001");
    let names: Vec<Option<&str>> = cfg.devices.iter().map(|d| d.name.as_deref()).collect();
    assert_eq!(
        names[..5],
        [
            Some("sensor-1"),
            Some("sensor-2"),
            Some("sensor-3"),
            Some("probe-1-x"),
            Some("probe-2-x")
        ]
    );
    assert_eq!(cfg.devices[3].seed, 100);
    // The devices of one entry share their definitions.
    assert!(std::sync::Arc::ptr_eq(
        &cfg.devices[0].defs,
        &cfg.devices[2].defs
    ));
}

#[test]
fn syntax_and_shape_errors_name_the_line() {
    let (line, msg) = error_line("[[device]]\nseed = 1\ncolour = \"red\"\n");
    assert_eq!(line, 3, "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
    let (line, msg) = error_line(
        "[[device]]\nseed = 1\n\n[[device.function]]\nname = \"x\"\nbehaviour = \"explode\"\n",
    );
    assert_eq!(line, 6, "{msg}");
    assert!(msg.contains("explode"), "{msg}");
    let (line, _) =
        error_line("[[device]]\nseed = 1\n[[device.variable]]\nname = \"x\"\ntype = \"float\"\n");
    assert_eq!(line, 5);
    let (line, _) = error_line("[[device]]\nseed = \"one\"\n");
    assert_eq!(line, 2);
    let (line, _) = error_line("[[device]\n");
    assert_eq!(line, 1);
}

#[test]
fn rule_errors_name_the_line() {
    let five = "[[device]]\nseed = 1\n".to_owned()
        + &(1..=5)
            .map(|i| format!("[[device.function]]\nname = \"f{i}\"\n"))
            .collect::<String>();
    let (line, msg) = error_line(&five);
    assert_eq!(line, 11, "{msg}");
    assert!(msg.contains("at most 4"), "{msg}");

    let eleven = "[[device]]\nseed = 1\n".to_owned()
        + &(1..=11)
            .map(|i| format!("[[device.variable]]\nname = \"v{i}\"\ntype = \"int\"\n"))
            .collect::<String>();
    let (line, msg) = error_line(&eleven);
    assert_eq!(line, 33, "{msg}");
    assert!(msg.contains("at most 10"), "{msg}");

    let cases: &[(&str, usize, &str)] = &[
        ("[[device]]\nid = \"xyz\"\n", 2, "bad device id"),
        ("[[device]]\nname = \"no id\"\n", 1, "needs an id"),
        ("[[device]]\nid = \"53ff6f065067544840551187\"\ncount = 2\n", 2, "id_prefix or seed"),
        ("[[device]]\nseed = 1\ncount = 0\n", 3, "count must be"),
        ("[[device]]\nseed = 1\n[[device]]\nseed = 1\n", 3, "duplicate device id"),
        ("[[device]]\nid_prefix = \"xyz\"\n", 2, "hex"),
        ("[[device]]\nseed = 1\n[[device.function]]\nname = \"set\"\nbehaviour = \"set_variable\"\nvariable = \"nope\"\n", 3, "unknown variable"),
        ("[[device]]\nseed = 1\n[[device.function]]\nname = \"c\"\nbehaviour = \"fail\"\nvalue = 3\n", 3, "only for"),
        ("[[device]]\nseed = 1\n[[device.function]]\nname = \"c\"\nbehaviour = \"delay\"\n", 3, "delay_ms"),
        ("[[device]]\nseed = 1\n[[device.function]]\nname = \"abcdefghijklXX\"\n[[device.function]]\nname = \"abcdefghijklYY\"\n", 5, "duplicate function"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"int\"\nvalue = \"seven\"\n", 3, "not a int32"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"int\"\nvalue = 5000000000\n", 3, "int32"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"double\"\nkind = \"sine\"\nmin = 0\n", 3, "needs `max`"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"double\"\nkind = \"counter\"\nmin = 0\n", 3, "does not apply"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"int\"\nkind = \"random_walk\"\nmin = 5\nmax = 1\n", 3, "min <= value <= max"),
        ("[[device]]\nseed = 1\n[[device.variable]]\nname = \"v\"\ntype = \"string\"\nkind = \"pick\"\nchoices = []\n", 3, "at least one"),
        ("[[device]]\nseed = 1\n[[device.publish]]\nname = \"p\"\ninterval_s = 0\n", 3, "interval"),
        ("[[device]]\nseed = 1\n[[device.publish]]\nname = \"p\"\ninterval_s = -1\n", 3, "seconds"),
        ("[[device]]\nseed = 1\n[[device.publish]]\nname = \"p\"\ninterval_s = 1\ndata = \"${ghost}\"\n", 3, "unknown variable"),
        ("[[device]]\nseed = 1\n[[device.publish]]\nname = \"p\"\ninterval_s = 1\nttl = 16777216\n", 3, "ttl"),
        ("[[device]]\nseed = 1\n[[device.subscribe]]\nprefix = \"\"\n", 3, "1 to 63"),
        ("[[device]]\nseed = 1\n\n[device.connection]\nbackoff_min_ms = 10\nbackoff_max_ms = 1\n", 4, "backoff"),
        ("[[device]]\nseed = 1\nkey = \"missing.pem\"\n", 3, "cannot read key"),
        ("[fleet]\nmax_connecting = 0\n", 2, "max_connecting"),
    ];
    for (text, want, needle) in cases {
        let (line, msg) = error_line(text);
        assert_eq!(line, *want, "{text:?} → {msg}");
        assert!(msg.contains(needle), "{text:?} → {msg}");
    }
}

#[test]
fn read_errors_name_the_file() {
    let e = FleetConfig::from_file("/nonexistent/devices.toml").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/devices.toml"));
    assert_eq!(e.line(), None);
}
