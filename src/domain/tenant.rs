//! Tenants: the MSP's clients. Every ticket and audit event belongs to one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

/// A tenant's short name, used in the CLI and the API: lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let valid = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(FieldError::new(
                "tenant",
                format!(
                    "{:?} is not a tenant name: use 1-63 lowercase letters, digits and inner dashes",
                    truncate_for_message(raw)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    /// Whether this tenant's past cases join the MSP-wide pool that other pooled tenants search.
    pub shared_pool: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl NewTenant {
    pub fn new(slug: TenantSlug, name: Option<&str>) -> Result<Self, FieldError> {
        let name = match name {
            Some(name) => super::check_text("name", name, 1, 200, false)?,
            None => slug.as_str().to_string(),
        };
        Ok(Self {
            id: TenantId(Uuid::now_v7()),
            slug,
            name,
            created_at: super::now(),
        })
    }
}

/// Shortens user input quoted back in an error message.
pub(crate) fn truncate_for_message(raw: &str) -> String {
    const MAX: usize = 64;
    if raw.chars().count() <= MAX {
        raw.to_string()
    } else {
        let head: String = raw.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_with_dashes() {
        assert!(TenantSlug::parse("acme-corp2").is_ok());
        for bad in [
            "",
            "Acme",
            "acme corp",
            "-acme",
            "acme-",
            "a'; drop table tenant; --",
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(TenantSlug::parse(&"a".repeat(64)).is_err());
    }
}
