//! Shapes shared by many routes, and the ones that differ by profile (the OAuth error,
//! the token answer, the device entries), as `components`.

use serde_json::{json, Value};

use crate::config::Profile;

/// `{"$ref": "#/components/schemas/<name>"}`.
pub fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// An object with exactly these `required` keys, plus the optional ones in `props`.
pub fn exact(required: &[&str], props: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": false,
    })
}

/// An object with at least these keys (the admin API's larger records).
pub fn with(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

pub fn string() -> Value {
    json!({"type": "string"})
}

pub fn nullable_string() -> Value {
    json!({"type": ["string", "null"]})
}

/// An ISO-8601 UTC time with milliseconds, or `null`.
pub fn time_or_null() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

pub fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

/// Every response carries `Access-Control-Allow-Origin: *` (spark-server's CORS).
pub fn cors_header() -> Value {
    json!({"Access-Control-Allow-Origin": {
        "required": true,
        "description": "CORS, as spark-server sends it",
        "schema": {"const": "*"},
    }})
}

fn oauth_error(profile: Profile) -> Value {
    let kinds = json!({"enum": [
        "invalid_request", "invalid_client", "invalid_grant", "invalid_token",
        "invalid_scope", "mfa_required", "rate_limit_exceeded", "server_error",
    ]});
    match profile {
        Profile::Spark2014 => exact(
            &["code", "error", "error_description"],
            json!({"code": {"type": "integer"}, "error": kinds, "error_description": string()}),
        ),
        Profile::Particle => exact(
            &["error", "error_description"],
            json!({"error": kinds, "error_description": string(), "mfa_token": string()}),
        ),
    }
}

fn token(profile: Profile) -> Value {
    let hex40 = json!({"type": "string", "pattern": "^[0-9a-f]{40}$"});
    let common = json!({
        "access_token": hex40, "refresh_token": hex40,
        "token_type": {"const": "bearer"},
        "expires_in": {"type": "integer", "minimum": 0},
    });
    match profile {
        Profile::Spark2014 => exact(&["access_token", "token_type", "expires_in"], common),
        Profile::Particle => {
            let mut props = common;
            props["scope"] = string();
            exact(&["token_type", "access_token", "expires_in"], props)
        }
    }
}

fn variables() -> Value {
    json!({"type": "object", "additionalProperties": {
        "enum": ["bool", "int32", "string", "null", "double"]
    }})
}

fn functions() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn device_summary(profile: Profile) -> Value {
    match profile {
        Profile::Spark2014 => exact(
            &["id", "name", "last_app", "last_heard", "connected"],
            json!({
                "id": string(), "name": nullable_string(), "last_app": {"type": "null"},
                "last_heard": time_or_null(), "connected": {"type": "boolean"},
            }),
        ),
        Profile::Particle => {
            let props = particle_device_props();
            let keys: Vec<&str> = props
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            exact(&keys, props.clone())
        }
    }
}

fn particle_device_props() -> Value {
    json!({
        "id": string(), "name": nullable_string(), "last_app": {"type": "null"},
        "last_ip_address": nullable_string(), "last_heard": time_or_null(),
        "last_handshake_at": time_or_null(), "product_id": {"type": "integer"},
        "online": {"type": "boolean"}, "connected": {"type": "boolean"},
        "platform_id": {"type": "integer"}, "cellular": {"const": false},
        "notes": nullable_string(), "functions": functions(), "variables": variables(),
        "status": {"const": "normal"}, "serial_number": {"type": "null"},
        "mac_wifi": {"type": "null"}, "system_firmware_version": {"type": "null"},
    })
}

fn device_detail(profile: Profile) -> Value {
    match profile {
        Profile::Spark2014 => exact(
            &[
                "id",
                "name",
                "connected",
                "variables",
                "functions",
                "cc3000_patch_version",
            ],
            json!({
                "id": string(), "name": nullable_string(), "connected": {"type": "boolean"},
                "variables": variables(), "functions": functions(),
                "cc3000_patch_version": string(),
            }),
        ),
        Profile::Particle => {
            let mut props = particle_device_props();
            props["owner"] = nullable_string();
            props["firmware_updates_enabled"] = json!({"const": true});
            props["firmware_updates_forced"] = json!({"const": false});
            let keys: Vec<&str> = props
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            exact(&keys, props.clone())
        }
    }
}

/// `components`: schemas and security schemes for `profile`.
pub fn components(profile: Profile) -> Value {
    json!({
        "schemas": {
            "ApiError": exact(&["ok", "error"], json!({"ok": {"const": false}, "error": string()})),
            "ApiErrors": exact(&["ok", "errors"], json!({
                "ok": {"const": false}, "errors": {"type": "array", "items": string()},
            })),
            "OAuthError": oauth_error(profile),
            "PermissionDenied": exact(&["error", "info"], json!({
                "error": {"const": "Permission Denied"}, "info": string(),
            })),
            "Ok": exact(&["ok"], json!({"ok": {"const": true}})),
            "OkMessage": exact(&["ok", "message"], json!({"ok": {"const": true}, "message": string()})),
            "Token": token(profile),
            "DeviceSummary": device_summary(profile),
            "DeviceDetail": device_detail(profile),
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "40 hex characters from POST /oauth/token"},
            "basic": {"type": "http", "scheme": "basic",
                      "description": "the account's email and password"},
            "adminToken": {"type": "apiKey", "in": "header", "name": "X-Admin-Token",
                           "description": "needed from non-loopback clients, with --admin-token"},
        },
    })
}
