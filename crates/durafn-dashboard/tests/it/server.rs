//! The dashboard over HTTP, without a browser: who gets in, and that the server itself refuses
//! every write a read-only key (or the read-only setting) sends, and writes without the CSRF
//! token or from another site.

use durafn_core::RuntimeStatus;
use serde_json::json;

use crate::common::{TestHost, csrf_of, header, request};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_open_the_dashboard_and_nothing_else_does() {
    let host = TestHost::start().await;
    let page = host.url("/dashboard/instances?status=Running");

    let (status, headers, _) = request("GET", &page, &[], "").await;
    assert_eq!(status, 303, "no key: to the sign-in page");
    let to = header(&headers, "location").unwrap_or_default();
    assert!(to.starts_with("/dashboard/login?next="), "{to}");

    for key in [&host.master, &host.operator, &host.viewer] {
        let (status, _, body) = request("GET", &page, &[("x-functions-key", key)], "").await;
        assert_eq!(status, 200);
        assert!(body.contains("<h1>Instances</h1>"), "{body}");
    }
    let (status, _, _) =
        request("GET", &page, &[("x-functions-key", "not-a-key-at-all")], "").await;
    assert_eq!(status, 303, "a wrong key is sent to sign in");

    // ?code= moves the key into the cookie and out of the address.
    let (status, headers, _) =
        request("GET", &format!("{page}&code={}", host.viewer), &[], "").await;
    assert_eq!(status, 303);
    assert_eq!(
        header(&headers, "location"),
        Some("/dashboard/instances?status=Running")
    );
    let cookie = header(&headers, "set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(cookie.contains("Path=/dashboard"), "{cookie}");

    // The login form keeps a valid key in the same cookie; a wrong one is refused.
    let login = host.url("/dashboard/login");
    let (status, _, body) = request("POST", &login, &[FORM], "key=wrong&next=%2Fdashboard").await;
    assert_eq!(status, 401);
    assert!(body.contains("does not open the dashboard"));
    let (status, headers, _) = request(
        "POST",
        &login,
        &[FORM],
        &format!("key={}&next=%2Fdashboard%2Fhub", host.master),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/dashboard/hub"));
    let cookie = header(&headers, "set-cookie")
        .unwrap_or_default()
        .to_string();
    let pair = cookie.split(';').next().unwrap_or_default().to_string();
    let (status, _, body) =
        request("GET", &host.url("/dashboard/hub"), &[("cookie", &pair)], "").await;
    assert_eq!(status, 200);
    assert!(body.contains("Leases per host"));
    // A next page elsewhere is not followed.
    let (_, headers, _) = request(
        "POST",
        &login,
        &[FORM],
        &format!("key={}&next=https%3A%2F%2Fevil.example%2F", host.master),
    )
    .await;
    assert_eq!(header(&headers, "location"), Some("/dashboard"));
    host.stop().await;
}

/// Every write route, with a body a viewer could have copied from a page.
fn writes(id: &str, csrf: &str) -> Vec<(String, String)> {
    let form = |extra: &str| format!("csrf={csrf}{extra}");
    vec![
        (
            format!("/dashboard/instances/{id}/do/raise"),
            form("&event=Approval&data=%7B%7D"),
        ),
        (
            format!("/dashboard/instances/{id}/do/terminate"),
            form("&reason=x"),
        ),
        (format!("/dashboard/instances/{id}/do/suspend"), form("")),
        (
            format!("/dashboard/instances/{id}/do/restart-new"),
            form(""),
        ),
        (format!("/dashboard/instances/{id}/do/purge"), form("")),
        ("/dashboard/start".into(), form("&name=sleeper&input=null")),
        (
            "/dashboard/bulk".into(),
            form("&action=terminate&status=Running"),
        ),
        (
            "/dashboard/entities/counter/k/signal".into(),
            form("&op=add&input=1"),
        ),
        ("/dashboard/entities/counter/k/delete".into(), form("")),
        ("/dashboard/entities/clean".into(), form("")),
    ]
}

async fn refuses_every_write(host: &TestHost, key: &str) {
    let id = host
        .running("approval-flow", None, &json!({"order": 7}))
        .await;
    let page = host.url(&format!("/dashboard/instances/{id}"));
    let (status, _, body) = request("GET", &page, &[("x-functions-key", key)], "").await;
    assert_eq!(status, 200);
    assert!(body.contains("Why is it where it is"));
    for control in ["/do/raise", "/do/terminate", "Start an instance", "Purge…"] {
        assert!(!body.contains(control), "a read-only page offers {control}");
    }
    // The sign-out form carries the caller's token: a forged write can be made with it.
    let csrf = csrf_of(&body);
    for (path, form) in writes(id.as_str(), &csrf) {
        let (status, _, body) = request(
            "POST",
            &host.url(&path),
            &[("x-functions-key", key), FORM],
            &form,
        )
        .await;
        assert_eq!(status, 403, "{path} was not refused: {body}");
        assert!(body.contains("can only read"), "{path}: {body}");
    }
    let (status, _, _) = request(
        "GET",
        &host.url(&format!("/dashboard/instances/{id}/do/terminate")),
        &[("x-functions-key", key)],
        "",
    )
    .await;
    assert_eq!(status, 403, "no confirmation page either");
    let now = host
        .client
        .get_status(id.as_str(), Default::default())
        .await
        .expect("status")
        .expect("still there");
    assert_eq!(
        now.runtime_status,
        RuntimeStatus::Running,
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_key_is_refused_every_write() {
    let host = TestHost::start().await;
    let viewer = host.viewer.clone();
    refuses_every_write(&host, &viewer).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_only_setting_makes_every_key_read_only() {
    let host = TestHost::start_with(|c| c.dashboard.read_only = true).await;
    let master = host.master.clone();
    refuses_every_write(&host, &master).await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_token_and_the_same_origin() {
    let host = TestHost::start().await;
    let id = host.running("sleeper", None, &json!(null)).await;
    let key = ("x-functions-key", host.operator.as_str());
    let confirm = host.url(&format!("/dashboard/instances/{id}/do/terminate"));
    let (status, _, page) = request("GET", &confirm, &[key], "").await;
    assert_eq!(status, 200);
    assert!(page.contains("Terminate"));
    let csrf = csrf_of(&page);
    let (status, _, _) = request("POST", &confirm, &[key, FORM], "reason=no-token").await;
    assert_eq!(status, 403, "no token");
    let (status, _, _) = request("POST", &confirm, &[key, FORM], "csrf=0000&reason=x").await;
    assert_eq!(status, 403, "a wrong token");
    let (status, _, _) = request(
        "POST",
        &confirm,
        &[key, FORM, ("origin", "http://evil.example")],
        &format!("csrf={csrf}&reason=x"),
    )
    .await;
    assert_eq!(status, 403, "another site's form");
    let origin = host.origin.clone();
    let (status, headers, _) = request(
        "POST",
        &confirm,
        &[key, FORM, ("origin", &origin)],
        &format!("csrf={csrf}&reason=from+the+dashboard"),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        header(&headers, "location"),
        Some(format!("/dashboard/instances/{id}").as_str())
    );
    let done = host.finished(id.as_str()).await;
    assert_eq!(done.runtime_status, RuntimeStatus::Terminated);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_json_turns_the_dashboard_off() {
    let host = TestHost::start_with(|c| c.dashboard.enabled = false).await;
    let (status, _, _) = request(
        "GET",
        &host.url("/dashboard"),
        &[("x-functions-key", &host.master)],
        "",
    )
    .await;
    assert_eq!(status, 404);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_4xx_page_never_a_500() {
    let host = TestHost::start().await;
    let key = ("x-functions-key", host.master.as_str());
    for (path, code) in [
        ("/dashboard/instances?status=Nope", 400),
        ("/dashboard/instances?range=custom&from=yesterday", 400),
        ("/dashboard/instances?after=garbage", 400),
        ("/dashboard/instances/nobody-here", 404),
        ("/dashboard/instances/nobody-here/do/explode", 404),
        ("/dashboard/nowhere", 404),
        ("/dashboard/bulk/99", 404),
    ] {
        let (status, headers, body) = request("GET", &host.url(path), &[key], "").await;
        assert_eq!(status, code, "{path}: {body} {headers:?}");
        assert!(
            header(&headers, "content-type").is_some_and(|c| c.starts_with("text/html")),
            "{path}"
        );
    }
    host.stop().await;
}

/// The instance page shows the trace id of the request that started the instance, linked by
/// the configured template; without a template it is shown unlinked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_page_links_its_trace() {
    let host = TestHost::start_with(|c| {
        c.tracing.trace_url_template = Some("http://tempo.example/trace/{traceId}".into());
    })
    .await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let id = host
        .client
        .start_new_with(
            "sleeper",
            &json!({}),
            durafn_runtime::StartOptions {
                trace_context: Some(durafn_core::TraceContext::new(format!(
                    "00-{trace}-00f067aa0ba902b7-01"
                ))),
                ..Default::default()
            },
        )
        .await
        .expect("start")
        .to_string();
    let page = host.url(&format!("/dashboard/instances/{id}"));
    let (status, _, body) = request("GET", &page, &[("x-functions-key", &host.viewer)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "<a href=\"http://tempo.example/trace/{trace}\" rel=\"noopener\"><code>{trace}</code></a>"
        )),
        "{body}"
    );
    let untraced = host.running("sleeper", None, &json!({})).await;
    let page = host.url(&format!("/dashboard/instances/{untraced}"));
    let (_, _, body) = request("GET", &page, &[("x-functions-key", &host.viewer)], "").await;
    assert!(!body.contains("id=\"trace\""), "no trace, no row");
    host.stop().await;
}
