//! A callback that an event loop keeps in its table and takes out to run
//! without holding the table's lock, and that may be removed at any moment,
//! even while it runs: then it is dropped (its `virFreeCallback` called) by
//! whoever runs it, once it has returned, never while it runs. Both loops
//! (the built-in one and the application's, through the C layer) keep their
//! callbacks this way.

pub enum Parked<C> {
    /// In the table, ready to be called.
    Idle(C),
    /// Taken out by the thread running it.
    Running,
    /// Removed while running: the runner drops it when it returns.
    RemovedWhileRunning,
}

/// What removing a parked callback means for its owner.
pub enum Removal<C> {
    /// It was idle: drop it now, and its table entry with it.
    Now(C),
    /// It is running: the runner drops it when it returns.
    Deferred,
    /// It was already removed.
    AlreadyRemoved,
}

impl<C> Parked<C> {
    pub fn is_idle(&self) -> bool {
        matches!(self, Parked::Idle(_))
    }

    pub fn is_removed(&self) -> bool {
        matches!(self, Parked::RemovedWhileRunning)
    }

    /// Takes the callback out to run it, if it is idle.
    pub fn take(&mut self) -> Option<C> {
        match std::mem::replace(self, Parked::Running) {
            Parked::Idle(callback) => Some(callback),
            other => {
                *self = other;
                None
            }
        }
    }

    pub fn remove(&mut self) -> Removal<C> {
        match std::mem::replace(self, Parked::RemovedWhileRunning) {
            Parked::Idle(callback) => Removal::Now(callback),
            Parked::Running => Removal::Deferred,
            Parked::RemovedWhileRunning => Removal::AlreadyRemoved,
        }
    }

    /// Puts back a callback that returned (only the thread that took it
    /// does): `None` when it is parked again, or the callback, to be dropped
    /// with its table entry, when it was removed meanwhile.
    pub fn put_back(&mut self, callback: C) -> Option<C> {
        match self {
            Parked::Running => {
                *self = Parked::Idle(callback);
                None
            }
            Parked::RemovedWhileRunning | Parked::Idle(_) => Some(callback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_while_running_is_left_to_the_runner() {
        let mut slot = Parked::Idle("cb");
        assert_eq!(slot.take(), Some("cb"));
        assert_eq!(slot.take(), None, "taken once");
        assert!(matches!(slot.remove(), Removal::Deferred));
        assert!(matches!(slot.remove(), Removal::AlreadyRemoved));
        assert_eq!(slot.put_back("cb"), Some("cb"), "the runner drops it");
    }

    #[test]
    fn an_idle_callback_is_removed_at_once_and_a_returning_one_parked_again() {
        let mut slot = Parked::Idle("cb");
        let callback = slot.take().unwrap();
        assert_eq!(slot.put_back(callback), None);
        assert!(slot.is_idle());
        assert!(matches!(slot.remove(), Removal::Now("cb")));
    }
}
