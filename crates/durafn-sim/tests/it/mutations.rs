//! Planted bugs: each must make some seed fail within 1,000 seeds. Only in a build with
//! `RUSTFLAGS='--cfg durafn_mutation'` (each test plants its bug for its own process, which is
//! how nextest runs tests).

#![cfg(durafn_mutation)]

use durafn_sim::{Faults, check_seed, plant};

fn caught(name: &str) {
    plant(Some(name));
    let faults = Faults::default();
    for seed in 0..1000 {
        let report = check_seed(seed, &faults);
        if let Some(first) = report.failures.first() {
            println!("mutation {name}: caught by seed {seed}: {first}");
            return;
        }
    }
    panic!("mutation {name} was not caught in 1,000 seeds");
}

#[test]
fn a_turn_that_keeps_its_consumed_messages_is_caught() {
    caught("keep_consumed");
}

#[test]
fn a_timer_delivered_to_another_execution_is_caught() {
    caught("timer_any_execution");
}

#[test]
fn a_forgotten_delivery_count_is_caught() {
    caught("forget_deliveries");
}

#[test]
fn a_lock_granted_to_an_ended_orchestration_and_kept_is_caught() {
    caught("keep_orphan_locks");
}

#[test]
fn a_commit_under_a_lost_lease_is_caught() {
    caught("commit_without_lease");
}

#[test]
fn a_stale_cached_executor_is_caught() {
    caught("stale_cache");
}

/// Only the per-turn replay check sees this one: the final rows and histories are right but for
/// the custom status the finishing turn wrote.
#[test]
fn a_finishing_turn_that_forgets_its_custom_status_is_caught() {
    caught("stale_final_custom_status");
}
