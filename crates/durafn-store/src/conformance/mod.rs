//! The conformance suite: the storage contract as executable checks, one module per clause.
//!
//! A backend's tests call [`conformance_tests!`](crate::conformance_tests) with an expression
//! that makes a [`Fixture`]: a fresh, empty store together with what it lives in (a temporary
//! directory, a schema), which the fixture drops after the store. Every check then runs as its
//! own test. Time is passed in, so lease expiry and timers are tested without waiting.

pub mod activities;
pub mod admin;
mod fixture;
pub mod handoff;
pub mod inspect;
pub mod instances;
pub mod leases;
mod support;
pub mod turns;
pub mod visibility;

pub use fixture::Fixture;

/// Generates one `#[tokio::test]` per conformance check for a backend, each on the fixture the
/// expression makes (an expression of a future of [`Fixture`]; it may `return` to skip).
///
/// ```ignore
/// durafn_store::conformance_tests!(async { Fixture::new(std::sync::Arc::new(MyStore::new())) });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            instances::create_and_fetch,
            instances::create_refuses_active_and_replaces_terminal,
            instances::messages_to_unknown_instances,
            instances::history_round_trips_verbatim,
            instances::histories_come_back_in_the_order_asked,
            instances::version_and_trace_context_are_kept,
            instances::create_and_claim_leases_the_first_turn,
            turns::commit_applies_everything_atomically,
            turns::replace_history_resets_it,
            turns::sub_orchestrations,
            turns::group_commit_results_are_independent,
            handoff::commit_claims_the_turns_it_makes_due,
            leases::instance_lease_is_exclusive_until_it_expires,
            leases::stale_lock_commit_changes_nothing,
            leases::messages_during_lease_wait_for_next_fetch,
            leases::abandon_releases_work,
            activities::activity_lease_and_completion,
            activities::activity_trace_context_is_kept,
            activities::commit_claims_its_activities,
            activities::completion_claims_the_next_turn,
            visibility::timers_are_invisible_until_due,
            visibility::fetch_batches_instances,
            admin::list_filters_and_pages,
            admin::list_filters_by_version,
            admin::purge_one_and_many,
            admin::count_by_status,
            inspect::inspect_queries_order_search_and_count,
            inspect::inspect_instance_work_and_hub_health,
        );
    };
    (@each $make:expr; $($clause:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture: $crate::conformance::Fixture = $make.await;
                $crate::conformance::$clause::$name(&fixture).await;
            }
        )*
    };
}
