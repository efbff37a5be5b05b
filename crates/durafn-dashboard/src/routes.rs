//! The dashboard's routes.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use durafn_runtime::DurableClient;

use crate::app::{App, Authorizer, DashboardOptions, Shared};
use crate::{
    assets, auth, bulk, entities, error, hub, instance, instances, jobs, login, operations, replay,
};

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
        jobs: jobs::Jobs::default(),
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
        .route("/replay-check", get(replay::page))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/assets/{file}", get(assets::serve))
        .fallback(error::not_found)
        .with_state(app)
}
