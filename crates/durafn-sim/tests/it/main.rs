//! The simulator's tests: a seed repeats exactly, faults really happen, a block of seeds is
//! clean, the regression seeds stay clean, and (in a build with `--cfg durafn_mutation`) every
//! planted bug is caught.

mod mutations;

use durafn_sim::{Faults, check_seed, oracle, run, workload};

#[test]
fn a_seed_repeats_exactly() {
    let faults = Faults::default();
    for seed in [3, 11] {
        let first = run(seed, &faults, true);
        let second = run(seed, &faults, true);
        assert!(first.trace.len() > 100, "a run has a real trace");
        assert_eq!(first.trace, second.trace, "seed {seed}: the traces differ");
        assert_eq!(
            format!("{:?}", first.rows),
            format!("{:?}", second.rows),
            "seed {seed}: the task hubs differ"
        );
        assert_eq!(first.events, second.events);
    }
    let other = run(4, &faults, true);
    assert_ne!(run(3, &faults, true).trace, other.trace, "seeds differ");
}

#[test]
fn every_kind_of_fault_happens() {
    let faults = Faults::default();
    let mut trace = Vec::new();
    for seed in 0..40 {
        trace.extend(run(seed, &faults, true).trace);
    }
    for fault in [
        "CRASH at",
        "FREEZE for",
        "DUPLICATE",
        "its reply was lost",
        "failed before doing anything",
        "slow ",
        "FAIL activity",
        "HANG activity",
        "client",
        "start h1.",
    ] {
        assert!(
            trace.iter().any(|l| l.contains(fault)),
            "no '{fault}' in 40 seeds"
        );
    }
}

#[test]
fn fault_free_runs_reach_the_model() {
    for seed in 0..30 {
        let report = check_seed(seed, &Faults::none());
        assert!(
            report.failures.is_empty(),
            "seed {seed}: {:?}",
            report.failures
        );
    }
}

/// The CI-sized block (the full 500-seed slice runs in release from `.ci/run`).
#[test]
fn a_block_of_seeds_is_clean() {
    let faults = Faults::default();
    let failed: Vec<String> = (1000..1100)
        .map(|seed| check_seed(seed, &faults))
        .filter(|r| !r.failures.is_empty())
        .map(|r| format!("seed {}: {:?}", r.seed, r.failures))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Seeds that once failed, each with the bug it found (tests/seeds.txt).
#[test]
fn regression_seeds_stay_clean() {
    let text = include_str!("../seeds.txt");
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let seed: u64 = parts.next().and_then(|s| s.parse().ok()).expect("a seed");
        let spec = parts.next().filter(|s| !s.starts_with('#')).unwrap_or("");
        let faults = Faults::default().apply(spec).expect("a fault spec");
        let report = check_seed(seed, &faults);
        assert!(
            report.failures.is_empty(),
            "seed {seed}: {:?}",
            report.failures
        );
    }
}

#[test]
fn the_oracle_sees_a_task_resolved_twice_and_unfinished_work() {
    use durafn_core::{EventId, EventKind, HistoryEvent, Payload};
    let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let mut scheduled = HistoryEvent::new(
        at,
        EventKind::TaskScheduled {
            name: "add".into(),
            input: Payload::default(),
        },
    );
    scheduled.event_id = EventId(0);
    let done = HistoryEvent::new(
        at,
        EventKind::TaskCompleted {
            task_scheduled_id: EventId(0),
            result: Payload::default(),
        },
    );
    let problems = oracle::history_problems(&[scheduled, done.clone(), done]);
    assert!(
        problems.iter().any(|p| p.contains("resolved twice")),
        "{problems:?}"
    );

    let mut record = run(5, &Faults::none(), false);
    assert!(oracle::check(&record, &workload::registry()).is_empty());
    record.finished = false;
    let failures = oracle::check(&record, &workload::registry());
    assert!(
        failures.iter().any(|f| f.starts_with("liveness")),
        "{failures:?}"
    );
}

#[test]
fn every_committed_turn_is_replayed_and_a_wrong_one_is_seen() {
    use durafn_core::{Payload, RuntimeStatus};
    let registry = workload::registry();
    let record = run(5, &Faults::default(), false);
    assert!(record.turns.len() > 20, "{} turns", record.turns.len());
    assert!(oracle::turn_problems(&record, &registry).is_empty());

    // A turn whose row says something its history does not replay to.
    let mut wrong_status = run(5, &Faults::default(), false);
    let turn = wrong_status
        .turns
        .iter_mut()
        .find(|t| t.update.status == RuntimeStatus::Running)
        .expect("a running turn");
    turn.update.status = RuntimeStatus::Completed;
    let problems = oracle::turn_problems(&wrong_status, &registry);
    assert!(
        problems.iter().any(|p| p.contains("replays to Running")),
        "{problems:?}"
    );

    let mut wrong_custom = run(5, &Faults::default(), false);
    let turn = wrong_custom
        .turns
        .iter_mut()
        .find(|t| t.update.status == RuntimeStatus::Running)
        .expect("a running turn");
    turn.update.custom_status = Some(Payload::encode(&"not what the code said").expect("json"));
    let problems = oracle::turn_problems(&wrong_custom, &registry);
    assert!(
        problems.iter().any(|p| p.contains("custom status")),
        "{problems:?}"
    );

    // A history that lost the call its turn scheduled no longer replays.
    let mut lost_call = run(5, &Faults::default(), false);
    let turn = lost_call
        .turns
        .iter_mut()
        .find(|t| t.history.iter().any(|e| e.kind.is_scheduling()))
        .expect("a turn that scheduled something");
    let at = turn
        .history
        .iter()
        .position(|e| e.kind.is_scheduling())
        .expect("a scheduling event");
    turn.history.remove(at);
    let problems = oracle::turn_problems(&lost_call, &registry);
    assert!(
        problems.iter().any(|p| p.contains("does not replay")),
        "{problems:?}"
    );
}

#[test]
fn durable_http_meets_every_kind_of_answer() {
    use durafn_sim::workload::Job;
    let faults = Faults::default();
    let (mut trace, mut jobs) = (Vec::new(), Vec::new());
    for seed in 0..40 {
        let record = run(seed, &faults, true);
        trace.extend(record.trace);
        jobs.extend(record.jobs.into_iter().filter_map(|j| match j {
            Job::Http(spec) => Some(spec),
            _ => None,
        }));
    }
    assert!(jobs.iter().any(|s| s.fails > 0), "no 503 answers");
    assert!(jobs.iter().any(|s| s.polls > 1), "no 202 polling");
    assert!(
        jobs.iter().any(|s| s.delay > s.timeout),
        "no timed-out call"
    );
    assert!(
        jobs.iter().any(|s| s.delay > 0 && s.delay < s.timeout),
        "no slow answer in time"
    );
    for line in ["http GET", "REFUSE http", "slow http", "/poll?left="] {
        assert!(
            trace.iter().any(|l| l.contains(line)),
            "no '{line}' in 40 seeds"
        );
    }
}
