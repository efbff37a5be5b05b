//! A client for the Azure Storage Queue REST API (and its emulator).
//!
//! # Model
//!
//! A [`QueueService`] is one account's queue endpoint with a pooled HTTP
//! client; [`QueueService::queue`] names one queue, a cheap [`Queue`]
//! handle that carries the [`MessageEncoding`] its bodies use. Receiving a
//! message hides it for a visibility timeout and hands out a pop receipt;
//! the message is gone only once deleted with that receipt, so a consumer
//! that dies holding it lets it reappear, with its dequeue count one higher.
//! That is the at-least-once contract queue triggers are built on, with
//! [`Queue::move_to_poison`] for messages that keep failing.
//!
//! ```no_run
//! # async fn run() -> Result<(), durafn_azure::queue::QueueError> {
//! use std::time::Duration;
//! use durafn_azure::queue::{QueueService, SendOptions};
//!
//! let service = QueueService::from_connection_string("UseDevelopmentStorage=true")?;
//! let queue = service.queue("orders")?;
//! queue.create().await?;
//! queue.send(br#"{"s":"10/10/2021"}"#, &SendOptions::default()).await?;
//! for message in queue.receive(16, Duration::from_secs(30)).await? {
//!     // ... handle message.body() ...
//!     queue.delete_message(&message.id, &message.pop_receipt).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Protocol
//!
//! * Every request is signed with SharedKey (the Blob/Queue rules, see
//!   [`crate::signing`]) and sends `x-ms-version: 2021-12-02`.
//! * Message text travels as `<QueueMessage><MessageText>…` XML, escaped;
//!   responses are XML lists read with quick-xml. Times are RFC 1123.
//! * Creating a queue that exists is success ([`Queue::create`] says which),
//!   and so is deleting one that does not.
//!
//! # Failures
//!
//! Each attempt has a timeout; connection failures, timeouts and 408, 429,
//! 500, 502, 503 and 504 are tried again per the [`RetryPolicy`] and then
//! returned with [`QueueError::is_retryable`] true. A retried send whose
//! first attempt reached the service but whose answer was lost enqueues the
//! message twice, as with the Azure SDKs: queues are at-least-once anyway.
//! The client needs a Tokio runtime with timers enabled.
//!
//! # Transport
//!
//! Plain HTTP only, for now: an `https` endpoint is refused up front.

mod error;
mod message;
mod xml;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use error::{MessageDecodeError, QueueError, codes};
pub use message::{
    MAX_BASE64_BODY_BYTES, MAX_MESSAGE_TEXT_BYTES, MessageEncoding, PeekedMessage, QueueMessage,
    SendOptions, SentMessage, TimeToLive, UpdatedMessage,
};

use crate::account::{AccountConfig, Service};
use crate::http::{Response, RetryPolicy, SendError, Transport, x_ms_date};
use crate::signing::Scheme;
use xml::{Record, field};

/// The REST API version this client speaks.
pub const API_VERSION: &str = "2021-12-02";
/// The most messages one receive or peek returns.
pub const MAX_MESSAGES_PER_CALL: u32 = 32;
/// The longest visibility timeout the service accepts: seven days.
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// What the Functions host appends to a queue's name for its poison queue.
pub const POISON_QUEUE_SUFFIX: &str = "-poison";

/// Unreserved characters stay, everything else in a query value or path
/// segment is encoded (pop receipts carry `+`, `/` and `=`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One account's queue service. Cloning shares the connection pool.
#[derive(Clone)]
pub struct QueueService {
    inner: Arc<Inner>,
}

struct Inner {
    config: AccountConfig,
    transport: Transport,
}

impl fmt::Debug for QueueService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueService")
            .field("account", &self.inner.config.account)
            .field("endpoint", &self.inner.config.queue_endpoint.url())
            .field("timeout", &self.inner.transport.timeout())
            .field("retry", &self.inner.transport.retry())
            .finish_non_exhaustive()
    }
}

impl QueueService {
    /// The queue service of an account. Fails with
    /// [`QueueError::TlsNotSupported`] for an https endpoint. Does no I/O.
    pub fn new(config: AccountConfig) -> Result<QueueService, QueueError> {
        if config.queue_endpoint.scheme != "http" {
            return Err(QueueError::TlsNotSupported);
        }
        Ok(QueueService {
            inner: Arc::new(Inner {
                config,
                transport: Transport::new(),
            }),
        })
    }

    /// The queue service a connection string names (`AzureWebJobsStorage`
    /// or another app setting, Key Vault references already resolved).
    pub fn from_connection_string(connection_string: &str) -> Result<QueueService, QueueError> {
        QueueService::new(AccountConfig::parse(connection_string)?)
    }

    /// The same service with another timeout per attempt.
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> QueueService {
        let transport = self.inner.transport.clone().with_timeout(timeout);
        self.with_transport(transport)
    }

    /// The same service with another retry policy.
    #[must_use]
    pub fn with_retry(self, retry: RetryPolicy) -> QueueService {
        let transport = self.inner.transport.clone().with_retry(retry);
        self.with_transport(transport)
    }

    fn with_transport(self, transport: Transport) -> QueueService {
        QueueService {
            inner: Arc::new(Inner {
                config: self.inner.config.clone(),
                transport,
            }),
        }
    }

    /// The account this service belongs to.
    pub fn account(&self) -> &AccountConfig {
        &self.inner.config
    }

    /// A handle on the queue `name`, with base64 bodies (the Functions
    /// default). Checks the name; does no I/O.
    pub fn queue(&self, name: &str) -> Result<Queue, QueueError> {
        validate_queue_name(name)?;
        Ok(Queue {
            service: self.clone(),
            name: name.to_owned(),
            encoding: MessageEncoding::default(),
        })
    }
}

/// Checks a queue name against the service's rules: 3 to 63 characters,
/// lowercase letters, digits and hyphens, starting and ending with a letter
/// or digit, no two hyphens in a row.
pub fn validate_queue_name(name: &str) -> Result<(), QueueError> {
    let bad = |reason| {
        Err(QueueError::InvalidQueueName {
            name: name.chars().take(80).collect(),
            reason,
        })
    };
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad("must contain only lowercase letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("--") {
        return bad("must not contain two hyphens in a row");
    }
    Ok(())
}

/// One queue, and how its bodies are encoded. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Queue {
    service: QueueService,
    name: String,
    encoding: MessageEncoding,
}

/// A request, before it is signed.
struct Call {
    method: Method,
    uri: Uri,
    body: Option<Bytes>,
}

impl Queue {
    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How bodies become message text.
    pub fn encoding(&self) -> MessageEncoding {
        self.encoding
    }

    /// The same queue with bodies encoded another way.
    #[must_use]
    pub fn with_encoding(mut self, encoding: MessageEncoding) -> Queue {
        self.encoding = encoding;
        self
    }

    /// The queue the Functions host moves this queue's failing messages to,
    /// `{name}-poison`, with the same encoding.
    pub fn poison_queue(&self) -> Result<Queue, QueueError> {
        Ok(self
            .service
            .queue(&format!("{}{POISON_QUEUE_SUFFIX}", self.name))?
            .with_encoding(self.encoding))
    }

    /// Creates the queue. `Ok(true)` if it was created, `Ok(false)` if it
    /// existed already.
    pub async fn create(&self) -> Result<bool, QueueError> {
        let response = self.call(Method::PUT, "", &[], None).await?;
        match response.status {
            StatusCode::CREATED => Ok(true),
            StatusCode::NO_CONTENT => Ok(false),
            _ => match self.error(&response) {
                e if e.has_code(codes::QUEUE_ALREADY_EXISTS) => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Deletes the queue and its messages. `Ok(true)` if it existed.
    pub async fn delete(&self) -> Result<bool, QueueError> {
        let response = self.call(Method::DELETE, "", &[], None).await?;
        if response.status.is_success() {
            return Ok(true);
        }
        match self.error(&response) {
            e if e.has_code(codes::QUEUE_NOT_FOUND) => Ok(false),
            e => Err(e),
        }
    }

    /// The service's approximate count of the queue's messages (visible or
    /// not, expired ones possibly included).
    pub async fn approximate_message_count(&self) -> Result<u64, QueueError> {
        let response = self
            .call(Method::GET, "", &[("comp", "metadata".to_owned())], None)
            .await?;
        let response = self.expect(response, StatusCode::OK)?;
        response
            .headers
            .get("x-ms-approximate-messages-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                QueueError::Protocol("no x-ms-approximate-messages-count header".to_owned())
            })
    }

    /// Sends a message whose body is encoded with the queue's encoding.
    pub async fn send(
        &self,
        body: &[u8],
        options: &SendOptions,
    ) -> Result<SentMessage, QueueError> {
        let text = self.encoding.encode(body)?;
        self.send_text(&text, options).await
    }

    /// Sends message text as it is, whatever the queue's encoding: for
    /// copying a message's [`QueueMessage::text`] elsewhere unchanged.
    pub async fn send_text(
        &self,
        text: &str,
        options: &SendOptions,
    ) -> Result<SentMessage, QueueError> {
        message::check_text(text, None)?;
        let visibility = seconds("visibility_timeout", options.visibility_timeout, 0)?;
        let mut query = vec![("visibilitytimeout", visibility.to_string())];
        match options.time_to_live {
            TimeToLive::Default => {}
            TimeToLive::Never => query.push(("messagettl", "-1".to_owned())),
            TimeToLive::After(ttl) => {
                let ttl = ttl.as_secs();
                if ttl < 1 {
                    return Err(invalid("time_to_live", "must be at least 1 second"));
                }
                if visibility >= ttl {
                    return Err(invalid(
                        "visibility_timeout",
                        "must be shorter than the time to live",
                    ));
                }
                query.push(("messagettl", ttl.to_string()));
            }
        }
        let body = Bytes::from(xml::message_request(text));
        let response = self
            .call(Method::POST, "/messages", &query, Some(body))
            .await?;
        let response = self.expect(response, StatusCode::CREATED)?;
        let list = self.parse_list(&response)?;
        let record = list
            .first()
            .ok_or_else(|| QueueError::Protocol("Put Message returned no message".to_owned()))?;
        Ok(SentMessage {
            id: text_field(record, "MessageId")?.to_owned(),
            pop_receipt: text_field(record, "PopReceipt")?.to_owned(),
            insertion_time: time_field(record, "InsertionTime")?,
            expiration_time: time_field(record, "ExpirationTime")?,
            next_visible_time: time_field(record, "TimeNextVisible")?,
        })
    }

    /// Receives up to `max` (1 to 32) visible messages, hiding them for
    /// `visibility_timeout` (1 second to 7 days, whole seconds). Returns no
    /// messages when none is visible.
    pub async fn receive(
        &self,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<QueueMessage>, QueueError> {
        let max = message_count(max)?;
        let visibility = seconds("visibility_timeout", visibility_timeout, 1)?;
        let query = [
            ("numofmessages", max.to_string()),
            ("visibilitytimeout", visibility.to_string()),
        ];
        let response = self.call(Method::GET, "/messages", &query, None).await?;
        let response = self.expect(response, StatusCode::OK)?;
        self.parse_list(&response)?
            .iter()
            .map(|r| {
                Ok(QueueMessage::new(
                    self.encoding,
                    text_field(r, "MessageId")?.to_owned(),
                    text_field(r, "PopReceipt")?.to_owned(),
                    count_field(r)?,
                    [
                        time_field(r, "InsertionTime")?,
                        time_field(r, "ExpirationTime")?,
                        time_field(r, "TimeNextVisible")?,
                    ],
                    text_field(r, "MessageText")?.to_owned(),
                ))
            })
            .collect()
    }

    /// Looks at up to `max` (1 to 32) visible messages without receiving
    /// them.
    pub async fn peek(&self, max: u32) -> Result<Vec<PeekedMessage>, QueueError> {
        let max = message_count(max)?;
        let query = [
            ("peekonly", "true".to_owned()),
            ("numofmessages", max.to_string()),
        ];
        let response = self.call(Method::GET, "/messages", &query, None).await?;
        let response = self.expect(response, StatusCode::OK)?;
        self.parse_list(&response)?
            .iter()
            .map(|r| {
                let text = text_field(r, "MessageText")?.to_owned();
                Ok(PeekedMessage {
                    id: text_field(r, "MessageId")?.to_owned(),
                    dequeue_count: count_field(r)?,
                    insertion_time: time_field(r, "InsertionTime")?,
                    expiration_time: time_field(r, "ExpirationTime")?,
                    body: self.encoding.decode(&text),
                    text,
                })
            })
            .collect()
    }

    /// Deletes a received message. Fails with
    /// [`codes::MESSAGE_NOT_FOUND`] or [`codes::POP_RECEIPT_MISMATCH`] when
    /// it is gone or was received again since.
    pub async fn delete_message(&self, id: &str, pop_receipt: &str) -> Result<(), QueueError> {
        let path = message_path(id);
        let query = [("popreceipt", pop_receipt.to_owned())];
        let response = self.call(Method::DELETE, &path, &query, None).await?;
        self.expect(response, StatusCode::NO_CONTENT).map(drop)
    }

    /// Changes a received message's visibility timeout (0 makes it visible
    /// at once, at most 7 days) and, with `new_body`, its content (encoded
    /// with the queue's encoding). The old pop receipt is void afterwards.
    pub async fn update_message(
        &self,
        id: &str,
        pop_receipt: &str,
        visibility_timeout: Duration,
        new_body: Option<&[u8]>,
    ) -> Result<UpdatedMessage, QueueError> {
        let visibility = seconds("visibility_timeout", visibility_timeout, 0)?;
        let body = match new_body {
            Some(body) => Some(Bytes::from(xml::message_request(
                &self.encoding.encode(body)?,
            ))),
            None => None,
        };
        let path = message_path(id);
        let query = [
            ("popreceipt", pop_receipt.to_owned()),
            ("visibilitytimeout", visibility.to_string()),
        ];
        let response = self.call(Method::PUT, &path, &query, body).await?;
        let response = self.expect(response, StatusCode::NO_CONTENT)?;
        let header = |name: &str| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| QueueError::Protocol(format!("Update Message returned no {name}")))
        };
        Ok(UpdatedMessage {
            pop_receipt: header("x-ms-popreceipt")?.to_owned(),
            next_visible_time: parse_time(
                "x-ms-time-next-visible",
                header("x-ms-time-next-visible")?,
            )?,
        })
    }

    /// Deletes every message in the queue.
    pub async fn clear(&self) -> Result<(), QueueError> {
        let response = self.call(Method::DELETE, "/messages", &[], None).await?;
        self.expect(response, StatusCode::NO_CONTENT).map(drop)
    }

    /// Moves a received message to the poison queue as the Functions host
    /// does: its text, unchanged (even when it does not decode), goes to
    /// `{name}-poison` (created if needed), then the original is deleted.
    /// Returns the copy.
    pub async fn move_to_poison(&self, message: &QueueMessage) -> Result<SentMessage, QueueError> {
        let poison = self.poison_queue()?;
        let options = SendOptions::default();
        let copy = match poison.send_text(message.text(), &options).await {
            Err(e) if e.has_code(codes::QUEUE_NOT_FOUND) => {
                poison.create().await?;
                poison.send_text(message.text(), &options).await?
            }
            other => other?,
        };
        self.delete_message(&message.id, &message.pop_receipt)
            .await?;
        Ok(copy)
    }

    /// Sends a request about this queue (`suffix` after `/{name}`) and
    /// returns the response whatever its status.
    async fn call(
        &self,
        method: Method,
        suffix: &str,
        query: &[(&str, String)],
        body: Option<Bytes>,
    ) -> Result<Response, QueueError> {
        let service = &self.service.inner;
        let mut uri = format!(
            "{}/{}{suffix}",
            service.config.queue_endpoint.url(),
            self.name
        );
        for (i, (name, value)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(name);
            uri.push('=');
            uri.extend(utf8_percent_encode(value, COMPONENT));
        }
        let call = Call {
            method,
            uri: uri
                .parse()
                .map_err(|e| QueueError::Protocol(format!("cannot build the request URI: {e}")))?,
            body,
        };
        service
            .transport
            .send(|| service.request(&call))
            .await
            .map_err(|e| match e {
                SendError::Unreachable(why) => QueueError::Transport(why),
                SendError::Timeout(after) => QueueError::Timeout(after),
            })
    }

    /// The response if it has the expected status, else its error.
    fn expect(&self, response: Response, status: StatusCode) -> Result<Response, QueueError> {
        if response.status == status {
            Ok(response)
        } else {
            Err(self.error(&response))
        }
    }

    /// The error a non-success response stands for, from its
    /// `x-ms-error-code` header and `<Error><Code/><Message/></Error>` body.
    fn error(&self, response: &Response) -> QueueError {
        let record = xml::records(&response.body, "Error")
            .ok()
            .and_then(|mut records| records.pop())
            .unwrap_or_default();
        let code = response
            .headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .or_else(|| field(&record, "Code"))
            .map(str::to_owned);
        let message = field(&record, "Message")
            .and_then(|m| m.lines().next())
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| {
                response
                    .status
                    .canonical_reason()
                    .unwrap_or("no details")
                    .to_owned()
            });
        QueueError::Service {
            queue: Some(self.name.clone()),
            status: response.status.as_u16(),
            code,
            message,
        }
    }

    fn parse_list(&self, response: &Response) -> Result<Vec<Record>, QueueError> {
        xml::records(&response.body, "QueueMessage").map_err(QueueError::Protocol)
    }
}

impl Inner {
    /// The signed request for one attempt.
    fn request(&self, call: &Call) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(call.uri.clone())
            .header("x-ms-date", x_ms_date())
            .header("x-ms-version", API_VERSION)
            .header(header::ACCEPT, "application/xml");
        let body = call.body.clone().unwrap_or_default();
        if call.body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/xml; charset=utf-8");
        }
        if call.body.is_some() || matches!(call.method, Method::PUT | Method::POST) {
            builder = builder.header(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let mut request = builder
            .body(Full::new(body))
            .expect("a parsed URI and ASCII header values make a valid request");
        self.config
            .sign(Service::Queue, Scheme::SharedKey, &mut request);
        request
    }
}

fn message_path(id: &str) -> String {
    format!("/messages/{}", utf8_percent_encode(id, COMPONENT))
}

fn invalid(argument: &'static str, reason: &str) -> QueueError {
    QueueError::InvalidArgument {
        argument,
        reason: reason.to_owned(),
    }
}

/// A duration as the whole seconds the service takes, checked against its
/// range (`min` seconds to seven days).
fn seconds(argument: &'static str, duration: Duration, min: u64) -> Result<u64, QueueError> {
    let secs = duration.as_secs();
    if secs < min || duration > MAX_VISIBILITY_TIMEOUT {
        return Err(invalid(
            argument,
            &format!("must be {min} seconds to 7 days (whole seconds), not {duration:?}"),
        ));
    }
    Ok(secs)
}

fn message_count(max: u32) -> Result<u32, QueueError> {
    if !(1..=MAX_MESSAGES_PER_CALL).contains(&max) {
        return Err(invalid(
            "max",
            &format!("must be 1 to {MAX_MESSAGES_PER_CALL} messages, not {max}"),
        ));
    }
    Ok(max)
}

fn text_field<'r>(record: &'r Record, name: &str) -> Result<&'r str, QueueError> {
    field(record, name).ok_or_else(|| QueueError::Protocol(format!("a message has no <{name}>")))
}

fn time_field(record: &Record, name: &str) -> Result<DateTime<Utc>, QueueError> {
    parse_time(name, text_field(record, name)?)
}

fn count_field(record: &Record) -> Result<u64, QueueError> {
    text_field(record, "DequeueCount")?
        .trim()
        .parse()
        .map_err(|_| QueueError::Protocol("<DequeueCount> is not a number".to_owned()))
}

/// An RFC 1123 time (`Fri, 09 Oct 2009 21:04:30 GMT`).
fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, QueueError> {
    DateTime::parse_from_rfc2822(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| QueueError::Protocol(format!("{name} {value:?} is not an RFC 1123 time: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names() {
        for good in ["abc", "orders-poison", "a1-b2-c3", &"a".repeat(63)] {
            assert!(validate_queue_name(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Orders",
            "-abc",
            "abc-",
            "a--b",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(validate_queue_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_needs_tls() {
        let config = AccountConfig::new("acct", "c2VjcmV0LWtleS1kby1ub3QtbGVhaw==").expect("valid");
        let err = QueueService::new(config).expect_err("https refused");
        assert_eq!(
            err.to_string(),
            "https queue endpoints need the `tls` feature"
        );
    }

    #[test]
    fn argument_ranges() {
        assert!(message_count(0).is_err());
        assert!(message_count(33).is_err());
        assert_eq!(message_count(32).expect("max"), 32);
        assert!(seconds("v", Duration::from_millis(999), 1).is_err());
        assert_eq!(
            seconds("v", Duration::from_millis(1999), 1).expect("1 s"),
            1
        );
        assert_eq!(seconds("v", Duration::ZERO, 0).expect("zero"), 0);
        assert!(seconds("v", MAX_VISIBILITY_TIMEOUT + Duration::from_secs(1), 0).is_err());
        assert_eq!(
            parse_time("t", "Fri, 09 Oct 2009 21:04:30 GMT")
                .expect("parses")
                .to_rfc3339(),
            "2009-10-09T21:04:30+00:00"
        );
        assert!(parse_time("t", "yesterday").is_err());
    }

    #[test]
    fn poison_queue_names() {
        let service = QueueService::new(AccountConfig::development()).expect("http");
        let queue = service
            .queue("orders")
            .expect("valid")
            .with_encoding(MessageEncoding::None);
        let poison = queue.poison_queue().expect("valid");
        assert_eq!(poison.name(), "orders-poison");
        assert_eq!(poison.encoding(), MessageEncoding::None);
        let long = service.queue(&"q".repeat(60)).expect("valid");
        assert!(matches!(
            long.poison_queue(),
            Err(QueueError::InvalidQueueName { .. })
        ));
    }
}
