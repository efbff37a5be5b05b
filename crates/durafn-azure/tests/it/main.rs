//! The Azure Storage clients against Azurite, in one binary: the queue client and request
//! signing by every scheme.

// Tests may unwrap: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod azurite_queue;
mod azurite_signing;
mod common;
