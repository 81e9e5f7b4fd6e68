//! Circuit breaker, as a pure state machine over injected `Instant`s.
//!
//! Closed: calls go through; consecutive failed calls are counted. After `threshold` of them
//! the circuit opens: calls are refused at once for `cooldown`, so a dead endpoint does not
//! hold every triage for `timeout × attempts`. After the cooldown one trial call is admitted
//! (half-open); its success closes the circuit, its failure opens it again.

use std::fmt;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        since: Instant,
        failures: u32,
    },
    HalfOpen {
        trial_in_flight: bool,
        failures: u32,
    },
}

/// How a call was let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Normal,
    /// The single call allowed while half-open.
    Trial,
}

/// Why a call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Open { failures: u32, retry_in: Duration },
    TrialInFlight { failures: u32 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Open { failures, retry_in } => write!(
                f,
                "circuit open after {failures} consecutive failed calls; next trial in {}s",
                retry_in.as_secs().max(1)
            ),
            Refusal::TrialInFlight { failures } => write!(
                f,
                "circuit half-open after {failures} consecutive failed calls; a trial call is in flight"
            ),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: State,
}

impl CircuitBreaker {
    /// A `threshold` of 0 disables the breaker: it never opens.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown,
            state: State::Closed { failures: 0 },
        }
    }

    /// Decides whether a call may start at `now`.
    pub fn admit(&mut self, now: Instant) -> Result<Admission, Refusal> {
        match self.state {
            State::Closed { .. } => Ok(Admission::Normal),
            State::Open { since, failures } => {
                let elapsed = now.saturating_duration_since(since);
                if elapsed >= self.cooldown {
                    self.state = State::HalfOpen {
                        trial_in_flight: true,
                        failures,
                    };
                    Ok(Admission::Trial)
                } else {
                    Err(Refusal::Open {
                        failures,
                        retry_in: self.cooldown - elapsed,
                    })
                }
            }
            State::HalfOpen {
                trial_in_flight: true,
                failures,
            } => Err(Refusal::TrialInFlight { failures }),
            State::HalfOpen {
                trial_in_flight: false,
                failures,
            } => {
                self.state = State::HalfOpen {
                    trial_in_flight: true,
                    failures,
                };
                Ok(Admission::Trial)
            }
        }
    }

    /// Records a call that reached the endpoint and got an answer.
    pub fn on_success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    /// Records a call that failed for the endpoint's sake (unreachable, timing out, or
    /// rate-limiting/erroring after all retries).
    pub fn on_failure(&mut self, now: Instant) {
        let failures = match self.state {
            State::Closed { failures }
            | State::Open { failures, .. }
            | State::HalfOpen { failures, .. } => failures.saturating_add(1),
        };
        let trips = match self.state {
            State::Closed { .. } => self.threshold > 0 && failures >= self.threshold,
            // A failed trial, or a straggler admitted before the circuit opened.
            State::Open { .. } | State::HalfOpen { .. } => true,
        };
        self.state = if trips {
            match self.state {
                // Stragglers must not extend the cooldown.
                State::Open { since, .. } => State::Open { since, failures },
                _ => State::Open {
                    since: now,
                    failures,
                },
            }
        } else {
            State::Closed { failures }
        };
    }

    /// Records that an admitted call ended without a verdict (cancelled, or no request was
    /// made), so a trial slot is not held forever.
    pub fn on_abandoned(&mut self, admission: Admission) {
        if let (
            Admission::Trial,
            State::HalfOpen {
                trial_in_flight: true,
                failures,
            },
        ) = (admission, self.state)
        {
            self.state = State::HalfOpen {
                trial_in_flight: false,
                failures,
            };
        }
    }

    /// Returns whether calls are currently being refused or gated on a trial.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(30);

    fn fail(breaker: &mut CircuitBreaker, now: Instant) {
        assert!(breaker.admit(now).is_ok());
        breaker.on_failure(now);
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(3, COOLDOWN);
        fail(&mut breaker, t0);
        fail(&mut breaker, t0);
        assert!(!breaker.is_open());
        fail(&mut breaker, t0);
        assert!(breaker.is_open());
        let refusal = breaker
            .admit(t0 + Duration::from_secs(10))
            .expect_err("open");
        assert_eq!(
            refusal,
            Refusal::Open {
                failures: 3,
                retry_in: Duration::from_secs(20)
            }
        );
        assert!(refusal.to_string().starts_with("circuit open after 3"));
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(2, COOLDOWN);
        fail(&mut breaker, t0);
        breaker.on_success();
        fail(&mut breaker, t0);
        assert!(!breaker.is_open());
    }

    #[test]
    fn after_cooldown_one_trial_is_admitted_and_its_success_closes() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(1, COOLDOWN);
        fail(&mut breaker, t0);
        let later = t0 + COOLDOWN;
        assert_eq!(breaker.admit(later), Ok(Admission::Trial));
        assert_eq!(
            breaker.admit(later),
            Err(Refusal::TrialInFlight { failures: 1 })
        );
        breaker.on_success();
        assert!(!breaker.is_open());
        assert_eq!(breaker.admit(later), Ok(Admission::Normal));
    }

    #[test]
    fn a_failed_trial_reopens_for_a_full_cooldown() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(1, COOLDOWN);
        fail(&mut breaker, t0);
        let trial_at = t0 + COOLDOWN + Duration::from_secs(5);
        assert_eq!(breaker.admit(trial_at), Ok(Admission::Trial));
        breaker.on_failure(trial_at);
        assert!(matches!(
            breaker.admit(trial_at + Duration::from_secs(29)),
            Err(Refusal::Open { failures: 2, .. })
        ));
        assert_eq!(breaker.admit(trial_at + COOLDOWN), Ok(Admission::Trial));
    }

    #[test]
    fn an_abandoned_trial_frees_the_slot() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(1, COOLDOWN);
        fail(&mut breaker, t0);
        let admission = breaker.admit(t0 + COOLDOWN).expect("trial");
        breaker.on_abandoned(admission);
        assert_eq!(breaker.admit(t0 + COOLDOWN), Ok(Admission::Trial));
    }

    #[test]
    fn stragglers_failing_while_open_do_not_extend_the_cooldown() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(1, COOLDOWN);
        assert!(breaker.admit(t0).is_ok()); // a call admitted while closed...
        fail(&mut breaker, t0); // ...another one opens the circuit...
        breaker.on_failure(t0 + Duration::from_secs(20)); // ...and the first fails later
        assert_eq!(breaker.admit(t0 + COOLDOWN), Ok(Admission::Trial));
    }

    #[test]
    fn a_zero_threshold_never_opens() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(0, COOLDOWN);
        for _ in 0..10 {
            fail(&mut breaker, t0);
        }
        assert!(!breaker.is_open());
    }
}
