//! The source that watches an embed root for monitor sockets appearing and
//! going away.

use std::os::unix::io::RawFd;
use std::sync::Arc;
use std::time::Instant;

use super::source::{Action, Call, Next, Notice, Removal, Source};
use crate::driver::qemu::root::{Root, MONITOR_SUFFIX};
use crate::sys::{DirChange, Epoll, Inotify};

pub(super) struct RootWatch {
    root: Arc<Root>,
    inotify: Inotify,
}

impl RootWatch {
    /// Watches `root`; returns the watch and the names already there.
    pub(super) fn new(root: Arc<Root>) -> std::io::Result<(RootWatch, Vec<String>)> {
        let inotify = Inotify::watch(&root.dir)?;
        let names = std::fs::read_dir(&root.dir)
            .map(|entries| entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        Ok((RootWatch { root, inotify }, names))
    }
}

impl Source for RootWatch {
    fn fd(&self) -> Option<(RawFd, u32)> {
        Some((self.inotify.fd(), Epoll::IN))
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn ready(&mut self, _events: u32, call: &mut Call) -> Next {
        for change in self.inotify.changes() {
            call.then.push(match change {
                DirChange::Appeared(file) => Action::Consider { root: self.root.clone(), file },
                DirChange::Vanished(file) => match file.strip_suffix(MONITOR_SUFFIX) {
                    Some(name) => Action::SocketGone { root: self.root.clone(), name: name.to_owned() },
                    None => continue,
                },
            });
        }
        Next::Keep
    }

    fn expired(&mut self, _now: Instant) -> Next {
        Next::Keep
    }

    fn notify(&mut self, _notice: Notice, _call: &mut Call) -> Next {
        Next::Keep
    }

    fn owner(&self) -> (&Arc<Root>, Option<&str>) {
        (&self.root, None)
    }

    fn removed(&mut self, _why: Removal) {}
}
