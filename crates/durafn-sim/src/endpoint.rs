//! The simulated HTTP service behind the workload's `call_http` jobs, plugged into each host's
//! runtime as its [`HttpSender`]: no socket, virtual time, and answers that are a function of
//! the request alone, so a request sent again (a redelivered activity, a host that crashed
//! after sending it) gets the same answer and the fault-free outcome stays the model's.
//!
//! A job's request is `GET http://svc.sim/{instance}/call?attempt=A&fails=F&polls=P&delay=D`:
//!
//! - `attempt < fails`: `503 Service Unavailable` (the orchestrator retries with the next
//!   attempt after a durable timer);
//! - else `polls > 0`: `202 Accepted` with `Location: …/poll?left=P&delay=D` (and every other
//!   poll a `Retry-After`), which the runtime follows with durable timers until
//! - `200 OK` with the body `done {instance}` after `delay` seconds of virtual time (a slow
//!   answer; one slower than the request's timeout fails the call with a timeout).
//!
//! Under faults the service also refuses connections (at most twice per instance, drawn with
//! the activity failure rate) and adds latency (with the slow-call rate, far below any
//! timeout the workload sets), neither of which may change an outcome.

use std::sync::Arc;
use std::time::Duration;

use durafn_core::{DurableHttpRequest, DurableHttpResponse, FailureDetails, SystemFailure};
use durafn_runtime::{HttpFuture, HttpSender};

use crate::state::{HostState, SimState};

/// The service's origin.
pub const ORIGIN: &str = "http://svc.sim";

/// One host's connection to the service.
pub struct Endpoint {
    /// The run.
    pub sim: Arc<SimState>,
    /// The host sending.
    pub host: Arc<HostState>,
}

impl HttpSender for Endpoint {
    fn send<'a>(
        &'a self,
        request: &'a DurableHttpRequest,
        _trace_parent: Option<&'a str>,
    ) -> HttpFuture<'a> {
        Box::pin(self.answer(request))
    }
}

fn query(uri: &str, name: &str) -> u64 {
    uri.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

fn response(
    status_code: u16,
    headers: &[(&str, String)],
    content: Option<String>,
) -> DurableHttpResponse {
    DurableHttpResponse {
        status_code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        content,
    }
}

impl Endpoint {
    async fn answer(
        &self,
        request: &DurableHttpRequest,
    ) -> Result<DurableHttpResponse, FailureDetails> {
        // A frozen host sends nothing; a dead one never does.
        self.host.gate().await;
        let uri = request.uri.as_str();
        let Some(rest) = uri.strip_prefix(ORIGIN) else {
            return Err(FailureDetails::system(
                SystemFailure::HttpRequestFailed,
                format!("cannot resolve {uri}"),
            ));
        };
        let (path, _) = rest.split_once('?').unwrap_or((rest, ""));
        let mut segments = path.trim_start_matches('/').split('/');
        let instance = segments.next().unwrap_or_default().to_string();
        let kind = segments.next().unwrap_or_default();
        let n = self.sim.executed(&format!("{instance}/http {kind}"));
        self.sim.note(
            &self.host.name,
            format!("http {} {uri} (request {n})", request.method),
        );
        if self
            .sim
            .inject_failure(&format!("{instance}/http"), self.sim.faults.activity_fail)
        {
            self.sim.note(&self.host.name, format!("REFUSE http {uri}"));
            return Err(FailureDetails::system(
                SystemFailure::HttpRequestFailed,
                format!("{} {uri} failed: connection refused", request.method),
            ));
        }
        if self.sim.draw(self.sim.faults.slow) {
            let ms = self.sim.rng.between(1, 5_000);
            self.sim
                .note(&self.host.name, format!("slow http {uri} +{ms}ms"));
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let delay = Duration::from_secs(query(uri, "delay"));
        let answer = match kind {
            "call" if query(uri, "attempt") < query(uri, "fails") => response(
                503,
                &[("Content-Type", "text/plain".into())],
                Some("busy".into()),
            ),
            "call" | "poll" => {
                let left = if kind == "call" {
                    query(uri, "polls")
                } else {
                    query(uri, "left").saturating_sub(1)
                };
                if left > 0 {
                    let mut headers = vec![(
                        "Location",
                        format!(
                            "{ORIGIN}/{instance}/poll?left={left}&delay={}",
                            delay.as_secs()
                        ),
                    )];
                    if left % 2 == 0 {
                        headers.push(("Retry-After", "20".into()));
                    }
                    response(202, &headers, None)
                } else {
                    tokio::time::sleep(delay).await;
                    response(
                        200,
                        &[("Content-Type", "text/plain".into())],
                        Some(format!("done {instance}")),
                    )
                }
            }
            _ => response(404, &[], None),
        };
        // A host that crashed meanwhile never sees the answer.
        self.host.gate().await;
        Ok(answer)
    }
}
