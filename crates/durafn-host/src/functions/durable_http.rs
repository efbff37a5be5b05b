//! The durable client handed to HTTP-triggered functions, with the Durable Functions helpers
//! that answer with links to the management API.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use durafn_core::{AppData, RuntimeStatus};
use durafn_runtime::{ClientError, DurableClient};

use crate::api::status_json::StatusJson;
use crate::config::settings::AppSettings;
use crate::functions::request::{HttpRequest, HttpResponse};
use crate::keys::KeyStore;

pub use durafn_api::{HttpManagementPayload, MANAGEMENT_BASE};

/// Percent-encodes a path segment or query value (everything but the unreserved characters).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds management URLs for one origin, task hub and key.
#[derive(Debug, Clone)]
pub(crate) struct ManagementUrls {
    pub(crate) origin: String,
    pub(crate) hub: String,
    pub(crate) key: String,
}

impl ManagementUrls {
    pub(crate) fn base(&self) -> String {
        format!("{}{MANAGEMENT_BASE}", self.origin)
    }

    pub(crate) fn query(&self) -> String {
        format!(
            "taskHub={}&connection=Storage&code={}",
            encode_component(&self.hub),
            encode_component(&self.key)
        )
    }

    /// The links for `id`; `id` is a literal placeholder (such as `INSTANCEID`) when `raw`.
    pub(crate) fn payload(&self, id: &str, raw: bool) -> HttpManagementPayload {
        let segment = if raw {
            id.to_string()
        } else {
            encode_component(id)
        };
        let instance = format!("{}/instances/{segment}", self.base());
        let q = self.query();
        HttpManagementPayload {
            id: id.to_string(),
            status_query_get_uri: format!("{instance}?{q}"),
            send_event_post_uri: format!("{instance}/raiseEvent/{{eventName}}?{q}"),
            terminate_post_uri: format!("{instance}/terminate?reason={{text}}&{q}"),
            rewind_post_uri: format!("{instance}/rewind?reason={{text}}&{q}"),
            purge_history_delete_uri: format!("{instance}?{q}"),
            restart_post_uri: format!("{instance}/restart?{q}"),
            suspend_post_uri: format!("{instance}/suspend?reason={{text}}&{q}"),
            resume_post_uri: format!("{instance}/resume?reason={{text}}&{q}"),
        }
    }
}

/// The durable client binding: what out-of-process clients are built from (its JSON text is the
/// `starter` string of the Python and JavaScript clients), for one origin; `rpc_base` is the
/// local RPC endpoint's base, left out when the endpoint is switched off.
pub(crate) fn binding_json(
    hub: &str,
    urls: &ManagementUrls,
    rpc_base: Option<String>,
) -> serde_json::Value {
    let base = urls.base();
    let key = encode_component(&urls.key);
    let mut binding = serde_json::json!({
        "taskHubName": hub,
        "connectionName": "Storage",
        "creationUrls": {
            "createNewInstancePostUri":
                format!("{base}/orchestrators/{{functionName}}[/{{instanceId}}]?code={key}"),
            "createAndWaitOnNewInstancePostUri":
                format!("{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&code={key}"),
        },
        "managementUrls": urls.payload("INSTANCEID", true),
        "baseUrl": base,
        "requiredQueryStringParameters": format!("code={key}"),
    });
    if let Some(rpc) = rpc_base {
        binding["rpcBaseUrl"] = serde_json::Value::String(rpc);
    }
    binding
}

/// The check-status response: 202, `Location` (the status URL), `Retry-After: 10`, and the
/// management links as the body.
pub(crate) fn check_status_response(urls: &ManagementUrls, id: &str) -> HttpResponse {
    let payload = urls.payload(id, false);
    HttpResponse::new(202)
        .header("location", &payload.status_query_get_uri)
        .header("retry-after", "10")
        .json(&payload)
}

/// A [`DurableClient`] for HTTP-triggered functions: everything the client does (it
/// dereferences to one), plus the helpers that answer a request with management links, and the
/// app's data and settings.
#[derive(Clone)]
pub struct DurableHttpClient {
    client: DurableClient,
    hub: Arc<str>,
    origin: String,
    keys: Arc<KeyStore>,
    app_data: AppData,
    settings: Arc<AppSettings>,
    rpc_base: Option<String>,
}

impl std::fmt::Debug for DurableHttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableHttpClient")
            .field("task_hub", &self.hub)
            .field("origin", &self.origin)
            .finish()
    }
}

impl Deref for DurableHttpClient {
    type Target = DurableClient;

    fn deref(&self) -> &DurableClient {
        &self.client
    }
}

impl DurableHttpClient {
    pub(crate) fn new(
        client: DurableClient,
        hub: Arc<str>,
        origin: String,
        keys: Arc<KeyStore>,
        app_data: AppData,
        settings: Arc<AppSettings>,
        rpc_base: Option<String>,
    ) -> Self {
        Self {
            client,
            hub,
            origin,
            keys,
            app_data,
            settings,
            rpc_base,
        }
    }

    fn urls(&self, origin: &str) -> ManagementUrls {
        ManagementUrls {
            origin: origin.to_string(),
            hub: self.hub.to_string(),
            key: self.keys.system_key(),
        }
    }

    /// The durable client itself.
    pub fn durable(&self) -> &DurableClient {
        &self.client
    }

    /// The task hub's name.
    pub fn task_hub_name(&self) -> &str {
        &self.hub
    }

    /// Application state registered with the app (as activities see it).
    pub fn data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.app_data.get()
    }

    /// The app settings.
    pub fn settings(&self) -> &AppSettings {
        &self.settings
    }

    /// The app's queues, to send messages to (queue output).
    pub fn queues(&self) -> Arc<crate::queues::Queues> {
        self.app_data
            .get::<crate::queues::Queues>()
            .expect("the host adds its queues to the app data")
    }

    /// A queue of the default connection (`AzureWebJobsStorage`) to send to:
    /// `client.queue("outbox")?.send(&value).await?`.
    pub fn queue(
        &self,
        name: &str,
    ) -> Result<crate::queues::QueueOutput, Box<dyn std::error::Error + Send + Sync>> {
        self.queues().queue(name)
    }

    /// The answer that hands a caller the management links of `instance_id`: 202, `Location`
    /// set to the status URL, `Retry-After: 10`. Links use the scheme and host the request came
    /// in with (honouring `X-Forwarded-Proto` and `X-Forwarded-Host`) and carry the system key,
    /// so send this to operators, not to the public.
    pub fn create_check_status_response(
        &self,
        req: &HttpRequest,
        instance_id: &str,
    ) -> HttpResponse {
        let origin = match req.origin() {
            "" => self.origin.as_str(),
            o => o,
        };
        check_status_response(&self.urls(origin), instance_id)
    }

    /// The durable client binding for the request being served, as `/admin/durabletask/binding`
    /// answers it: the JSON an out-of-process function's client binding (`starter`) is built
    /// from. It carries the system key.
    pub fn client_binding(&self) -> serde_json::Value {
        binding_json(&self.hub, &self.urls(&self.origin), self.rpc_base.clone())
    }

    /// The management links of `instance_id`, for the origin of the request being served.
    pub fn create_http_management_payload(&self, instance_id: &str) -> HttpManagementPayload {
        self.urls(&self.origin).payload(instance_id, false)
    }

    /// Waits up to `timeout` for the instance to finish. Completed: 200 with the output.
    /// Terminated: 200 with the status object. Failed: 500 with the status object. Still
    /// running: the check-status response. In-process completions are seen at once; `interval`
    /// is accepted for compatibility (completions elsewhere are polled with a backoff of at most
    /// half a second).
    pub async fn wait_for_completion_or_create_check_status_response(
        &self,
        req: &HttpRequest,
        instance_id: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<HttpResponse, ClientError> {
        let _ = interval;
        match self.client.wait_for_completion(instance_id, timeout).await {
            Ok(status) => Ok(finished_response(&status, false)),
            Err(ClientError::Timeout(_)) => Ok(self.create_check_status_response(req, instance_id)),
            Err(e) => Err(e),
        }
    }
}

/// The answer for a finished instance in wait mode: Completed gives its output; otherwise the
/// status object (500 for Failed when `fail_500`, or always in the client helper).
pub(crate) fn finished_response(
    status: &durafn_runtime::InstanceStatus,
    management: bool,
) -> HttpResponse {
    match status.runtime_status {
        RuntimeStatus::Completed => {
            let output = status.output.clone().unwrap_or_default();
            HttpResponse::ok().bytes(
                output.as_json().to_string(),
                "application/json; charset=utf-8",
            )
        }
        RuntimeStatus::Failed if !management => {
            HttpResponse::new(500).json(&StatusJson::from_status(status, false))
        }
        _ => HttpResponse::ok().json(&StatusJson::from_status(status, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_ids_and_keys() {
        let urls = ManagementUrls {
            origin: "http://localhost:7071".into(),
            hub: "TestHubName".into(),
            key: "a+b/c=".into(),
        };
        let p = urls.payload("order 42:x", false);
        assert_eq!(
            p.status_query_get_uri,
            "http://localhost:7071/runtime/webhooks/durabletask/instances/order%2042%3Ax?taskHub=TestHubName&connection=Storage&code=a%2Bb%2Fc%3D"
        );
        assert!(
            p.send_event_post_uri
                .contains("/raiseEvent/{eventName}?taskHub=")
        );
        assert!(
            p.terminate_post_uri
                .contains("/terminate?reason={text}&taskHub=")
        );
        let v = serde_json::to_value(&p).unwrap();
        for key in [
            "id",
            "statusQueryGetUri",
            "sendEventPostUri",
            "terminatePostUri",
            "rewindPostUri",
            "purgeHistoryDeleteUri",
            "restartPostUri",
            "suspendPostUri",
            "resumePostUri",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
    }
}
