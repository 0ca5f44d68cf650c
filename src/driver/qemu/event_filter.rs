//! The event-name filter of raw QEMU monitor-event registrations
//! (`virConnectDomainQemuMonitorEventRegister`'s `event` and `flags`).

use std::sync::Arc;

use regex::RegexBuilder;

use crate::abi::qemu::virConnectDomainQemuMonitorEventRegisterFlags as Flags;
use crate::driver::check_flags;
use crate::error::{Error, ErrorDomain, Result};
use crate::event::state::EventFilter;
use crate::event::Event;

const REGEX: u32 = Flags::VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX as u32;
const NOCASE: u32 = Flags::VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE as u32;

/// The filter a registration for `event` with `flags` applies: none when
/// `event` is NULL (every event; libvirt then also checks the registration
/// for duplicates), else an exact, ASCII case-insensitive (`NOCASE`) or
/// regular-expression (`REGEX`, unanchored, `NOCASE` making it caseless)
/// match of the event's name. libvirt compiles the expression with GLib's
/// PCRE-based GRegex; the `regex` crate accepts the same common syntax
/// (classes, `\d`, `(?i)`, alternation, repetition) but not backreferences
/// or look-around.
pub fn name_filter(event: Option<&str>, flags: u32) -> Result<Option<EventFilter>> {
    // libvirt checks the flags where it builds the filter, and names that
    // function in the message.
    check_flags(flags, REGEX | NOCASE, "virDomainQemuMonitorEventStateRegisterID", ErrorDomain::VIR_FROM_NONE)?;
    let Some(event) = event else { return Ok(None) };
    let wanted = event.to_string();
    let matches: EventFilter = if flags & REGEX != 0 {
        let regex = RegexBuilder::new(event).case_insensitive(flags & NOCASE != 0).build().map_err(|e| {
            Error::invalid_arg(ErrorDomain::VIR_FROM_NONE, format!("failed to compile regex '{event}': {e}"))
        })?;
        Arc::new(move |e: &Event| name_of(e).is_some_and(|name| regex.is_match(name)))
    } else if flags & NOCASE != 0 {
        Arc::new(move |e: &Event| name_of(e).is_some_and(|name| name.eq_ignore_ascii_case(&wanted)))
    } else {
        Arc::new(move |e: &Event| name_of(e) == Some(wanted.as_str()))
    };
    Ok(Some(matches))
}

fn name_of(event: &Event) -> Option<&str> {
    match event {
        Event::QemuMonitor(event) => Some(&event.name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DomainIdentity, QemuMonitorEvent};
    use crate::uuid::Uuid;

    fn event(name: &str) -> Event {
        let domain = DomainIdentity { name: "vm".into(), uuid: Uuid::from_name("vm"), id: 1 };
        Event::QemuMonitor(QemuMonitorEvent { domain, name: name.into(), seconds: 1, micros: 2, details: None })
    }

    fn passes(filter: &Option<EventFilter>, name: &str) -> bool {
        filter.as_ref().is_none_or(|f| f(&event(name)))
    }

    #[test]
    fn no_event_name_means_every_event_and_no_filter() {
        assert!(name_filter(None, 0).unwrap().is_none());
        assert!(name_filter(None, REGEX | NOCASE).unwrap().is_none());
    }

    #[test]
    fn exact_nocase_and_regex_matching() {
        let exact = name_filter(Some("STOP"), 0).unwrap();
        assert!(passes(&exact, "STOP") && !passes(&exact, "stop") && !passes(&exact, "STOPPED"));
        let nocase = name_filter(Some("stop"), NOCASE).unwrap();
        assert!(passes(&nocase, "STOP") && passes(&nocase, "Stop") && !passes(&nocase, "RESUME"));
        let regex = name_filter(Some("^(STOP|RESUME)$"), REGEX).unwrap();
        assert!(passes(&regex, "STOP") && passes(&regex, "RESUME") && !passes(&regex, "resume"));
        // Unanchored, as g_regex_match searches.
        let partial = name_filter(Some("VNC_"), REGEX).unwrap();
        assert!(passes(&partial, "VNC_CONNECTED") && !passes(&partial, "SPICE_CONNECTED"));
        let caseless = name_filter(Some("^vnc_.*ED$"), REGEX | NOCASE).unwrap();
        assert!(passes(&caseless, "VNC_CONNECTED") && !passes(&caseless, "RESET"));
    }

    #[test]
    fn errors_are_libvirts() {
        let Err(e) = name_filter(Some("RESET"), 4) else { panic!("flag 4 accepted") };
        assert_eq!(e.code, crate::error::ErrorCode::VIR_ERR_INVALID_ARG);
        assert_eq!(e.message, "unsupported flags (0x4) in function virDomainQemuMonitorEventStateRegisterID");
        let Err(e) = name_filter(Some("(unclosed"), REGEX) else { panic!("bad regex accepted") };
        assert!(e.message.starts_with("invalid argument: failed to compile regex '(unclosed': "), "{}", e.message);
        assert_eq!(e.domain, ErrorDomain::VIR_FROM_NONE);
    }
}
