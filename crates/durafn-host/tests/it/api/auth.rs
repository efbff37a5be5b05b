//! Every route of the host against every kind of key: allowed answers something other than 401,
//! refused answers 401 with an empty body.

use axum::http::StatusCode;

use crate::api::common::{req, start, start_instance, wait_for};

/// Fills a route's path parameters with values that reach its handler.
pub(crate) fn fill(path: &str, instance: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{functionName}" => "hello".to_string(),
            "{instanceId}" => instance.to_string(),
            "{eventName}" => "go".to_string(),
            "{entityName}" => "counter".to_string(),
            "{entityKey}" => "k".to_string(),
            "{name}" => "func".to_string(),
            "{keyName}" => "matrix".to_string(),
            "{keyKind}" => "functionkeys".to_string(),
            "{id}" => "1".to_string(),
            "{*path}" | "{path}" => "a/b".to_string(),
            other => {
                assert!(!other.starts_with('{'), "no value for {other}");
                other.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn auth_matrix() {
    let t = start().await;
    let id = start_instance(&t, "hello", Some("matrix-1"), r#""x""#).await;
    wait_for(&t, &id, "Completed").await;
    let routes = t.host.routes();
    assert!(routes.len() > 40, "{} routes", routes.len());
    let mut checked = 0;
    for route in &routes {
        let (own, other) = match route.function.as_deref() {
            Some("other") => (&t.other_key, &t.func_key),
            _ => (&t.func_key, &t.other_key),
        };
        let keys: [(&str, Option<&String>); 6] = [
            ("no key", None),
            ("another function's key", Some(other)),
            ("the function's key", Some(own)),
            ("host key", Some(&t.host_key)),
            ("system key", Some(&t.system)),
            ("master key", Some(&t.master)),
        ];
        for (label, key) in keys {
            let allowed = match route.auth {
                "anonymous" => true,
                "function" => matches!(label, "the function's key" | "host key" | "master key"),
                "admin" => label == "master key",
                "system" => matches!(label, "system key" | "master key"),
                other => panic!("unknown auth {other}"),
            };
            let mut r = req(&route.method, &fill(&route.path, &id));
            if let Some(k) = key {
                r = r.key(k);
            }
            let r = r.send(&t.router).await;
            if allowed {
                assert_ne!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{} {} with {label}",
                    route.method,
                    route.path
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{} {} with {label}",
                    route.method,
                    route.path
                );
                assert!(r.body.is_empty());
            }
            r.assert_empty_or_json_unless_text(&route.path);
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * 6);
}

#[tokio::test]
async fn header_wins_over_query_code() {
    let t = start().await;
    let path = "/runtime/webhooks/durabletask/instances";
    let r = req("GET", &format!("{path}?code={}", t.system))
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = req("GET", &format!("{path}?CODE={}", t.system))
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK, "query names ignore case");
    let r = req("GET", &format!("{path}?code={}", t.system))
        .key("wrong")
        .send(&t.router)
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a wrong header is not rescued by ?code="
    );
    let r = req("GET", &format!("{path}?code=wrong"))
        .key(&t.system)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Bad input on every host route: 2xx or 4xx, never 5xx, and the body empty or JSON.
#[tokio::test]
async fn bad_input_everywhere() {
    let t = start().await;
    let id = start_instance(&t, "hello", Some("bad-1"), r#""x""#).await;
    wait_for(&t, &id, "Completed").await;
    let long_id = "i".repeat(300);
    let query = "?%ZZ=1&showHistory=maybe&showInput=2&top=abc&createdTimeFrom=x&runtimeStatus=Nope&timeout=x&pollingInterval=y&restartWithNewInstanceId=perhaps";
    let bodies: [(Option<&str>, &[u8]); 4] = [
        (Some("application/json"), b"{not json"),
        (Some("application/json"), b"\xff\xfe\x00"),
        (Some("text/plain"), b"plain"),
        (None, b""),
    ];
    for route in t.host.routes().iter().filter(|r| r.function.is_none()) {
        for instance in [id.as_str(), long_id.as_str(), "a%01b"] {
            let path = fill(&route.path, instance);
            for target in [path.clone(), format!("{path}{query}")] {
                for (content_type, body) in bodies {
                    let mut r = req(&route.method, &target)
                        .key(&t.master)
                        .body(body.to_vec());
                    if let Some(ct) = content_type {
                        r = r.header("content-type", ct);
                    }
                    let r = r.send(&t.router).await;
                    assert!(
                        !r.status.is_server_error(),
                        "{} {target} answered {}: {}",
                        route.method,
                        r.status,
                        r.text()
                    );
                    r.assert_empty_or_json_unless_text(&route.path);
                }
            }
        }
    }
}
