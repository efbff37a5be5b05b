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
mod layout;
mod operations;
mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use durafn_runtime::DurableClient;

pub use error::DashboardError;

/// Where the host serves the dashboard; every link the dashboard writes starts with it.
pub const BASE: &str = "/dashboard";

/// What a key may do in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads and writes (raise, terminate, purge, bulk operations, entities).
    Operator,
    /// Reads only: write controls are hidden and writes refused.
    Viewer,
}

/// Decides what a presented key may do; `None` refuses it.
pub type Authorizer = Arc<dyn Fn(&str) -> Option<Role> + Send + Sync>;

/// A function of the app, as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    /// The function's name.
    pub name: String,
    /// Its trigger: `httpTrigger`, `orchestrationTrigger`, `activityTrigger`, `entityTrigger`, …
    pub trigger: String,
    /// What else to show (an HTTP function's methods and route).
    pub detail: String,
}

/// How the dashboard is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardOptions {
    /// The task hub's name, shown in the header.
    pub hub: String,
    /// Everybody only reads (the host's `readOnly` setting).
    pub read_only: bool,
    /// The app's functions and their triggers.
    pub functions: Vec<FunctionInfo>,
    /// The orchestrators a new instance can be started of.
    pub orchestrators: Vec<String>,
}

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) client: DurableClient,
    pub(crate) authorize: Authorizer,
    pub(crate) options: DashboardOptions,
    pub(crate) csrf_secret: [u8; 32],
    pub(crate) jobs: bulk::Jobs,
}

pub(crate) type App = Arc<Shared>;

/// The dashboard's routes, to be nested at [`BASE`].
pub fn router(client: DurableClient, authorize: Authorizer, options: DashboardOptions) -> Router {
    let mut csrf_secret = [0u8; 32];
    if getrandom::fill(&mut csrf_secret).is_err() {
        // Without randomness the tokens would be guessable from the key alone; mix in the time
        // and the process so they at least differ between hosts and starts.
        let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        csrf_secret = auth::digest(seed.as_bytes(), b"durafn-dashboard");
    }
    let app: App = Arc::new(Shared {
        client,
        authorize,
        options,
        csrf_secret,
        jobs: bulk::Jobs::default(),
    });
    Router::new()
        .route("/", get(instances::list))
        .route("/instances", get(instances::list))
        .route("/instances/counts", get(instances::counts))
        .route("/instances/{id}", get(instance::page))
        .route("/instances/{id}/events", get(instance::events))
        .route("/instances/{id}/download/{what}", get(instance::download))
        .route(
            "/instances/{id}/do/{action}",
            get(operations::confirm).post(operations::perform),
        )
        .route(
            "/start",
            get(operations::start_form).post(operations::start),
        )
        .route("/bulk", get(bulk::confirm).post(bulk::start))
        .route("/bulk/{job}", get(bulk::progress))
        .route("/entities", get(entities::list))
        .route("/entities/clean", post(entities::clean))
        .route("/entities/{name}/{key}", get(entities::page))
        .route("/entities/{name}/{key}/signal", post(entities::signal))
        .route("/entities/{name}/{key}/delete", post(entities::delete))
        .route("/hub", get(hub::page))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/assets/{file}", get(assets::serve))
        .fallback(error::not_found)
        .with_state(app)
}
