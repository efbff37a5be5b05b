//! The host through its router, without a socket: the management API, HTTP functions, the admin
//! API, the auth matrix and the OpenAPI document.

mod admin;
mod auth;
mod common;
mod entities;
mod functions;
mod inspect;
mod management;
mod openapi;
mod payloads;
