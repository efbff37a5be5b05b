//! Functions registered by the macros run under their names.

use durafn::core::testkit::TestOrchestration;
use durafn::prelude::*;
use durafn::{Action, Outcome, Payload};

#[derive(serde::Serialize, serde::Deserialize)]
struct Query {
    start: String,
    end: String,
}

/// Documented orchestrators keep their docs.
#[orchestrator(name = "orchestrator-function")]
pub async fn orchestrator_function(
    ctx: OrchestrationContext,
    input: Query,
) -> Result<u64, FunctionError> {
    let count: u64 = ctx
        .call_activity("query-storage-account-activity-function", &input)
        .await?;
    Ok(count)
}

#[activity(name = "query-storage-account-activity-function")]
async fn query(ctx: ActivityContext, input: Query) -> Result<u64, FunctionError> {
    let _ = ctx.instance_id;
    Ok((input.start.len() + input.end.len()) as u64)
}

#[activity]
async fn say_hello(city: String) -> Result<String, std::io::Error> {
    Ok(format!("Hello {city}!"))
}

#[test]
fn names_and_overrides() {
    let registry = Registry::builder()
        .orchestrator(orchestrator_function)
        .activity(query)
        .activity(say_hello)
        .build()
        .unwrap();
    assert_eq!(registry.orchestrator_names(), ["orchestrator-function"]);
    assert_eq!(
        registry.activity_names(),
        ["query-storage-account-activity-function", "say_hello"]
    );
    let mut t = TestOrchestration::start(
        registry,
        "orchestrator-function",
        serde_json::json!({"start": "2021-10-10", "end": "2021-12-10"}),
    );
    assert!(matches!(&t.last_turn().actions[..],
        [Action::ScheduleActivity { name, .. }] if name == "query-storage-account-activity-function"));
    let turn = t.turn(vec![t.completed(0, 119)]);
    assert_eq!(
        turn.outcome,
        Some(Outcome::Completed(Payload::encode(&119).unwrap()))
    );
}

#[test]
fn activities_run_with_and_without_a_context() {
    use durafn::{Activity, ActivityContext, AppData, EventId, InstanceId};
    let ctx = || {
        ActivityContext::new(
            InstanceId::from_trusted("i"),
            "x",
            EventId(0),
            1,
            AppData::default(),
        )
    };
    let rt = |f: durafn::FunctionFuture| {
        // A trivial single-threaded poll: these activities never wait.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = f;
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("pending"),
        }
    };
    let out = rt(say_hello.run(ctx(), Payload::encode("Tokyo").unwrap())).unwrap();
    assert_eq!(out.as_json(), r#""Hello Tokyo!""#);
    let out = rt(query.run(
        ctx(),
        Payload::from(serde_json::json!({"start": "ab", "end": "c"})),
    ))
    .unwrap();
    assert_eq!(out.as_json(), "3");
    let err = rt(query.run(ctx(), Payload::encode(&5).unwrap())).unwrap_err();
    assert!(
        err.to_string().contains(
            "activity 'query-storage-account-activity-function' could not decode its input"
        ),
        "{err}"
    );
}
