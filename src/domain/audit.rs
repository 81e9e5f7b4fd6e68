//! The audit trail's hash chain. Each event's hash covers its canonical form and the hash of the
//! event before it, so editing, removing or reordering any stored event breaks every later link.
//! The store appends events in the same transaction as the write they describe.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Actor;
use super::tenant::TenantId;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event about to be appended; the store assigns its sequence number and hashes.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub event_id: Uuid,
    pub tenant_id: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub entity_type: &'static str,
    pub entity_id: String,
    /// Compact JSON with sorted keys, stored as text so the hashed bytes are the stored bytes.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

impl NewAuditEvent {
    pub fn new(
        tenant_id: Option<TenantId>,
        actor: &Actor,
        action: &str,
        entity_type: &'static str,
        entity_id: impl ToString,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            tenant_id,
            actor: actor.as_str().to_string(),
            action: action.to_string(),
            entity_type,
            entity_id: entity_id.to_string(),
            payload: canonical_json(&payload),
            created_at: super::now(),
        }
    }

    /// Seals the event as number `seq` after the event whose hash is `prev_hash`.
    pub fn seal(self, seq: i64, prev_hash: &str) -> AuditEvent {
        let mut event = AuditEvent {
            seq,
            event_id: self.event_id,
            tenant_id: self.tenant_id,
            actor: self.actor,
            action: self.action,
            entity_type: self.entity_type.to_string(),
            entity_id: self.entity_id,
            payload: self.payload,
            created_at: self.created_at,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }
}

/// Writes compact JSON with object keys sorted at every level, independent of how the map
/// type orders them, so the same payload always hashes the same.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn write(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub event_id: Uuid,
    pub tenant_id: Option<TenantId>,
    pub actor: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEvent {
    /// The bytes that are hashed: a JSON array of every field but the hashes, which cannot be
    /// made ambiguous by separators inside a field.
    pub fn canonical(&self) -> String {
        serde_json::json!([
            self.seq,
            self.event_id.to_string(),
            self.tenant_id.map(|t| t.0.to_string()),
            self.actor,
            self.action,
            self.entity_type,
            self.entity_id,
            self.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            self.payload,
        ])
        .to_string()
    }

    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(self.canonical().as_bytes());
        hex::encode(hasher.finalize())
    }
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub event_id: Uuid,
    pub reason: String,
}

/// Walks the chain in sequence order, one page at a time, so any length fits in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_prev: String,
    expected_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_prev: GENESIS_HASH.to_string(),
            expected_seq: 1,
            checked: 0,
        }
    }
}

impl ChainVerifier {
    /// Checks the next event; the first failure names the event where the chain breaks.
    pub fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        let broken = |reason: String| ChainBreak {
            seq: event.seq,
            event_id: event.event_id,
            reason,
        };
        if event.seq != self.expected_seq {
            return Err(broken(format!(
                "sequence {} follows {}: events are missing",
                event.seq,
                self.expected_seq - 1
            )));
        }
        if event.prev_hash != self.expected_prev {
            return Err(broken(
                "prev_hash does not match the hash of the event before".into(),
            ));
        }
        if event.compute_hash() != event.hash {
            return Err(broken(
                "hash does not match the event's content: it was changed after it was written"
                    .into(),
            ));
        }
        self.expected_prev = event.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// The hash of the last event checked (the genesis hash before any).
    pub fn head(&self) -> &str {
        &self.expected_prev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let event = NewAuditEvent::new(
                    None,
                    &Actor::cli(),
                    "ticket.created",
                    "ticket",
                    seq,
                    serde_json::json!({"b": 1, "a": "x\ny"}),
                )
                .seal(seq, &prev);
                prev = event.hash.clone();
                event
            })
            .collect()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let mut verifier = ChainVerifier::default();
        for event in chain(5) {
            verifier.check(&event).expect("intact");
        }
        assert_eq!(verifier.checked(), 5);
    }

    #[test]
    fn an_edited_event_breaks_the_chain_at_that_event() {
        let mut events = chain(5);
        events[2].payload = r#"{"a":"forged"}"#.into();
        let mut verifier = ChainVerifier::default();
        let err = events
            .iter()
            .try_for_each(|e| verifier.check(e))
            .expect_err("broken");
        assert_eq!(err.seq, 3);
    }

    #[test]
    fn a_removed_event_breaks_the_chain() {
        let mut events = chain(5);
        events.remove(1);
        let mut verifier = ChainVerifier::default();
        let err = events
            .iter()
            .try_for_each(|e| verifier.check(e))
            .expect_err("broken");
        assert_eq!(err.seq, 3);
    }

    #[test]
    fn payload_keys_are_sorted() {
        let event = NewAuditEvent::new(
            None,
            &Actor::cli(),
            "x",
            "ticket",
            1,
            serde_json::json!({"z": 1, "a": 2}),
        );
        assert_eq!(event.payload, r#"{"a":2,"z":1}"#);
    }
}
