//! The models: behaviours, kinds, reproducibility from a seed, and the
//! Core's limits.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::messages::{VarType, VarValue};

use super::*;
use crate::spec::{BuildError, Definitions};
use crate::SimDevice;

fn model(functions: Vec<FunctionDef>, variables: Vec<VariableDef>, seed: u64) -> Model {
    let defs = Definitions {
        functions,
        variables,
        ..Definitions::default()
    };
    defs.validate().unwrap();
    Model::new(Arc::new(defs), seed)
}

fn walk() -> VariableDef {
    VariableDef::new(
        "temp",
        VarType::Double,
        VarSource::RandomWalk {
            start: 20.0,
            min: 15.0,
            max: 25.0,
            step: 1.0,
        },
    )
}

fn pick() -> VariableDef {
    let choices = ["a", "b", "c", "d"]
        .map(|s| VarValue::String(s.into()))
        .to_vec();
    VariableDef::new("mood", VarType::String, VarSource::Pick(choices))
}

fn sequence(m: &mut Model, n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|_| [m.read("temp").unwrap(), m.read("mood").unwrap()])
        .map(|v| value_text(&v))
        .collect()
}

#[test]
fn values_are_reproducible_from_a_seed() {
    let a = sequence(&mut model(vec![], vec![walk(), pick()], 42), 50);
    let b = sequence(&mut model(vec![], vec![walk(), pick()], 42), 50);
    let c = sequence(&mut model(vec![], vec![walk(), pick()], 43), 50);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a[0], "20", "a walk starts at its value");
    for pair in a.chunks(2) {
        let t: f64 = pair[0].parse().unwrap();
        assert!((15.0..=25.0).contains(&t), "{t}");
        assert!(["a", "b", "c", "d"].contains(&pair[1].as_str()));
    }
}

#[test]
fn counters_sines_and_conversions() {
    let vars = vec![
        VariableDef::new(
            "n",
            VarType::Int,
            VarSource::Counter {
                start: 5.0,
                step: 2.0,
            },
        ),
        VariableDef::new(
            "s",
            VarType::String,
            VarSource::Counter {
                start: 1.0,
                step: 1.0,
            },
        ),
        VariableDef::new(
            "wave",
            VarType::Double,
            VarSource::Sine {
                min: -2.0,
                max: 2.0,
                period: Duration::from_secs(10),
            },
        ),
        VariableDef::constant("flag", VarValue::Bool(true)),
    ];
    let mut m = model(vec![], vars, 0);
    let reads: Vec<VarValue> = (0..3).map(|_| m.read("n").unwrap()).collect();
    assert_eq!(
        reads,
        [VarValue::Int(5), VarValue::Int(7), VarValue::Int(9)]
    );
    assert_eq!(m.read("s"), Some(VarValue::String(b"1".to_vec())));
    match m.read("wave") {
        Some(VarValue::Double(w)) => assert!((-2.0..=2.0).contains(&w)),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.read("flag"), Some(VarValue::Bool(true)));
    assert_eq!(m.read("missing"), None);
}

#[test]
fn every_behaviour() {
    let calls = Arc::new(AtomicI32::new(0));
    let seen = Arc::clone(&calls);
    let functions = vec![
        FunctionDef::new("const", Behaviour::Constant(7)),
        FunctionDef::new("len", Behaviour::ArgLength).with_delay(Duration::from_millis(30)),
        FunctionDef::new("set", Behaviour::SetVariable("level".into())),
        FunctionDef::new("flip", Behaviour::Toggle(Some("led".into()))),
    ];
    let variables = vec![
        VariableDef::constant("level", VarValue::Int(0)),
        VariableDef::constant("led", VarValue::Bool(false)),
    ];
    let mut m = model(functions, variables, 1);
    let ret = |m: &mut Model, name: &str, arg: &str| m.call(name, arg).map(|c| c.outcome);
    assert_eq!(ret(&mut m, "const", ""), Some(CallOutcome::Return(7)));
    let c = m.call("len", "hello").unwrap();
    assert_eq!(
        (c.outcome, c.delay),
        (CallOutcome::Return(5), Duration::from_millis(30))
    );
    assert_eq!(ret(&mut m, "set", "12"), Some(CallOutcome::Return(1)));
    assert_eq!(m.read("level"), Some(VarValue::Int(12)));
    assert_eq!(ret(&mut m, "set", "twelve"), Some(CallOutcome::Return(-1)));
    assert_eq!(m.read("level"), Some(VarValue::Int(12)));
    assert_eq!(ret(&mut m, "flip", ""), Some(CallOutcome::Return(1)));
    assert_eq!(m.read("led"), Some(VarValue::Bool(true)));
    assert_eq!(ret(&mut m, "flip", ""), Some(CallOutcome::Return(0)));
    assert_eq!(ret(&mut m, "nope", ""), None);

    let functions = vec![
        FunctionDef::new("fail", Behaviour::Fail),
        FunctionDef::new("hang", Behaviour::Hang),
        FunctionDef::new("toggle", Behaviour::Toggle(None)),
        FunctionDef::new(
            "custom",
            Behaviour::Custom(Arc::new(move |arg: &str| {
                seen.fetch_add(1, Ordering::SeqCst);
                arg.parse().unwrap_or(-2)
            })),
        ),
    ];
    let mut m = model(functions, vec![], 1);
    assert_eq!(ret(&mut m, "fail", ""), Some(CallOutcome::Return(-1)));
    assert_eq!(ret(&mut m, "hang", ""), Some(CallOutcome::Hang));
    assert_eq!(ret(&mut m, "toggle", ""), Some(CallOutcome::Return(1)));
    assert_eq!(ret(&mut m, "toggle", ""), Some(CallOutcome::Return(0)));
    assert_eq!(ret(&mut m, "custom", "33"), Some(CallOutcome::Return(33)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn names_are_truncated_to_12_characters() {
    let f = FunctionDef::new("averyveryverylongname", Behaviour::Constant(1));
    assert_eq!(f.name, "averyveryver");
    let v = VariableDef::constant("temperature_sensor", VarValue::Int(1));
    assert_eq!(v.name, "temperature_");
    let m = model(vec![f], vec![v], 0);
    let json = String::from_utf8(m.describe(false).encode()).unwrap();
    assert_eq!(json, r#"{"f":["averyveryver"],"v":{"temperature_":2}}"#);
    let photon = String::from_utf8(m.describe(true).encode()).unwrap();
    assert!(photon.contains(r#","m":[{"#), "{photon}");
}

#[test]
fn limits_of_a_core() {
    let mut b = SimDevice::builder_seeded(1);
    for i in 0..=MAX_FUNCTIONS {
        b = b.function(&format!("f{i}"), |_| 0);
    }
    assert!(matches!(
        b.build(),
        Err(BuildError::TooMany {
            what: "functions",
            count: 5,
            max: 4
        })
    ));
    let mut b = SimDevice::builder_seeded(1);
    for i in 0..=MAX_VARIABLES {
        b = b.variable_int(&format!("v{i}"), || 0);
    }
    assert!(matches!(
        b.build(),
        Err(BuildError::TooMany {
            what: "variables",
            count: 11,
            max: 10
        })
    ));
    let dup = SimDevice::builder_seeded(1)
        .function("abcdefghijklONE", |_| 0)
        .function("abcdefghijklTWO", |_| 0)
        .build();
    assert!(matches!(dup, Err(BuildError::Duplicate { .. })), "{dup:?}");
    assert!(matches!(
        SimDevice::builder("xyz").build(),
        Err(BuildError::BadId { .. })
    ));
    let ok = SimDevice::builder_seeded(1)
        .function("a", |_| 0)
        .variable_bool("b", || true)
        .variable_double("c", || 1.5)
        .variable_string("d", || "x".into())
        .build();
    assert!(ok.is_ok());
    assert_eq!(MAX_ARG_LEN, 63);
}

#[test]
fn templates_render_variables_and_device_fields() {
    let vars = vec![
        VariableDef::new(
            "n",
            VarType::Int,
            VarSource::Counter {
                start: 1.0,
                step: 1.0,
            },
        ),
        VariableDef::constant("t", VarValue::Double(21.5)),
    ];
    let mut m = model(vec![], vars, 0);
    let out = m.render(
        "${device.name}/${device.id}: n=${n} t=${t} ${n} ${ghost} ${open",
        "id1",
        "kitchen",
    );
    assert_eq!(out, "kitchen/id1: n=1 t=21.5 2 ${ghost} ${open");
    assert_eq!(placeholders("a ${x} b ${y}"), ["x", "y"]);
    assert!(m.set_from_text("ghost", "1").is_err());
}
