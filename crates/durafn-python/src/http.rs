//! Python HTTP functions as host HTTP functions: the request goes to the worker as the
//! protocol's request object, the `func.HttpResponse` comes back verbatim, and every durable
//! client binding gets the client binding JSON (the `starter` string).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use durafn_host::{
    DurableHttpClient, HandlerFuture, HttpHandler, HttpRequest, HttpResponse, HttpTrigger,
};
use std::collections::BTreeMap;

use crate::protocol::{HttpRequestFrame, HttpResponseFrame, Invocation, Outcome};
use crate::worker::{Label, Worker};

/// An HTTP function of a Python app.
#[derive(Clone)]
pub struct PythonHttpFunction {
    name: String,
    trigger: HttpTrigger,
    clients: Vec<String>,
    worker: Worker,
}

impl std::fmt::Debug for PythonHttpFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonHttpFunction")
            .field("name", &self.name)
            .field("trigger", &self.trigger)
            .field("clients", &self.clients)
            .finish()
    }
}

impl PythonHttpFunction {
    /// The HTTP function `name` with its trigger; `clients` are the names of its durable client
    /// bindings, each handed the request's client binding JSON.
    pub(crate) fn new(
        name: impl Into<String>,
        trigger: HttpTrigger,
        clients: Vec<String>,
        worker: Worker,
    ) -> Self {
        Self {
            name: name.into(),
            trigger,
            clients,
            worker,
        }
    }
}

fn joined(pairs: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        out.entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// The request object of the protocol (`PROTOCOL.md`, 5).
pub(crate) fn request_frame(req: &HttpRequest) -> HttpRequestFrame {
    HttpRequestFrame {
        method: req.method().as_str().to_ascii_uppercase(),
        url: req.url().to_string(),
        headers: joined(req.headers().iter().map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })),
        params: joined(req.query_pairs().iter().cloned()),
        route_params: req.route_params().clone(),
        body: STANDARD.encode(req.body()),
    }
}

/// The host response of the function's response object.
pub(crate) fn response(frame: &HttpResponseFrame) -> Result<HttpResponse, String> {
    let body = STANDARD
        .decode(frame.body.as_bytes())
        .map_err(|e| format!("the response body is not base64: {e}"))?;
    let content_type = frame
        .headers
        .iter()
        .rev()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .or_else(|| frame.mimetype.clone())
        .unwrap_or_else(|| "text/plain".into());
    let mut response = HttpResponse::new(frame.status).bytes(body, &content_type);
    for (name, value) in &frame.headers {
        if !name.eq_ignore_ascii_case("content-type") {
            response = response.append_header(name, value);
        }
    }
    Ok(response)
}

impl HttpHandler for PythonHttpFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn trigger(&self) -> HttpTrigger {
        self.trigger.clone()
    }

    fn call(&self, req: HttpRequest, client: DurableHttpClient) -> HandlerFuture {
        let this = self.clone();
        Box::pin(async move {
            let binding = client.client_binding().to_string();
            let inputs = this
                .clients
                .iter()
                .map(|name| (name.clone(), binding.clone()))
                .collect();
            let invocation = Invocation::Http {
                request: request_frame(&req),
                inputs,
            };
            let label = Label::new(this.name.clone(), None);
            let answer = match this.worker.invoke(&this.name, &invocation, label).await {
                Ok(Outcome::Response(frame)) => response(&frame),
                Ok(Outcome::Failed(e)) => {
                    Err(format!("{}: {}\n{}", e.error_type, e.message, e.traceback))
                }
                Ok(other) => Err(format!("the worker answered with {other:?}")),
                Err(e) => Err(e.to_string()),
            };
            Ok(answer.unwrap_or_else(|error| {
                // As an unhandled exception in Azure: 500 with an empty body.
                tracing::error!(target: "durafn::python", function = %this.name, "the HTTP function failed: {error}");
                HttpResponse::new(500)
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use durafn_host::http::Method;

    #[test]
    fn requests_carry_what_the_client_sent() {
        let req = HttpRequest::new(
            Method::GET,
            "http://localhost:7071/api/submit/query?s=10%2F10%2F2021&e=x&e=y",
        )
        .with_header("Accept", "a")
        .with_header("accept", "b")
        .with_route_param("id", "7")
        .with_body("hi");
        let frame = request_frame(&req);
        assert_eq!(frame.method, "GET");
        assert_eq!(
            frame.url,
            "http://localhost:7071/api/submit/query?s=10%2F10%2F2021&e=x&e=y"
        );
        assert_eq!(frame.params["s"], "10/10/2021");
        assert_eq!(frame.params["e"], "x,y");
        assert_eq!(frame.headers["accept"], "a,b");
        assert_eq!(frame.route_params["id"], "7");
        assert_eq!(frame.body, "aGk=");
    }

    #[test]
    fn responses_come_back_verbatim() {
        let frame = HttpResponseFrame {
            status: 400,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Trace".into(), "t1".into()),
            ],
            body: STANDARD.encode(r#"{"error": "Empty start date."}"#),
            mimetype: Some("text/plain".into()),
            charset: Some("utf-8".into()),
        };
        let r = response(&frame).unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.header_value("content-type"), Some("application/json"));
        assert_eq!(r.header_value("x-trace"), Some("t1"));
        assert_eq!(r.body(), br#"{"error": "Empty start date."}"#);
        assert!(
            response(&HttpResponseFrame {
                body: "!".into(),
                ..HttpResponseFrame::default()
            })
            .is_err()
        );
    }
}
