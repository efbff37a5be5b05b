//! The Azure Storage clients against Azurite, in one binary: the queue client and request
//! signing by every scheme.

mod azurite_queue;
mod azurite_signing;
mod common;
