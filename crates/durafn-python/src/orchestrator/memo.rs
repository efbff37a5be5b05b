//! The SDK's answers of recent turns, by instance, so a turn asks the worker only about itself.
//! It only saves work: a turn whose instance is not here (evicted, another host ran the last
//! turn, the host restarted) asks again and plans the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::walk::Answers;

struct Entry {
    answers: Answers,
    stamp: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    clock: u64,
}

/// A bounded map from instance to its answers, least recently used evicted.
pub(crate) struct Memo {
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Memo {
    /// Keeps the answers of up to `capacity` instances (0 keeps none).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes the answers of `instance` out (empty ones if there are none).
    pub(crate) fn take(&self, instance: &str) -> Answers {
        let mut inner = self.lock();
        match inner.entries.remove(instance) {
            Some(entry) => {
                inner.order.remove(&entry.stamp);
                entry.answers
            }
            None => Answers::default(),
        }
    }

    /// Puts the answers of `instance` back.
    pub(crate) fn put(&self, instance: &str, answers: Answers) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let stamp = inner.clock;
        if let Some(old) = inner
            .entries
            .insert(instance.to_string(), Entry { answers, stamp })
        {
            inner.order.remove(&old.stamp);
        }
        inner.order.insert(stamp, instance.to_string());
        while inner.entries.len() > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
    }

    /// How many instances have answers kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_instance_is_evicted() {
        let memo = Memo::new(2);
        memo.put("a", Answers::default());
        memo.put("b", Answers::default());
        let a = memo.take("a");
        memo.put("a", a);
        memo.put("c", Answers::default());
        assert_eq!(memo.len(), 2);
        assert!(memo.lock().entries.contains_key("a"));
        assert!(!memo.lock().entries.contains_key("b"));
        let none = Memo::new(0);
        none.put("a", Answers::default());
        assert_eq!(none.len(), 0);
    }
}
