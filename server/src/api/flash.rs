//! `PUT /v1/devices/:id` with a multipart body: an OTA update of the device with the `file`
//! part (what `particle flash <device> <file.bin>` and particle-api-js `flashDevice` send,
//! with `latest` or `build_target_version` beside it, which a mock without a compiler
//! ignores). `devices::update` hands multipart bodies here; the transfer itself is
//! [`crate::devices::flash`].

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::auth::Actor;
use crate::api::error::ApiError;
use crate::api::profile::{json_response, shape};
use crate::api::request::{ApiRequest, BodyKind};
use crate::devices::flash::{self, firmware_binary_id};
use crate::devices::DeviceInfo;
use crate::state::AppState;

/// Whether the body is `multipart/form-data` (a firmware upload).
pub fn is_multipart(req: &ApiRequest) -> bool {
    matches!(&req.kind, BodyKind::Other(m) if m == "multipart/form-data")
}

/// Flashes the `file` part to `device`: `{"id","status":"Update started"}` once the device
/// is ready for the chunks, the profile's error when it is offline, busy or silent.
pub async fn flash(
    state: &AppState,
    actor: &Actor,
    device: &DeviceInfo,
    req: &ApiRequest,
) -> Result<Response, ApiError> {
    let Some(file) = file_part(req).await? else {
        return Err(ApiError::body(
            StatusCode::BAD_REQUEST,
            json!({"error": "Nothing to do?"}),
        ));
    };
    let shaper = shape(state.config().profile);
    let binary_id = firmware_binary_id(&file);
    tracing::info!(
        "{}: {} flashes {} bytes (firmware {binary_id})",
        device.id,
        actor.user.username,
        file.len()
    );
    flash::flash(state, device, &actor.user.username, file.to_vec())
        .await
        .map_err(|e| shaper.flash_error(&e, &binary_id))?;
    Ok(json_response(StatusCode::OK, &shaper.flash_started(device)))
}

/// The bytes of the first non-empty part named `file`; `None` when there is none.
async fn file_part(req: &ApiRequest) -> Result<Option<Bytes>, ApiError> {
    let malformed =
        |e: multer::Error| ApiError::bad_request(format!("Malformed multipart body: {e}"));
    let content_type = req.header("content-type").unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let body = req.raw_body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    while let Some(part) = parts.next_field().await.map_err(malformed)? {
        if part.name() != Some("file") {
            continue;
        }
        let bytes = part.bytes().await.map_err(malformed)?;
        if !bytes.is_empty() {
            return Ok(Some(bytes));
        }
    }
    Ok(None)
}
