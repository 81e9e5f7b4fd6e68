//! The SLA clock of an open ticket: which target applies now (acknowledge until someone has
//! acknowledged, then resolve), when it falls due, and how close it is.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::severity::SeverityMatrix;
use super::ticket::{Priority, Ticket};

/// A clock is "soon" in the last quarter of its target.
const SOON_SHARE: f64 = 0.25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlaState {
    Ok,
    Soon,
    Breached,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Soon => "soon",
            Self::Breached => "breached",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlaTarget {
    Acknowledge,
    Resolve,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaClock {
    pub priority: Priority,
    /// Whether the priority is the ticket's own or only the machine's proposal.
    pub proposed: bool,
    pub target: SlaTarget,
    pub due: DateTime<Utc>,
    pub state: SlaState,
    /// Time left (negative once breached).
    pub remaining: TimeDelta,
}

impl SlaClock {
    /// The clock of an open ticket at `now`: its own priority, else `proposed`; none for closed
    /// tickets or when no priority is known.
    pub fn of(
        ticket: &Ticket,
        proposed: Option<Priority>,
        matrix: &SeverityMatrix,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        if !ticket.stage.is_open() {
            return None;
        }
        let (priority, is_proposed) = match (ticket.priority, proposed) {
            (Some(own), _) => (own, false),
            (None, Some(proposed)) => (proposed, true),
            (None, None) => return None,
        };
        let level = matrix.level(priority)?;
        let (target, span) = if ticket.acknowledged_at.is_none() {
            (SlaTarget::Acknowledge, level.acknowledge)
        } else {
            (SlaTarget::Resolve, level.resolve)
        };
        let span = TimeDelta::from_std(span).ok()?;
        let due = ticket.created_at + span;
        let remaining = due - now;
        let soon = span.num_seconds() as f64 * SOON_SHARE;
        let state = if remaining <= TimeDelta::zero() {
            SlaState::Breached
        } else if (remaining.num_seconds() as f64) <= soon {
            SlaState::Soon
        } else {
            SlaState::Ok
        };
        Some(Self {
            priority,
            proposed: is_proposed,
            target,
            due,
            state,
            remaining,
        })
    }

    /// "2h 05m left" or "1d 3h overdue".
    pub fn describe(&self) -> String {
        let secs = self.remaining.num_seconds();
        let span = human_span(secs.unsigned_abs());
        let target = match self.target {
            SlaTarget::Acknowledge => "to acknowledge",
            SlaTarget::Resolve => "to resolve",
        };
        if secs > 0 {
            format!("{span} left {target}")
        } else {
            format!("{span} overdue {target}")
        }
    }
}

fn human_span(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else {
        format!("{minutes}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::Stage;

    fn matrix() -> SeverityMatrix {
        crate::config::Config::load_with_env(None, Vec::<(String, String)>::new())
            .expect("default config")
            .triage
            .severity
            .as_ref()
            .clone()
    }

    fn ticket(priority: Option<Priority>, created: DateTime<Utc>) -> Ticket {
        Ticket::sample(priority, created)
    }

    #[test]
    fn the_acknowledge_target_runs_until_someone_acknowledges() {
        let matrix = matrix();
        let now = Utc::now();
        let ack =
            TimeDelta::from_std(matrix.level(Priority::P1).expect("P1").acknowledge).expect("span");
        let fresh =
            SlaClock::of(&ticket(Some(Priority::P1), now), None, &matrix, now).expect("clock");
        assert_eq!(fresh.target, SlaTarget::Acknowledge);
        assert_eq!(fresh.state, SlaState::Ok);
        assert_eq!(fresh.due, now + ack);
        let late = SlaClock::of(
            &ticket(Some(Priority::P1), now - ack - TimeDelta::minutes(1)),
            None,
            &matrix,
            now,
        )
        .expect("clock");
        assert_eq!(late.state, SlaState::Breached);
        assert!(late.describe().contains("overdue"), "{}", late.describe());
        let soon = SlaClock::of(
            &ticket(Some(Priority::P1), now - ack * 9 / 10),
            None,
            &matrix,
            now,
        )
        .expect("clock");
        assert_eq!(soon.state, SlaState::Soon);
    }

    #[test]
    fn a_proposed_priority_runs_a_marked_clock_and_none_runs_none() {
        let matrix = matrix();
        let now = Utc::now();
        let t = ticket(None, now);
        assert_eq!(SlaClock::of(&t, None, &matrix, now), None);
        let clock = SlaClock::of(&t, Some(Priority::P3), &matrix, now).expect("clock");
        assert!(clock.proposed);
        let mut closed = ticket(Some(Priority::P2), now);
        closed.stage = Stage::Closed;
        assert_eq!(SlaClock::of(&closed, None, &matrix, now), None);
    }
}
