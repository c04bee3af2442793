//! `particle flash <device> <file>` (particle-cli 3.43.1, the real one) against spark-mock
//! in both profiles: a devices-file fragment saved as `.bin` becomes sim1's firmware and
//! `particle list` shows its functions and variables; a binary leaves sim1 as it is; an
//! offline device fails. The CLI sends a `.bin` as it is (`PUT /v1/devices/:id`, multipart
//! `file` and `latest=true`); any other extension goes to the cloud's compiler first.
//!
//! Needs Node 20 and npm; `SPARK_MOCK_SKIP_CLIENTS=1` skips (CI never sets it).

use crate::common;

use std::time::Duration;

use common::clients::{self, Cli, DORMANT_ID, SIM1_ID};
use common::helpers::*;
use spark_mock_server::Profile;

const FRAGMENT: &str = r#"[[device]]
name = "sim1"

[[device.function]]
name = "pour"
behaviour = "arg_length"

[[device.variable]]
name = "litres"
type = "double"
value = 1.5
"#;

/// What particle-cli prints before its first flash from a HOME.
const FIRST_FLASH: &str = ":::: NOTICE:\n\
    :::: Your first flash may take up to 10m to complete - during\n\
    :::: this time, your device may regularly change LED states\n\
    :::: as Device OS upgrades are applied.\n";

/// Waits until the cloud has the Describe of sim1's `n`th session.
async fn rebooted(cloud: &clients::Cloud, n: u64, functions: &[&str]) {
    tokio::time::timeout(Duration::from_secs(30), cloud.sim1.wait_sessions(n))
        .await
        .expect("sim1 reconnected in time")
        .expect("sim1 reconnected");
    cloud
        .app
        .wait_device(SIM1_ID, "described", |d| {
            d.online && d.functions == functions
        })
        .await;
}

async fn flash(profile: Profile) {
    let test = format!("flash({profile})");
    let Some(c) = clients::clients(&test).await else {
        return;
    };
    let cloud = clients::cloud(profile, None).await;
    let app = &cloud.app;
    let cli = Cli::new(&c, "flash", &app.base);
    cli.particle(&["login", "-u", USER, "-p", PASSWORD])
        .await
        .expect_ok("> Successfully completed login!\n");
    let dir = temp_dir("flash-files");
    let fragment = dir.join("sim1-v2.bin");
    std::fs::write(&fragment, FRAGMENT).expect("fragment");
    let binary = dir.join("app.bin");
    let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&binary, &bytes).expect("binary");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_string();

    cli.particle(&["flash", "sim1", &path(&fragment)])
        .await
        .expect_ok(&format!(
            "{FIRST_FLASH}Flashing firmware to your device sim1\nFlash success!\n"
        ));
    rebooted(&cloud, 2, &["pour"]).await;
    let ty = match profile {
        Profile::Spark2014 => "Product undefined",
        Profile::Particle => "Core",
    };
    let dormant = match profile {
        Profile::Spark2014 => format!("dormant [{DORMANT_ID}] ({ty}) is offline\n"),
        Profile::Particle => format!(
            "dormant [{DORMANT_ID}] ({ty}) is offline\n  Variables:\n    temp (int32)\n  \
             Functions:\n    int led (String args) \n"
        ),
    };
    let sim1 = format!(
        "sim1 [{SIM1_ID}] ({ty}) is online\n  Variables:\n    litres (double)\n  \
         Functions:\n    int pour (String args) \n"
    );
    // particle-cli lists offline devices first.
    cli.particle(&["list"])
        .await
        .expect_ok(&format!("{dormant}{sim1}"));
    cli.particle(&["call", "sim1", "pour", "tea"])
        .await
        .expect_ok("3\n");
    cli.particle(&["get", "sim1", "litres"])
        .await
        .expect_ok("1.5\n");

    // A binary is stored; sim1 reboots as it was.
    cli.particle(&["flash", "sim1", &path(&binary)])
        .await
        .expect_ok("Flashing firmware to your device sim1\nFlash success!\n");
    rebooted(&cloud, 3, &["pour"]).await;
    let last = cloud.sim1.status().last_flash.expect("stored");
    assert_eq!((last.bytes, last.applied), (3000, false));

    // An offline device: the cloud's error, exit code 1.
    let failed = match profile {
        // particle-cli finds no `error` text in the 2014 body.
        Profile::Spark2014 => format!("HTTP error 400 from {}/v1/devices/dormant", app.base),
        Profile::Particle => "Device is not connected.".to_string(),
    };
    cli.particle(&["flash", "dormant", &path(&binary)])
        .await
        .expect(
            1,
            &format!(
                "Flashing firmware to your device dormant\nFailed to flash dormant: {failed}\n"
            ),
            "",
        );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn particle_flash() {
    flash(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_flash() {
    flash(Profile::Spark2014).await;
}
