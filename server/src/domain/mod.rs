//! Domain logic, free of HTTP: accounts, tokens and their policies.

pub mod db;
pub mod grant;
pub mod password;
pub mod policy;
pub mod token;
pub mod users;
