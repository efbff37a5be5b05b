//! `GET /openapi.json` (anonymous): an OpenAPI 3.1 description of every route the host serves,
//! generated from the same route table the router is built from.

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::keys::Access;
use crate::request::Call;
use crate::routes::{RouteEntry, json_ok};
use crate::state::HostState;

/// The parameters of a path template, in order (`{name}` and `{*name}`).
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|p| p.trim_start_matches('*').to_string())
        .collect()
}

/// The OpenAPI form of a path: catch-alls lose their star.
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

fn security(access: &Access) -> Value {
    match access {
        Access::Anonymous => json!([]),
        _ => json!([{"functionsKeyHeader": []}, {"functionsKeyQuery": []}]),
    }
}

fn operation(r: &RouteEntry) -> Value {
    let mut parameters: Vec<Value> = path_params(&r.path)
        .into_iter()
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    for q in &r.query {
        let schema = match q.kind {
            "date-time" => json!({"type": "string", "format": "date-time"}),
            "boolean" => json!({"type": "boolean"}),
            "integer" => json!({"type": "integer", "minimum": 0}),
            _ => json!({"type": "string"}),
        };
        parameters.push(json!({
            "name": q.name, "in": "query", "required": false,
            "description": q.description, "schema": schema,
        }));
    }
    if r.path.ends_with("/instances") || r.path.ends_with("/instances/") {
        parameters.push(json!({
            "name": "x-ms-continuation-token", "in": "header", "required": false,
            "description": "The token of the next page, from the previous response.",
            "schema": {"type": "string"},
        }));
    }
    let mut responses = Map::new();
    for (code, description) in &r.responses {
        responses.insert(code.to_string(), json!({"description": description}));
    }
    if !matches!(r.access, Access::Anonymous) {
        responses.insert(
            "401".into(),
            json!({"description": "No key, or a key that does not open this route (empty body)."}),
        );
    }
    let role = match &r.access {
        Access::Anonymous => "anonymous".to_string(),
        Access::Function(f) => format!("function key of {f}, a host key or the master key"),
        Access::Admin => "master key".to_string(),
        Access::System => "durabletask_extension system key or master key".to_string(),
    };
    let mut op = json!({
        "operationId": format!("{} {}", r.method, r.path),
        "summary": r.summary,
        "description": format!("Access: {role}."),
        "tags": [r.tag],
        "parameters": parameters,
        "responses": responses,
        "security": security(&r.access),
    });
    if let Some(media) = r.body {
        op["requestBody"] = json!({"required": false, "content": {media: {}}});
    }
    op
}

/// The document for a route table.
pub(crate) fn build(routes: &[RouteEntry], hub: &str) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let entry = paths
            .entry(openapi_path(&r.path))
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.as_str().to_ascii_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "durafn function app",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "HTTP functions, the Durable Functions management API and the admin API of a durafn host (task hub {hub})."
            ),
        },
        "paths": paths,
        "components": {"securitySchemes": {
            "functionsKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
            "functionsKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
        }},
    })
}

/// GET `/openapi.json`.
pub(crate) async fn document(s: HostState, _: Call) -> Result<Response, ApiError> {
    Ok(json_ok(&build(&s.routes, &s.hub)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_of_paths() {
        assert_eq!(
            path_params("/x/{a}/y/{*rest}"),
            vec!["a".to_string(), "rest".to_string()]
        );
        assert_eq!(openapi_path("/x/{*rest}"), "/x/{rest}");
    }
}
