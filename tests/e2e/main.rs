//! The end-to-end tests: the CLI, the HTTP API and the device port, with real clients.
//! One binary (one link, one set of RSA keys), a module per area.

mod common;

mod access_tokens;
mod bearer;
mod bench;
mod browser;
mod build_api;
mod build_ide;
mod cli;
mod clients;
mod clock;
mod concurrency;
mod conformance_api_js;
mod conformance_cli;
mod conformance_cli_flash;
mod console;
mod control;
mod demo;
mod device_faults;
mod devices_api;
mod events_api;
mod flash;
mod history;
mod http_timeouts;
mod mfa;
mod oauth_errors;
mod oauth_grants;
mod oauth_refresh;
mod openapi_fuzz;
mod openapi_routes;
mod ownership;
mod persistence;
mod policies;
mod rate_limits;
mod robustness;
mod users;
mod webhooks;
