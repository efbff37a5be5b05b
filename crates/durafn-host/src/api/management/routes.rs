//! The routes of the Durable Functions management API, with every status code each answers.
//!
//! Besides the codes listed per route, the OpenAPI document adds the ones every route shares:
//! 400 for a query string or path that cannot be decoded, 401 without a key, 404 with a message
//! for another task hub (where the route's own 404 has no body, another task hub gets an empty
//! one too), 413 for a body over the limit, 500 and 503 when the task hub fails.

use axum::http::Method;

use crate::api::management;
use crate::api::route::{
    Body, Header, QueryDoc, Resp, RouteEntry, handler, q, resp, resp_with, route, with_body,
};
use crate::functions::durable_http::MANAGEMENT_BASE;
use crate::keys::Access;

const HUB: QueryDoc = q(
    "taskHub",
    "string",
    "Task hub; another hub's name gives 404.",
);
const CONNECTION: QueryDoc = q("connection", "string", "Accepted and ignored.");

const CHECK_STATUS: &[Header] = &[Header::Location, Header::RetryAfter];
const STATUS_HEADERS: &[Header] = &[Header::Location, Header::RetryAfter];
const PAGE: &[Header] = &[Header::Continuation];

fn bad(description: &'static str) -> Resp {
    resp(400, description, Body::Json("Error"))
}

fn gone() -> Resp {
    resp(410, "The instance has finished (empty body).", Body::Empty)
}

fn no_instance() -> Resp {
    resp(
        404,
        "No such instance, or another task hub (empty body).",
        Body::Empty,
    )
}

fn accepted() -> Resp {
    resp(202, "Accepted (empty body).", Body::Empty)
}

pub(crate) fn routes() -> Vec<RouteEntry> {
    let m = |p: &str| format!("{MANAGEMENT_BASE}{p}");
    let sys = || Access::System;
    let t = "management";
    let hub = || vec![HUB, CONNECTION];
    let with = |extra: &[QueryDoc]| {
        let mut v = hub();
        v.extend_from_slice(extra);
        v
    };
    let reason = q("reason", "string", "Why (recorded in history).");
    let list_query = with(&[
        q("instanceIdPrefix", "string", "Only ids starting with this."),
        q(
            "version",
            "string",
            "Only instances of this version (empty: those without one; a durafn extension).",
        ),
        q("createdTimeFrom", "date-time", "Created at or after."),
        q("createdTimeTo", "date-time", "Created at or before."),
        q(
            "runtimeStatus",
            "string",
            "Comma-separated statuses; may repeat.",
        ),
        q(
            "showInput",
            "boolean",
            "Include inputs (default true, as in Durable Functions).",
        ),
        q("top", "integer", "Page size (default 100, at most 1000)."),
    ]);
    let purge_query = with(&[
        q(
            "createdTimeFrom",
            "date-time",
            "Required: created at or after.",
        ),
        q("createdTimeTo", "date-time", "Created at or before."),
        q(
            "runtimeStatus",
            "string",
            "Comma-separated statuses; may repeat.",
        ),
    ]);
    let start_query = with(&[
        q(
            "version",
            "string",
            "The instance's version (default: host.json defaultVersion).",
        ),
        q(
            "timeout",
            "integer",
            "With pollingInterval: wait up to this many seconds.",
        ),
        q(
            "pollingInterval",
            "integer",
            "With timeout: wait for completion (at most timeout).",
        ),
    ]);
    let start_responses = vec![
        resp(
            200,
            "Finished within the timeout: the output when Completed, the status object when Failed or Terminated.",
            Body::AnyJson,
        ),
        resp_with(
            202,
            "Started: the check-status payload, Location and Retry-After.",
            Body::Json("CheckStatus"),
            CHECK_STATUS,
        ),
        bad("Unknown orchestrator, invalid instance id, invalid JSON or a bad wait."),
        resp(409, "An active instance has that id.", Body::Json("Error")),
    ];
    let op_responses = || {
        vec![
            accepted(),
            bad("Invalid instance id."),
            no_instance(),
            gone(),
        ]
    };
    let start = handler(management::start);
    let mut routes = Vec::new();
    for path in [
        "/orchestrators/{functionName}",
        "/orchestrators/{functionName}/{instanceId}",
    ] {
        routes.push(with_body(
            route(
                Method::POST,
                &m(path),
                sys(),
                t,
                "Start an orchestration (the body is its input; traceparent and tracestate are kept with it)",
                start_query.clone(),
                start_responses.clone(),
                start.clone(),
            ),
            "application/json",
        ));
    }
    for path in ["/instances", "/instances/"] {
        routes.push(route(
            Method::GET,
            &m(path),
            sys(),
            t,
            "List instances, one page at a time (x-ms-continuation-token)",
            list_query.clone(),
            vec![
                resp_with(
                    200,
                    "One page of status objects; the continuation header when more pages exist.",
                    Body::Json("StatusList"),
                    PAGE,
                ),
                bad("A bad filter, page size or continuation token."),
            ],
            handler(management::list),
        ));
        routes.push(route(
            Method::DELETE,
            &m(path),
            sys(),
            t,
            "Purge finished instances by filter",
            purge_query.clone(),
            vec![
                resp(200, "How many were purged.", Body::Json("Purged")),
                bad("createdTimeFrom is missing or a filter is bad."),
                resp(
                    404,
                    "Nothing matched, or another task hub (empty body).",
                    Body::Empty,
                ),
            ],
            handler(management::purge_many),
        ));
    }
    routes.extend([
        route(
            Method::GET,
            &m("/instances/{instanceId}"),
            sys(),
            t,
            "Get an instance's status",
            with(&[
                q(
                    "showHistory",
                    "boolean",
                    "Include the history (default false).",
                ),
                q(
                    "showHistoryOutput",
                    "boolean",
                    "Include results in the history.",
                ),
                q("showInput", "boolean", "Include the input (default true)."),
                q(
                    "returnInternalServerErrorOnFailure",
                    "boolean",
                    "500 when Failed.",
                ),
            ]),
            vec![
                resp(200, "Completed, Terminated or Failed.", Body::Json("Status")),
                resp_with(
                    202,
                    "Pending, Running, ContinuedAsNew or Suspended.",
                    Body::Json("Status"),
                    STATUS_HEADERS,
                ),
                bad("Invalid instance id or query parameter."),
                no_instance(),
                resp(
                    500,
                    "Failed, with returnInternalServerErrorOnFailure (the status object); or a task hub failure.",
                    Body::JsonAnyOf(&["Status", "Error"]),
                ),
            ],
            handler(management::status),
        ),
        route(
            Method::DELETE,
            &m("/instances/{instanceId}"),
            sys(),
            t,
            "Purge an instance's history",
            hub(),
            vec![
                resp(200, "Purged.", Body::Json("Purged")),
                bad("Invalid instance id."),
                no_instance(),
                resp(409, "The instance is still active.", Body::Json("Error")),
            ],
            handler(management::purge_one),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/terminate"),
            sys(),
            t,
            "Terminate an instance",
            with(std::slice::from_ref(&reason)),
            op_responses(),
            handler(management::terminate),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/suspend"),
            sys(),
            t,
            "Suspend an instance",
            with(std::slice::from_ref(&reason)),
            op_responses(),
            handler(management::suspend),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/resume"),
            sys(),
            t,
            "Resume an instance",
            with(std::slice::from_ref(&reason)),
            op_responses(),
            handler(management::resume),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/rewind"),
            sys(),
            t,
            "Rewind a failed instance",
            with(&[reason]),
            vec![
                resp(
                    202,
                    "Accepted (only a Failed instance is rewound; empty body).",
                    Body::Empty,
                ),
                bad("Invalid instance id."),
                no_instance(),
                resp(410, "Completed or Terminated (empty body).", Body::Empty),
            ],
            handler(management::rewind),
        ),
        route(
            Method::POST,
            &m("/instances/{instanceId}/restart"),
            sys(),
            t,
            "Start an instance again with the same input and version",
            with(&[q(
                "restartWithNewInstanceId",
                "boolean",
                "Use a new id (default true).",
            )]),
            vec![
                resp_with(
                    202,
                    "The check-status payload of the new (or same) instance.",
                    Body::Json("CheckStatus"),
                    CHECK_STATUS,
                ),
                bad("Invalid instance id or query parameter."),
                no_instance(),
                resp(
                    409,
                    "Same id requested and the instance is still active.",
                    Body::Json("Error"),
                ),
            ],
            handler(management::restart),
        ),
        with_body(
            route(
                Method::POST,
                &m("/instances/{instanceId}/raiseEvent/{eventName}"),
                sys(),
                t,
                "Raise an event (the body is its data)",
                hub(),
                vec![
                    accepted(),
                    bad("Not application/json, invalid JSON or an invalid id."),
                    no_instance(),
                    gone(),
                ],
                handler(management::raise_event),
            ),
            "application/json",
        ),
    ]);
    let entity_list = || {
        vec![
            resp_with(
                200,
                "One page of entities; the continuation header when more pages exist.",
                Body::Json("EntityList"),
                PAGE,
            ),
            bad("A bad time filter, page size or continuation token."),
        ]
    };
    let entity_query = with(&[
        q(
            "lastOperationTimeFrom",
            "date-time",
            "Last operation at or after.",
        ),
        q(
            "lastOperationTimeTo",
            "date-time",
            "Last operation at or before.",
        ),
        q(
            "fetchState",
            "boolean",
            "Include the states (default false).",
        ),
        q("top", "integer", "Page size (default 100, at most 1000)."),
    ]);
    routes.extend([
        route(
            Method::GET,
            &m("/entities"),
            sys(),
            t,
            "List entities",
            entity_query.clone(),
            entity_list(),
            handler(management::list_entities),
        ),
        route(
            Method::DELETE,
            &m("/entities"),
            sys(),
            t,
            "Clean entity storage: remove entities that hold no state and are not locked (a durafn route)",
            hub(),
            vec![resp(200, "What was removed.", Body::Json("Cleaned"))],
            handler(management::clean_entities),
        ),
        route(
            Method::GET,
            &m("/entities/{entityName}"),
            sys(),
            t,
            "List the entities of one entity function",
            entity_query,
            entity_list(),
            handler(management::list_entities),
        ),
        route(
            Method::GET,
            &m("/entities/{entityName}/{entityKey}"),
            sys(),
            t,
            "Get an entity's state",
            hub(),
            vec![
                resp(200, "The entity's state.", Body::AnyJson),
                bad("Invalid entity id."),
                resp(
                    404,
                    "The entity holds no state, or another task hub.",
                    Body::Json("Error"),
                ),
            ],
            handler(management::get_entity),
        ),
        with_body(
            route(
                Method::POST,
                &m("/entities/{entityName}/{entityKey}"),
                sys(),
                t,
                "Signal an entity operation (op); a JSON body is its input, any other body a string",
                with(&[q("op", "string", "Required: the operation.")]),
                vec![
                    resp(202, "Signalled (one-way; empty body).", Body::Empty),
                    bad("No op, an entity function the app does not have, an invalid id or invalid JSON."),
                ],
                handler(management::signal_entity),
            ),
            "application/json",
        ),
        route(
            Method::DELETE,
            &m("/entities/{entityName}/{entityKey}"),
            sys(),
            t,
            "Delete an entity's state (signals the delete operation)",
            hub(),
            vec![
                resp(202, "Signalled (empty body).", Body::Empty),
                bad("Invalid entity id or an entity function the app does not have."),
            ],
            handler(management::delete_entity),
        ),
    ]);
    routes
}
