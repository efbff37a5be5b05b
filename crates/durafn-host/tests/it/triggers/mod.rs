//! Queue and timer triggers and queue output: in-process hosts and real host processes against
//! Azurite's queue service (`DURAFN_TEST_AZURITE`) and a shared PostgreSQL task hub
//! (`DURAFN_TEST_POSTGRES_URL`); timers against an injected clock.

mod common;
mod output;
mod queue_processes;
mod queues;
mod timers;
