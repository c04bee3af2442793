//! Shared by every test file; each file uses a different subset.
#![allow(dead_code)]

pub mod bin;
pub mod devices;
pub mod helpers;
