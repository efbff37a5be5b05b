//! What an app's HTTP functions are made of: the trigger and handler types, the request and
//! response, and the durable client a handler is given.

pub(crate) mod durable_http;
pub(crate) mod http_function;
pub(crate) mod request;
