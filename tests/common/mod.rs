//! Shared by every test file; each file uses a different subset.
#![allow(dead_code)]

pub mod bin;
pub mod clients;
pub mod devices;
pub mod fake_device;
pub mod fuzz;
pub mod helpers;
pub mod install;
pub mod receiver;
pub mod web;
