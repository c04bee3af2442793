//! Today's Particle cloud (api.particle.io, Particle's fork of node-oauth2-server).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{
    common_error, expires_in, json_response, no_cache, opt_time, variables_json, Shape, Signup,
};
use crate::api::error::ApiError;
use crate::devices::flash::FlashError;
use crate::devices::{variable_json, DeviceError, DeviceInfo, VarValue};
use crate::domain::grant::{GrantFeatures, GrantType};
use crate::domain::token::TokenRecord;
use crate::domain::users::User;
use crate::error::{text, OAuthKind};
use crate::events::Event;

pub struct Particle;

/// A stock Core says product 0xFFFF ("none") in its Hello; the cloud reports a device that is
/// not in a product under its platform id (a Photon: `"product_id":6,"platform_id":6`), so a
/// Core is product 0. particle-cli names the device type after `product_id`: "(Core)", not
/// "(Product 65535)".
fn product_id(d: &DeviceInfo) -> u16 {
    if d.product_id == 0xFFFF {
        d.platform_id
    } else {
        d.product_id
    }
}

impl Shape for Particle {
    /// OAuth errors are `{error,error_description}` (the fork deletes `code`); a bad bearer
    /// token is 401 `invalid_token`; `invalid_client` adds `WWW-Authenticate`.
    fn error(&self, err: &ApiError) -> Response {
        if let Some(resp) = common_error(err) {
            return resp;
        }
        let ApiError::OAuth(e) = err else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"ok": false}));
        };
        let status = match e.kind {
            OAuthKind::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthKind::ServerError => StatusCode::SERVICE_UNAVAILABLE,
            OAuthKind::RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            OAuthKind::MfaRequired => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut body = json!({"error": e.kind.as_str(), "error_description": e.description});
        if let Some(t) = &e.mfa_token {
            body["mfa_token"] = json!(t);
        }
        let mut resp = no_cache(json_response(status, &body), "no-store");
        if e.kind == OAuthKind::InvalidClient {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Service\""),
            );
        }
        resp
    }

    /// `{token_type, access_token, expires_in, [refresh_token], [scope]}`; a token that never
    /// expires reports `expires_in: 0` and gets no refresh token.
    fn token(&self, token: &TokenRecord, now: DateTime<Utc>) -> Response {
        let mut body = Map::new();
        body.insert("token_type".into(), Value::from("bearer"));
        body.insert("access_token".into(), Value::from(token.token.clone()));
        body.insert("expires_in".into(), Value::from(expires_in(token, now)));
        if let Some(r) = &token.refresh_token {
            body.insert("refresh_token".into(), Value::from(r.clone()));
        }
        if let Some(s) = &token.scope {
            body.insert("scope".into(), Value::from(s.clone()));
        }
        no_cache(
            json_response(StatusCode::OK, &Value::Object(body)),
            "no-store",
        )
    }

    fn signup(&self, outcome: Signup) -> Response {
        match outcome {
            Signup::Created => json_response(StatusCode::OK, &json!({"ok": true})),
            Signup::MissingFields => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"ok": false, "error": "username and password required"}),
            ),
            Signup::Taken => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"ok": false, "error": "user with the username already exists"}),
            ),
        }
    }

    fn one_method_text(&self) -> &'static str {
        text::ONE_METHOD_PARTICLE
    }

    /// Password, refresh and client-credentials grants, refresh tokens, and MFA's two
    /// second-factor grants.
    fn grant_features(&self) -> GrantFeatures {
        GrantFeatures {
            grant_types: &[
                GrantType::Password,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
                GrantType::MfaOtp,
                GrantType::RecoveryCode,
            ],
            refresh_tokens: true,
            second_factor: true,
        }
    }

    fn client_invalid_text(&self) -> &'static str {
        text::CLIENT_INVALID_PARTICLE
    }

    /// Today's field set, with both `connected` and `online`.
    fn has_particle_api(&self) -> bool {
        true
    }

    fn revoke_needs_password(&self) -> bool {
        false
    }

    /// Newest handshake first, as the cloud sorts.
    fn device_list(&self, mut devices: Vec<DeviceInfo>) -> Value {
        devices.sort_by_key(|d| std::cmp::Reverse(d.last_handshake_at));
        Value::Array(devices.iter().map(|d| self.device_summary(d)).collect())
    }

    fn claim_error(&self, status: StatusCode, message: &str) -> ApiError {
        ApiError::message(status, message)
    }

    fn device_summary(&self, d: &DeviceInfo) -> Value {
        json!({
            "id": d.id,
            "name": d.name,
            "last_app": null,
            "last_ip_address": d.last_ip_address,
            "last_heard": opt_time(d.last_heard),
            "last_handshake_at": opt_time(d.last_handshake_at),
            "product_id": product_id(d),
            "online": d.online,
            "connected": d.online,
            "platform_id": d.platform_id,
            "cellular": false,
            "notes": d.notes,
            "functions": d.functions,
            "variables": variables_json(d),
            "status": "normal",
            "serial_number": null,
            "mac_wifi": null,
            "system_firmware_version": null,
        })
    }

    fn device_detail(&self, d: &DeviceInfo) -> Value {
        let mut v = self.device_summary(d);
        if let Some(map) = v.as_object_mut() {
            map.insert("owner".into(), json!(d.owner));
            map.insert("firmware_updates_enabled".into(), json!(true));
            map.insert("firmware_updates_forced".into(), json!(false));
        }
        v
    }

    fn renamed(&self, d: &DeviceInfo, now: DateTime<Utc>) -> Value {
        json!({"id": d.id, "name": d.name, "updated_at": crate::clock::iso_millis(now)})
    }

    fn function_result(&self, d: &DeviceInfo, return_value: i32) -> Value {
        json!({
            "id": d.id,
            "name": d.name,
            "connected": true,
            "return_value": return_value,
        })
    }

    /// `{name,result,coreInfo{name,deviceID,connected,last_handshake_at}}`; no `cmd`.
    fn variable_result(&self, d: &DeviceInfo, name: &str, value: &VarValue) -> Value {
        json!({
            "name": name,
            "result": variable_json(value),
            "coreInfo": {
                "name": d.name,
                "deviceID": d.id,
                "connected": true,
                "last_handshake_at": opt_time(d.last_handshake_at),
            },
        })
    }

    /// Today's texts; an unreachable device is a 400, as the cloud answers now.
    fn device_error(&self, err: &DeviceError, name: &str) -> ApiError {
        match err {
            DeviceError::UnknownFunction => {
                ApiError::message(StatusCode::NOT_FOUND, format!("Function {name} not found"))
            }
            DeviceError::UnknownVariable => {
                ApiError::message(StatusCode::NOT_FOUND, "Variable not found")
            }
            DeviceError::Offline | DeviceError::TimedOut => {
                ApiError::message(StatusCode::BAD_REQUEST, "Timed out.")
            }
            DeviceError::Device(m) => ApiError::message(StatusCode::BAD_REQUEST, m.clone()),
        }
    }

    /// `ttl` is a number.
    fn event_data(&self, e: &Event) -> Value {
        json!({
            "data": e.data,
            "ttl": e.ttl,
            "published_at": crate::clock::iso_millis(e.published_at),
            "coreid": e.coreid,
        })
    }

    /// An SSE comment: particle-api-js resets its 15 s idle timer on any byte.
    fn keepalive(&self) -> &'static [u8] {
        b":\n\n"
    }

    fn api_coreid(&self, _publisher: &User) -> String {
        "api".to_string()
    }

    /// `{"ok":false,"error":…}` with 400, as this cloud's other device failures.
    fn flash_error(&self, err: &FlashError, _firmware_binary_id: &str) -> ApiError {
        ApiError::message(StatusCode::BAD_REQUEST, err.to_string())
    }
}
