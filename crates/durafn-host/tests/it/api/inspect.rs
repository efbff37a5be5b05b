//! durafn's operator extensions of the management API: counts per status for a filter, an
//! instance's diagnosis, the task hub's health.

use axum::http::StatusCode;
use durafn_api::{DiagnosisJson, HubHealthJson, InstanceCounts};

use crate::api::common::{M, req, start, start_instance, wait_for};

#[tokio::test]
async fn counts_diagnosis_and_health() {
    let t = start().await;
    let done = start_instance(&t, "hello", Some("job-1"), "\"Tokyo\"").await;
    wait_for(&t, &done, "Completed").await;
    let waiting = start_instance(&t, "wait", Some("job-2"), "null").await;
    wait_for(&t, &waiting, "Running").await;
    start_instance(&t, "wait", Some("other-3"), "null").await;
    wait_for(&t, "other-3", "Running").await;

    let get = |path: String| {
        let router = t.router.clone();
        let key = t.system.clone();
        async move { req("GET", &path).key(&key).send(&router).await }
    };
    let r = get(format!("{M}/durafn/counts")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let all: InstanceCounts = serde_json::from_slice(&r.body).expect("counts");
    assert_eq!(all.total, 3);
    assert_eq!(all.counts.get("Running"), Some(&2));
    assert_eq!(all.counts.get("Completed"), Some(&1));
    assert_eq!(all.counts.get("Failed"), Some(&0));
    let r = get(format!(
        "{M}/durafn/counts?instanceIdPrefix=job-&runtimeStatus=Running&name=wait"
    ))
    .await;
    let some: InstanceCounts = serde_json::from_slice(&r.body).expect("counts");
    assert_eq!(some.total, 1);
    let r = get(format!("{M}/durafn/counts?runtimeStatus=Nope")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = get(format!("{M}/durafn/instances/job-2/diagnosis")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d: DiagnosisJson = serde_json::from_slice(&r.body).expect("diagnosis");
    assert_eq!(d.runtime_status, "Running");
    assert_eq!(d.awaited_events, ["go"]);
    assert!(
        d.findings.iter().any(|f| f.kind == "waitingForEvents"),
        "{:?}",
        d.findings
    );
    assert!(d.lease.is_none());
    let r = get(format!("{M}/durafn/instances/nobody/diagnosis")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.is_empty());

    let r = get(format!("{M}/durafn/health")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let h: HubHealthJson = serde_json::from_slice(&r.body).expect("health");
    assert_eq!(h.counts.get("Running"), Some(&2));
    assert_eq!(h.activities.leased, 0);

    // The extensions need the system key (or the master key), as the API does.
    let r = req("GET", &format!("{M}/durafn/health"))
        .key(&t.host_key)
        .send(&t.router)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
