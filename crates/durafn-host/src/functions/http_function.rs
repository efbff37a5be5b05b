//! HTTP-triggered functions: a name, a trigger (route, methods, auth level) and a handler.
//!
//! [`HttpHandler`] is the trait the host runs; [`HttpFunction`] implements it for closures with a
//! builder, and a macro can implement it for an `async fn` the same way:
//!
//! ```
//! use durafn_host::{AuthLevel, HttpFunction, HttpResponse};
//!
//! let status = HttpFunction::new("get-status-function")
//!     .route("status/{id}")
//!     .methods(["GET"])
//!     .auth(AuthLevel::Anonymous)
//!     .handler(|req, client| async move {
//!         let id = req.route_param("id").unwrap_or_default().to_string();
//!         match client.get_status(&id, Default::default()).await? {
//!             None => Ok::<_, durafn_host::HandlerError>(HttpResponse::new(404).text("Job not found")),
//!             Some(s) => Ok(HttpResponse::ok().json(&serde_json::json!({
//!                 "id": s.instance_id.as_str(),
//!                 "status": s.runtime_status.as_str(),
//!                 "result": s.output,
//!             }))),
//!         }
//!     });
//! # let _ = status;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::Method;

use crate::functions::durable_http::DurableHttpClient;
use crate::functions::request::{HttpRequest, HttpResponse};

/// Who may call an HTTP-triggered function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AuthLevel {
    /// Anyone, without a key.
    Anonymous,
    /// A key of this function, a host key, or the master key (the Functions default).
    #[default]
    Function,
    /// The master key only.
    Admin,
}

impl AuthLevel {
    /// The name used in function.json (`anonymous`, `function`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthLevel::Anonymous => "anonymous",
            AuthLevel::Function => "function",
            AuthLevel::Admin => "admin",
        }
    }

    /// Parses a function.json name, ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        [AuthLevel::Anonymous, AuthLevel::Function, AuthLevel::Admin]
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }
}

/// How an HTTP function is triggered, as function.json's `httpTrigger` binding says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTrigger {
    /// The route template under the route prefix, such as `status/{id}`; `None` means the
    /// function's name. Parameters are `{name}`, optionally with a constraint (`{id:int}`,
    /// `:long`, `:alpha`, `:bool`, `:guid`); the last segment may be optional (`{id?}`) or a
    /// catch-all (`{*rest}`).
    pub route: Option<String>,
    /// The HTTP methods (`GET`, `post`, …); empty means all of GET, POST, PUT, PATCH, DELETE
    /// and OPTIONS.
    pub methods: Vec<String>,
    /// Who may call it.
    pub auth_level: AuthLevel,
}

/// What a handler returns when it fails; the caller sees a 500 that says nothing more, and
/// the host logs the error.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The future of one handler call.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, HandlerError>> + Send>>;

/// An HTTP-triggered function: what the host routes requests to.
///
/// Implemented by [`HttpFunction`]; a code generator can implement it directly for a unit
/// struct per function.
pub trait HttpHandler: Send + Sync + 'static {
    /// The function's name (unique in the app, ignoring case).
    fn name(&self) -> &str;

    /// Its trigger.
    fn trigger(&self) -> HttpTrigger;

    /// Handles one request. `client` manages orchestrations in the app's task hub.
    fn call(&self, req: HttpRequest, client: DurableHttpClient) -> HandlerFuture;

    /// Whether the function is complete; an error stops the app from starting.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// What a handler closure may return: a response, or a result whose error is logged and
/// answered with 500.
pub trait IntoHandlerResult {
    /// Converts into the handler's result.
    fn into_handler_result(self) -> Result<HttpResponse, HandlerError>;
}

impl IntoHandlerResult for HttpResponse {
    fn into_handler_result(self) -> Result<HttpResponse, HandlerError> {
        Ok(self)
    }
}

impl<E: Into<HandlerError>> IntoHandlerResult for Result<HttpResponse, E> {
    fn into_handler_result(self) -> Result<HttpResponse, HandlerError> {
        self.map_err(Into::into)
    }
}

type BoxedHandler = Arc<dyn Fn(HttpRequest, DurableHttpClient) -> HandlerFuture + Send + Sync>;

/// An HTTP-triggered function built from a closure.
#[derive(Clone)]
pub struct HttpFunction {
    name: String,
    trigger: HttpTrigger,
    handler: Option<BoxedHandler>,
}

impl std::fmt::Debug for HttpFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFunction")
            .field("name", &self.name)
            .field("trigger", &self.trigger)
            .finish()
    }
}

impl HttpFunction {
    /// A function with the default trigger (route = its name, every method, function-level
    /// auth) and no handler yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            trigger: HttpTrigger::default(),
            handler: None,
        }
    }

    /// Sets the route template (under the route prefix).
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.trigger.route = Some(route.into());
        self
    }

    /// Sets the methods it answers.
    pub fn methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.trigger.methods = methods
            .into_iter()
            .map(|m| m.as_ref().to_string())
            .collect();
        self
    }

    /// Sets who may call it.
    pub fn auth(mut self, level: AuthLevel) -> Self {
        self.trigger.auth_level = level;
        self
    }

    /// Sets the handler: an async closure over the request and a durable client, returning an
    /// [`HttpResponse`] or a `Result` of one.
    pub fn handler<F, Fut, R>(mut self, f: F) -> Self
    where
        F: Fn(HttpRequest, DurableHttpClient) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoHandlerResult + 'static,
    {
        self.handler = Some(Arc::new(move |req, client| {
            let fut = f(req, client);
            Box::pin(async move { fut.await.into_handler_result() })
        }));
        self
    }
}

impl HttpHandler for HttpFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn trigger(&self) -> HttpTrigger {
        self.trigger.clone()
    }

    fn call(&self, req: HttpRequest, client: DurableHttpClient) -> HandlerFuture {
        match &self.handler {
            Some(h) => h(req, client),
            None => {
                let name = self.name.clone();
                Box::pin(async move { Err(format!("function {name} has no handler").into()) })
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self.handler {
            Some(_) => Ok(()),
            None => Err(format!("HTTP function '{}' has no handler", self.name)),
        }
    }
}

/// The methods a trigger with no methods answers.
pub(crate) const ALL_METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Function names: a letter, then up to 127 letters, digits, `-` and `_` (the Functions rule).
pub(crate) fn validate_function_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid function name (a letter, then letters, digits, '-' or '_', at most 128)"
        ))
    }
}

/// A constraint on a route parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    Int,
    Long,
    Alpha,
    Bool,
    Guid,
}

impl Constraint {
    fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "int" => Constraint::Int,
            "long" => Constraint::Long,
            "alpha" => Constraint::Alpha,
            "bool" => Constraint::Bool,
            "guid" => Constraint::Guid,
            _ => return None,
        })
    }

    fn accepts(self, v: &str) -> bool {
        match self {
            Constraint::Int => v.parse::<i32>().is_ok(),
            Constraint::Long => v.parse::<i64>().is_ok(),
            Constraint::Alpha => !v.is_empty() && v.chars().all(|c| c.is_ascii_alphabetic()),
            Constraint::Bool => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            Constraint::Guid => {
                let hex: String = v.chars().filter(|c| *c != '-').collect();
                let dashed =
                    v.len() == 36 && [8, 13, 18, 23].iter().all(|&i| v.as_bytes()[i] == b'-');
                (dashed || v.len() == 32)
                    && hex.len() == 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            }
        }
    }
}

/// A parsed route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteTemplate {
    /// The axum paths it is served under (two when the last parameter is optional).
    pub(crate) paths: Vec<String>,
    /// Constraints to check on matched parameters.
    pub(crate) constraints: Vec<(String, Constraint)>,
}

impl RouteTemplate {
    /// Parses `template` under `prefix` (both without leading or trailing slashes).
    pub(crate) fn parse(prefix: &str, template: &str) -> Result<Self, String> {
        let template = template.trim_matches('/');
        let mut base = String::new();
        if !prefix.is_empty() {
            base.push('/');
            base.push_str(prefix);
        }
        let mut constraints = Vec::new();
        let mut optional_tail = None;
        let segments: Vec<&str> = if template.is_empty() {
            Vec::new()
        } else {
            template.split('/').collect()
        };
        let mut names = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if seg.is_empty() {
                return Err(format!("route {template:?} has an empty segment"));
            }
            if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let (catch_all, inner) = match inner.strip_prefix('*') {
                    Some(rest) => (true, rest),
                    None => (false, inner),
                };
                let (inner, optional) = match inner.strip_suffix('?') {
                    Some(rest) => (rest, true),
                    None => (inner, false),
                };
                let (name, constraint) = match inner.split_once(':') {
                    Some((n, c)) => {
                        let c = Constraint::parse(c).ok_or_else(|| {
                            format!("route {template:?}: unsupported constraint {c:?} (use int, long, alpha, bool or guid)")
                        })?;
                        (n, Some(c))
                    }
                    None => (inner, None),
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "route {template:?}: invalid parameter name {name:?}"
                    ));
                }
                if names.contains(&name) {
                    return Err(format!(
                        "route {template:?}: parameter {name:?} appears twice"
                    ));
                }
                names.push(name);
                if (catch_all || optional) && !last {
                    return Err(format!(
                        "route {template:?}: only the last segment may be optional or a catch-all"
                    ));
                }
                if let Some(c) = constraint {
                    constraints.push((name.to_string(), c));
                }
                if catch_all {
                    base.push_str(&format!("/{{*{name}}}"));
                } else if optional {
                    optional_tail = Some(format!("/{{{name}}}"));
                } else {
                    base.push_str(&format!("/{{{name}}}"));
                }
            } else if seg.chars().any(|c| "{}?#*\\".contains(c) || c.is_control()) {
                return Err(format!(
                    "route {template:?}: segment {seg:?} is not valid (a parameter must be a whole segment)"
                ));
            } else {
                base.push('/');
                base.push_str(seg);
            }
        }
        let root = if base.is_empty() {
            "/".to_string()
        } else {
            base.clone()
        };
        let mut paths = vec![root];
        if let Some(tail) = optional_tail {
            paths.push(format!("{base}{tail}"));
        }
        Ok(Self { paths, constraints })
    }

    /// Whether matched parameters pass their constraints (a failing one means no match: 404).
    pub(crate) fn accepts(&self, params: &[(String, String)]) -> bool {
        self.constraints.iter().all(|(name, c)| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .is_none_or(|(_, v)| c.accepts(v))
        })
    }
}

/// Parses a trigger's methods; empty means all.
pub(crate) fn parse_methods(function: &str, methods: &[String]) -> Result<Vec<Method>, String> {
    if methods.is_empty() {
        return Ok(ALL_METHODS.to_vec());
    }
    let mut out: Vec<Method> = Vec::new();
    for m in methods {
        let upper = m.trim().to_ascii_uppercase();
        let method = ALL_METHODS
            .iter()
            .chain(&[Method::HEAD])
            .find(|k| k.as_str() == upper)
            .cloned()
            .ok_or_else(|| format!("function '{function}': unsupported HTTP method {m:?}"))?;
        if method == Method::HEAD {
            // GET routes answer HEAD already.
            continue;
        }
        if !out.contains(&method) {
            out.push(method);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let t = RouteTemplate::parse("api", "status/{id}").unwrap();
        assert_eq!(t.paths, ["/api/status/{id}"]);
        let t = RouteTemplate::parse("api", "/items/{id:int?}/").unwrap();
        assert_eq!(t.paths, ["/api/items", "/api/items/{id}"]);
        assert!(t.accepts(&[("id".into(), "12".into())]));
        assert!(!t.accepts(&[("id".into(), "x".into())]));
        let t = RouteTemplate::parse("", "files/{*path}").unwrap();
        assert_eq!(t.paths, ["/files/{*path}"]);
        assert_eq!(RouteTemplate::parse("", "").unwrap().paths, ["/"]);
        for bad in ["a/{id?}/b", "a/x{id}", "a/{id:regex(x)}", "{a}/{a}", "a//b"] {
            assert!(RouteTemplate::parse("api", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn guid_constraint() {
        let g = Constraint::Guid;
        assert!(g.accepts("433ebcfe85ec4012abe94dcda2aa6b00"));
        assert!(g.accepts("433ebcfe-85ec-4012-abe9-4dcda2aa6b00"));
        assert!(!g.accepts("433ebcfe-85ec-4012-abe9-4dcda2aa6b0"));
    }

    #[test]
    fn names_and_methods() {
        assert!(validate_function_name("client-function").is_ok());
        assert!(validate_function_name("1x").is_err());
        assert!(validate_function_name("a b").is_err());
        assert_eq!(
            parse_methods("f", &["get".into(), "HEAD".into(), "Post".into()]).unwrap(),
            [Method::GET, Method::POST]
        );
        assert!(parse_methods("f", &["BREW".into()]).is_err());
        assert_eq!(AuthLevel::parse("Admin"), Some(AuthLevel::Admin));
    }
}
