//! Extractors for the checks every API route starts with: who is calling ([`Authed`]), and
//! which of their devices the `:id` segment names ([`OwnedDevice`]).
//!
//! They read the whole request ([`FromRequest`], not `FromRequestParts`) because the
//! token may sit in a form body (node-oauth2-server's rule), and they hand the parsed
//! [`ApiRequest`] on so the handler reads its parameters from the same body. The order of
//! checks is the one the handlers had when they did it by hand: path, body, token, device.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};

use crate::api::auth::{authenticate, Actor};
use crate::api::error::ApiError;
use crate::api::profile::{permission_denied, shape};
use crate::api::request::ApiRequest;
use crate::devices::call::find_device;
use crate::devices::{Caller, DeviceInfo};
use crate::state::AppState;

/// An authenticated request: the caller and the request their token came in.
pub struct Authed {
    pub actor: Actor,
    pub req: ApiRequest,
}

impl FromRequest<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let req = ApiRequest::from_request(req, state).await?;
        let actor = authenticate(state, &req)?;
        Ok(Authed { actor, req })
    }
}

/// [`Authed`] on a route only the particle profile has: spark-2014 answers 404 as for any
/// unknown route, after reading the body and before looking at the token.
pub struct ParticleAuthed(pub Authed);

impl FromRequest<AppState> for ParticleAuthed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let req = ApiRequest::from_request(req, state).await?;
        if !shape(state.config().profile).has_particle_api() {
            return Err(ApiError::NotFound);
        }
        let actor = authenticate(state, &req)?;
        Ok(ParticleAuthed(Authed { actor, req }))
    }
}

/// The caller's device named (by id or name) in the route's `:id` segment. Unknown devices
/// and other users' devices are both `403 Permission Denied`, so nobody learns which ids
/// exist. Routes that show other users' devices (public events) use [`Authed`] instead.
pub struct OwnedDevice {
    pub device: DeviceInfo,
    pub actor: Actor,
    pub req: ApiRequest,
}

/// Why [`OwnedDevice`] refused: axum's own answer for an undecodable path (as a `Path`
/// argument gave it), else an [`ApiError`] in the profile's shape.
#[derive(Debug)]
pub enum DeviceRejection {
    Path(PathRejection),
    Api(ApiError),
}

impl From<ApiError> for DeviceRejection {
    fn from(e: ApiError) -> Self {
        DeviceRejection::Api(e)
    }
}

impl IntoResponse for DeviceRejection {
    fn into_response(self) -> Response {
        match self {
            DeviceRejection::Path(e) => e.into_response(),
            DeviceRejection::Api(e) => e.into_response(),
        }
    }
}

impl FromRequest<AppState> for OwnedDevice {
    type Rejection = DeviceRejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, DeviceRejection> {
        let (mut parts, body) = req.into_parts();
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(&mut parts, state)
            .await
            .map_err(DeviceRejection::Path)?;
        let id = params
            .into_iter()
            .find_map(|(k, v)| (k == "id").then_some(v))
            .unwrap_or_default();
        let Authed { actor, req } =
            Authed::from_request(Request::from_parts(parts, body), state).await?;
        let device = owned_device(state, &actor, &id)?;
        Ok(OwnedDevice { device, actor, req })
    }
}

/// The caller's device named by `id_or_name`, or 403 Permission Denied for unknown and
/// foreign devices alike.
pub fn owned_device(
    state: &AppState,
    actor: &Actor,
    id_or_name: &str,
) -> Result<DeviceInfo, ApiError> {
    find_device(
        state.devices(),
        Caller::Owner(&actor.user.username),
        id_or_name,
    )
    .ok_or_else(|| permission_denied(&actor.token.token))
}
