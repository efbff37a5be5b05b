//! The routes of durafn's operator extensions of the management API (`…/durafn/…`): counts per
//! status, an instance's diagnosis, the task hub's health. The dashboard shows the same.

use axum::http::Method;

use crate::api::inspect;
use crate::api::route::{Body, QueryDoc, RouteEntry, handler, q, resp, route};
use crate::functions::durable_http::MANAGEMENT_BASE;
use crate::keys::Access;

const HUB: QueryDoc = q(
    "taskHub",
    "string",
    "Task hub; another hub's name gives 404.",
);

pub(crate) fn routes() -> Vec<RouteEntry> {
    let m = |p: &str| format!("{MANAGEMENT_BASE}{}{p}", durafn_api::inspect::EXTENSIONS);
    let t = "durafn";
    vec![
        route(
            Method::GET,
            &m("/counts"),
            Access::System,
            t,
            "A durafn extension: how many instances match a filter, per status (entities not counted)",
            vec![
                HUB,
                q("instanceIdPrefix", "string", "Only ids starting with this."),
                q("createdTimeFrom", "date-time", "Created at or after."),
                q("createdTimeTo", "date-time", "Created at or before."),
                q(
                    "runtimeStatus",
                    "string",
                    "Comma-separated statuses; may repeat.",
                ),
                q("name", "string", "Only instances of this orchestrator."),
                q(
                    "customStatus",
                    "string",
                    "Only instances whose custom status contains this text (ignoring ASCII case).",
                ),
            ],
            vec![
                resp(200, "The counts.", Body::Json("InstanceCounts")),
                resp(400, "A bad filter.", Body::Json("Error")),
            ],
            handler(inspect::counts),
        ),
        route(
            Method::GET,
            &m("/instances/{instanceId}/diagnosis"),
            Access::System,
            t,
            "A durafn extension: why an instance is where it is (its lease, queued messages and activity work items with delivery counts, awaited events, findings)",
            vec![HUB],
            vec![
                resp(200, "The diagnosis.", Body::Json("Diagnosis")),
                resp(400, "Invalid instance id.", Body::Json("Error")),
                resp(404, "No such instance (empty body).", Body::Empty),
            ],
            handler(inspect::diagnosis),
        ),
        route(
            Method::GET,
            &m("/health"),
            Access::System,
            t,
            "A durafn extension: the task hub's health (instances per status, queue depths, oldest waiting work, leases per host)",
            vec![HUB],
            vec![resp(200, "The health.", Body::Json("HubHealth"))],
            handler(inspect::health),
        ),
        route(
            Method::GET,
            &m(durafn_api::replay_check::REPLAY_CHECK),
            Access::System,
            t,
            "A durafn extension: one page of the live instances (Pending, Running, Suspended) replayed against this host's build, read-only: counts by orchestrator and version, and the first divergence of each instance that would fail",
            vec![
                HUB,
                q(
                    "top",
                    "integer",
                    "Instances per page (default 500, at most 5000).",
                ),
                q(
                    "continuationToken",
                    "string",
                    "The continuationToken of the previous page.",
                ),
                q("name", "string", "Only instances of this orchestrator."),
                q("version", "string", "Only instances of this version."),
                q("instanceIdPrefix", "string", "Only ids starting with this."),
            ],
            vec![
                resp(200, "The page.", Body::Json("ReplayCheckPage")),
                resp(400, "A bad filter.", Body::Json("Error")),
            ],
            handler(crate::replay_check::page),
        ),
    ]
}
