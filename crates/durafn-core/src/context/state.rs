//! The state an orchestration's durable futures share with the engine.
//!
//! Durable calls register themselves here when they are made (eagerly, as in Durable Functions:
//! calling `call_activity` schedules the activity even before the future is awaited), and the
//! engine delivers results here as it applies history events. Results wake the waiting future's
//! waker, so any executor-agnostic combinator works inside orchestrators.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::task::Waker;

use chrono::{DateTime, Utc};

use crate::action::Action;
use crate::failure::FailureDetails;
use crate::ids::{ExecutionId, InstanceId};
use crate::payload::Payload;

/// The outcome of a task as recorded in history.
pub(crate) type TaskResult = Result<Payload, FailureDetails>;

/// A place for one result and the waker of the future waiting for it.
pub(crate) struct Slot<T> {
    pub(crate) result: Option<T>,
    pub(crate) waker: Option<Waker>,
}

impl<T> Slot<T> {
    pub(crate) fn empty() -> Self {
        Self {
            result: None,
            waker: None,
        }
    }

    /// Stores the result and hands back the waker to call once the state lock is released.
    pub(crate) fn fill(&mut self, value: T) -> Option<Waker> {
        self.result = Some(value);
        self.waker.take()
    }
}

pub(crate) struct State {
    pub(crate) instance_id: InstanceId,
    pub(crate) execution_id: ExecutionId,
    pub(crate) name: String,
    /// The version the instance was started with.
    pub(crate) version: Option<String>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) replaying: bool,
    pub(crate) next_seq: i64,
    /// Actions issued by the code and not yet recorded in (or matched against) history.
    pub(crate) unmatched: BTreeMap<i64, Action>,
    /// Activities, timers and sub-orchestrations still awaited, by sequence number.
    pub(crate) tasks: HashMap<i64, Slot<TaskResult>>,
    /// Waiters for external events, by lower-cased event name, oldest first.
    pub(crate) waiters: HashMap<String, VecDeque<u64>>,
    pub(crate) waiter_slots: HashMap<u64, Slot<Payload>>,
    pub(crate) next_waiter: u64,
    /// Events that arrived before anyone waited for them, in arrival order.
    pub(crate) buffered: VecDeque<(String, Payload)>,
    pub(crate) custom_status: Option<Payload>,
    pub(crate) continue_as_new: Option<(Payload, bool)>,
    /// What the orchestrator's `prepare_turn` produced for the current turn.
    pub(crate) prepared: Option<Payload>,
    pub(crate) guid_counter: u64,
    /// The critical section: entities requested or held by this orchestration.
    pub(crate) locks: Locks,
    /// Patch markers, see [`Patches`].
    pub(crate) patches: Patches,
    /// Where in the source each durable call was made, by sequence number (for replay reports).
    pub(crate) locations: HashMap<i64, &'static std::panic::Location<'static>>,
    /// The location of the durable call being made, set by its `#[track_caller]` entry point.
    pub(crate) caller: Option<&'static std::panic::Location<'static>>,
    /// Retries a retry policy decided on in the current turn (not in replay): the runtime's
    /// retries counter.
    pub(crate) new_retries: u32,
}

/// What `is_patched` knows: the markers this execution's history holds, the answer given for
/// each patch id (an execution answers the same every time it asks), and the markers reached
/// for the first time in this turn, to be recorded.
#[derive(Default)]
pub(crate) struct Patches {
    pub(crate) recorded: HashSet<String>,
    pub(crate) answers: HashMap<String, bool>,
    pub(crate) new: Vec<String>,
}

/// Where the orchestration stands with entity locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Locks {
    None,
    Requested(Vec<InstanceId>),
    Held(Vec<InstanceId>),
}

/// Event names match ignoring case, as in Durable Functions.
pub(crate) fn event_key(name: &str) -> String {
    name.to_lowercase()
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            instance_id: InstanceId::from_trusted(""),
            execution_id: ExecutionId::new(""),
            name: String::new(),
            version: None,
            now: DateTime::<Utc>::MIN_UTC,
            replaying: false,
            next_seq: 0,
            unmatched: BTreeMap::new(),
            tasks: HashMap::new(),
            waiters: HashMap::new(),
            waiter_slots: HashMap::new(),
            next_waiter: 0,
            buffered: VecDeque::new(),
            custom_status: None,
            continue_as_new: None,
            prepared: None,
            guid_counter: 0,
            locks: Locks::None,
            patches: Patches::default(),
            locations: HashMap::new(),
            caller: None,
            new_retries: 0,
        }
    }

    /// Records a new action and opens a slot for its result if it has one.
    pub(crate) fn issue(
        &mut self,
        make: impl FnOnce(crate::ids::EventId) -> Action,
        awaited: bool,
    ) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(caller) = self.caller.take() {
            self.locations.insert(seq, caller);
        }
        self.unmatched.insert(seq, make(crate::ids::EventId(seq)));
        if awaited {
            self.tasks.insert(seq, Slot::empty());
        }
        seq
    }

    /// Whether the code takes the patched path at `patch_id`: yes if history records the
    /// marker, no if this is replay of a history that lacks it (old code ran here), and yes,
    /// recording the marker, when new code reaches it for the first time. `deprecated` patches
    /// always take the new path (and still record their marker, so the build before can replay).
    pub(crate) fn patched(&mut self, patch_id: &str, deprecated: bool) -> bool {
        if let Some(&answer) = self.patches.answers.get(patch_id) {
            return answer || deprecated;
        }
        let answer = if self.patches.recorded.contains(patch_id) {
            true
        } else if self.replaying {
            deprecated
        } else {
            self.patches.recorded.insert(patch_id.to_string());
            self.patches.new.push(patch_id.to_string());
            true
        };
        self.patches.answers.insert(patch_id.to_string(), answer);
        answer
    }

    /// Delivers a task result; a result nobody waits for any more (a dropped future, a cancelled
    /// timer) is ignored.
    pub(crate) fn complete_task(&mut self, seq: i64, result: TaskResult) -> Option<Waker> {
        self.tasks.get_mut(&seq).and_then(|slot| slot.fill(result))
    }

    /// Delivers an external event to its oldest waiter, or buffers it.
    pub(crate) fn raise_event(&mut self, name: &str, data: Payload) -> Option<Waker> {
        let key = event_key(name);
        if let Some(id) = self.waiters.get_mut(&key).and_then(VecDeque::pop_front) {
            if let Some(slot) = self.waiter_slots.get_mut(&id) {
                return slot.fill(data);
            }
        }
        self.buffered.push_back((name.to_string(), data));
        None
    }

    /// Registers a waiter for an event, or takes a buffered one at once.
    pub(crate) fn wait_event(&mut self, name: &str) -> Result<Payload, u64> {
        let key = event_key(name);
        if let Some(pos) = self.buffered.iter().position(|(n, _)| event_key(n) == key) {
            if let Some((_, data)) = self.buffered.remove(pos) {
                return Ok(data);
            }
        }
        let id = self.next_waiter;
        self.next_waiter += 1;
        self.waiters.entry(key).or_default().push_back(id);
        self.waiter_slots.insert(id, Slot::empty());
        Err(id)
    }

    /// Forgets a waiter whose future was dropped, so it does not swallow a later event.
    pub(crate) fn cancel_wait(&mut self, name: &str, id: u64) {
        if let Some(slot) = self.waiter_slots.remove(&id) {
            if let Some(data) = slot.result {
                // Delivered but never observed: the event is not lost, it goes back to the front.
                self.buffered.push_front((name.to_string(), data));
            }
        }
        if let Some(queue) = self.waiters.get_mut(&event_key(name)) {
            queue.retain(|w| *w != id);
        }
    }
}
