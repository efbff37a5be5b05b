//! The durafn dashboard: see, find and fix orchestration instances in a browser.
//!
//! Every durafn host serves it at [`BASE`] (`/dashboard`) on its own port. It is server-rendered
//! HTML (maud templates) with a little progressive enhancement (a vendored htmx, a small script
//! of our own): every page reads without JavaScript; scripts add live refresh, JSON checks
//! before sending, and progress bars that move on their own. Its assets are compiled into the
//! binary, so nothing is fetched from elsewhere at run time.
//!
//! The dashboard talks to the task hub only through [`DurableClient`], the client the host's
//! management API uses, so a write from the dashboard is the same operation as the API's.
//!
//! - **Access**: a key, as everywhere on the host: the `x-functions-key` header, `?code=`
//!   (answered with a redirect that moves it into the cookie), or the login form, which keeps
//!   it in an `HttpOnly`, `SameSite=Strict` cookie. The host decides what a key may do
//!   ([`Authorizer`]): [`Role::Operator`] reads and writes, [`Role::Viewer`] only reads; with
//!   [`DashboardOptions::read_only`] everybody is a viewer. A viewer sees no write controls and
//!   every write it sends anyway is refused with 403.
//! - **CSRF**: every write is a `POST` carrying a token derived from the caller's key with a
//!   secret drawn at start-up (HMAC-SHA256), and is refused when its `Origin` is another site's.
//!
//! ```no_run
//! # fn wire(client: durafn_runtime::DurableClient) -> axum::Router {
//! use std::sync::Arc;
//! use durafn_dashboard::{DashboardOptions, Role};
//! let authorize = Arc::new(|key: &str| (key == "secret-key").then_some(Role::Operator));
//! let dashboard = durafn_dashboard::router(client, authorize, DashboardOptions::default());
//! axum::Router::new().nest(durafn_dashboard::BASE, dashboard)
//! # }
//! ```

mod app;
mod assets;
mod auth;
mod bulk;
mod entities;
mod error;
mod filter;
mod format;
mod history;
mod hub;
mod instance;
mod instances;
mod jobs;
mod layout;
mod login;
mod operations;
mod replay;
mod routes;
mod session;
mod timeline;

pub use app::{Authorizer, BASE, DashboardOptions, FunctionInfo, Role};
pub use error::DashboardError;
pub use routes::router;
