//! Shared by the test modules.

pub mod bin;
pub mod clients;
pub mod devices;
pub mod fake_device;
pub mod fuzz;
pub mod helpers;
pub mod install;
pub mod receiver;
pub mod web;
