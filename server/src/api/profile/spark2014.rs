//! The 2014 Spark cloud (api.spark.io, node-oauth2-server 1.5.3).

use axum::http::StatusCode;
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

pub struct Spark2014;

impl Shape for Spark2014 {
    /// OAuth errors are `{code,error,error_description}`, `code` repeating the status. A bad
    /// or expired bearer token is reported as `invalid_grant`/400, as the 2014 cloud did.
    fn error(&self, err: &ApiError) -> Response {
        if let Some(resp) = common_error(err) {
            return resp;
        }
        let ApiError::OAuth(e) = err else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"ok": false}));
        };
        let (kind, status) = match e.kind {
            OAuthKind::InvalidToken => (OAuthKind::InvalidGrant, 400),
            OAuthKind::ServerError => (OAuthKind::ServerError, 503),
            OAuthKind::RateLimitExceeded => (OAuthKind::RateLimitExceeded, 429),
            k => (k, 400),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({
            "code": status.as_u16(),
            "error": kind.as_str(),
            "error_description": e.description,
        });
        no_cache(json_response(status, &body), "no-store")
    }

    /// `{access_token, [refresh_token], token_type, expires_in}` with `no-cache` headers.
    fn token(&self, token: &TokenRecord, now: DateTime<Utc>) -> Response {
        let mut body = Map::new();
        body.insert("access_token".into(), Value::from(token.token.clone()));
        if let Some(r) = &token.refresh_token {
            body.insert("refresh_token".into(), Value::from(r.clone()));
        }
        body.insert("token_type".into(), Value::from("bearer"));
        body.insert("expires_in".into(), Value::from(expires_in(token, now)));
        no_cache(
            json_response(StatusCode::OK, &Value::Object(body)),
            "no-cache",
        )
    }

    /// Always 200: `{ok:true}` or `{ok:false,errors:[…]}`.
    fn signup(&self, outcome: Signup) -> Response {
        let body = match outcome {
            Signup::Created => json!({"ok": true}),
            Signup::MissingFields => {
                json!({"ok": false, "errors": ["username and password required"]})
            }
            Signup::Taken => json!({"ok": false, "errors": ["That username is already taken"]}),
        };
        json_response(StatusCode::OK, &body)
    }

    fn one_method_text(&self) -> &'static str {
        text::ONE_METHOD_2014
    }

    /// The password grant only: no refresh tokens, no second factor in 2014.
    fn grant_features(&self) -> GrantFeatures {
        GrantFeatures {
            grant_types: &[GrantType::Password],
            refresh_tokens: false,
            second_factor: false,
        }
    }

    fn client_invalid_text(&self) -> &'static str {
        text::CLIENT_INVALID_2014
    }

    /// Exactly the 2014 fields: `{id,name,last_app,last_heard,connected}`.
    fn has_particle_api(&self) -> bool {
        false
    }

    fn revoke_needs_password(&self) -> bool {
        true
    }

    /// In the registry's order.
    fn device_list(&self, devices: Vec<DeviceInfo>) -> Value {
        Value::Array(devices.iter().map(|d| self.device_summary(d)).collect())
    }

    /// The older `{ok:false,errors:[…]}` shape.
    fn claim_error(&self, status: StatusCode, message: &str) -> ApiError {
        ApiError::messages(status, &[message])
    }

    fn device_summary(&self, d: &DeviceInfo) -> Value {
        json!({
            "id": d.id,
            "name": d.name,
            "last_app": null,
            "last_heard": opt_time(d.last_heard),
            "connected": d.online,
        })
    }

    /// The observed 2014 detail: `{id,name,connected,variables,functions,cc3000_patch_version}`.
    fn device_detail(&self, d: &DeviceInfo) -> Value {
        json!({
            "id": d.id,
            "name": d.name,
            "connected": d.online,
            "variables": variables_json(d),
            "functions": d.functions,
            "cc3000_patch_version": "1.29",
        })
    }

    /// `{ok:true,name}`: 2014 clients check that `name` equals the new name.
    fn renamed(&self, d: &DeviceInfo, _now: DateTime<Utc>) -> Value {
        json!({"ok": true, "name": d.name})
    }

    fn function_result(&self, d: &DeviceInfo, return_value: i32) -> Value {
        json!({
            "id": d.id,
            "name": d.name,
            "last_app": null,
            "connected": true,
            "return_value": return_value,
        })
    }

    /// `{cmd:"VarReturn",name,result,coreInfo{last_app,last_heard,connected,deviceID}}`.
    fn variable_result(&self, d: &DeviceInfo, name: &str, value: &VarValue) -> Value {
        json!({
            "cmd": "VarReturn",
            "name": name,
            "result": variable_json(value),
            "coreInfo": {
                "last_app": "",
                "last_heard": opt_time(d.last_heard),
                "connected": true,
                "deviceID": d.id,
            },
        })
    }

    /// spark-server's texts; an unreachable device is `408 {"error":"Timed out."}`.
    fn device_error(&self, err: &DeviceError, _name: &str) -> ApiError {
        match err {
            DeviceError::UnknownFunction => {
                ApiError::message(StatusCode::NOT_FOUND, "Function not found")
            }
            DeviceError::UnknownVariable => {
                ApiError::message(StatusCode::NOT_FOUND, "Variable not found")
            }
            DeviceError::Offline | DeviceError::TimedOut => {
                ApiError::body(StatusCode::REQUEST_TIMEOUT, json!({"error": "Timed out."}))
            }
            DeviceError::Device(m) => ApiError::message(StatusCode::BAD_REQUEST, m.clone()),
        }
    }

    /// `ttl` is the string `"60"`, as spark-server's `ttl.toString()`.
    fn event_data(&self, e: &Event) -> Value {
        json!({
            "data": e.data,
            "ttl": e.ttl.to_string(),
            "published_at": crate::clock::iso_millis(e.published_at),
            "coreid": e.coreid,
        })
    }

    /// spark-server writes a bare newline when a stream has been idle.
    fn keepalive(&self) -> &'static [u8] {
        b"\n"
    }

    /// spark-server puts the publishing user's id in `coreid`.
    fn api_coreid(&self, publisher: &User) -> String {
        publisher.id.clone()
    }

    /// The 2014 cloud's flash failure: the stored file's id and the reason in `errors`
    /// (cloud-api.md, `PUT /v1/devices/:id`); a timeout as every 2014 device timeout.
    fn flash_error(&self, err: &FlashError, firmware_binary_id: &str) -> ApiError {
        match err {
            FlashError::TimedOut => {
                ApiError::body(StatusCode::REQUEST_TIMEOUT, json!({"error": "Timed out."}))
            }
            other => ApiError::body(
                StatusCode::BAD_REQUEST,
                json!({
                    "ok": false,
                    "firmware_binary_id": firmware_binary_id,
                    "errors": [other.to_string()],
                }),
            ),
        }
    }
}
