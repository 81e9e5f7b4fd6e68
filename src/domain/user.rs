//! Users, roles and what each role may do on which tenant. The HTTP layer asks these rules on
//! every request; nothing is allowed because a button was hidden.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::FieldError;
use super::tenant::{TenantId, TenantSlug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// First-line technician: works the queue, decides on suggestions.
    L1,
    /// Incident manager or L2/L3 lead: approves priority changes.
    Approver,
    /// Quality assurance: reads everything of its tenants, changes nothing.
    Qa,
    /// MSP administrator.
    Admin,
    /// A client's user: opens and reads tickets of one tenant.
    Requester,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::L1,
        Role::Approver,
        Role::Qa,
        Role::Admin,
        Role::Requester,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::L1 => "l1",
            Role::Approver => "approver",
            Role::Qa => "qa",
            Role::Admin => "admin",
            Role::Requester => "requester",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(
                    "role",
                    format!("{raw:?} is not a role; use l1, approver, qa, admin or requester"),
                )
            })
    }

    /// Whether this role may do `action` at all, whatever the tenant.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::L1 => matches!(
                action,
                CreateTicket
                    | ReadTicket
                    | EditTicket
                    | ReadTicketAudit
                    | ReadSuggestions
                    | RunTriage
                    | Decide
            ),
            // An approver is an L1 who may also approve others' priority changes.
            Role::Approver => action == Approve || Role::L1.allows(action),
            Role::Qa => matches!(
                action,
                ReadTicket | ReadTicketAudit | VerifyAudit | ReadSuggestions | ReadQa
            ),
            Role::Requester => matches!(action, CreateTicket | ReadTicket),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request wants to do; checked against the caller's role before anything is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateTicket,
    ReadTicket,
    EditTicket,
    ReadTicketAudit,
    VerifyAudit,
    /// Similar cases and the machine's suggestions: staff only, never the client's requester.
    ReadSuggestions,
    RunTriage,
    /// Accept or override a suggestion's fields and set the next step.
    Decide,
    /// See and decide priority changes waiting for approval.
    Approve,
    /// The AI-vs-human agreement figures and their export.
    ReadQa,
    /// See triage jobs and retry dead ones: admins only.
    ManageJobs,
}

impl Action {
    pub fn describe(self) -> &'static str {
        match self {
            Action::CreateTicket => "create tickets",
            Action::ReadTicket => "read tickets",
            Action::EditTicket => "edit tickets",
            Action::ReadTicketAudit => "read a ticket's audit events",
            Action::VerifyAudit => "verify the audit chain",
            Action::ReadSuggestions => "read similar cases and suggestions",
            Action::RunTriage => "run triage",
            Action::Decide => "decide on suggestions",
            Action::Approve => "approve priority changes",
            Action::ReadQa => "read the QA agreement figures",
            Action::ManageJobs => "manage triage jobs",
        }
    }
}

/// The tenants a user may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantAccess {
    All,
    Only(Vec<TenantId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub tenants: TenantAccess,
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// Why a request was refused for its role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {role} role may not {}", action.describe())]
pub struct Forbidden {
    pub role: Role,
    pub action: Action,
}

impl User {
    pub fn may(&self, action: Action) -> Result<(), Forbidden> {
        if self.role.allows(action) {
            Ok(())
        } else {
            Err(Forbidden {
                role: self.role,
                action,
            })
        }
    }

    pub fn sees_tenant(&self, tenant: TenantId) -> bool {
        match &self.tenants {
            TenantAccess::All => true,
            TenantAccess::Only(ids) => ids.contains(&tenant),
        }
    }

    pub fn token_expired(&self, now: DateTime<Utc>) -> bool {
        self.token_expires_at.is_some_and(|at| at <= now)
    }
}

/// Which tenants a new user gets, by slug, before the slugs are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantGrant {
    All,
    Only(Vec<TenantSlug>),
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub tenants: TenantGrant,
    pub password_hash: Option<String>,
    pub token_hash: String,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl NewUser {
    /// Checks the name and that the grant suits the role: a requester belongs to exactly one
    /// tenant; staff act on listed tenants or all of them.
    pub fn new(
        name: &str,
        role: Role,
        tenants: TenantGrant,
        password_hash: Option<String>,
        token_hash: String,
        token_expires_at: Option<DateTime<Utc>>,
    ) -> Result<Self, FieldError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !valid_name {
            return Err(FieldError::new(
                "name",
                "use 1-64 letters, digits, '.', '_', '-' or '@'",
            ));
        }
        match (&tenants, role) {
            (TenantGrant::All, Role::Requester) => {
                return Err(FieldError::new(
                    "tenants",
                    "a requester belongs to exactly one tenant; pass --tenants NAME",
                ));
            }
            (TenantGrant::Only(list), Role::Requester) if list.len() != 1 => {
                return Err(FieldError::new(
                    "tenants",
                    "a requester belongs to exactly one tenant",
                ));
            }
            (TenantGrant::Only(list), _) if list.is_empty() => {
                return Err(FieldError::new(
                    "tenants",
                    "name at least one tenant with --tenants a,b or use --all-tenants",
                ));
            }
            _ => {}
        }
        Ok(Self {
            id: UserId(Uuid::now_v7()),
            name: name.to_string(),
            role,
            tenants,
            password_hash,
            token_hash,
            token_expires_at,
            created_at: super::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(s: &str) -> TenantSlug {
        TenantSlug::parse(s).expect("slug")
    }

    #[test]
    fn each_role_has_its_own_actions() {
        assert!(Role::Requester.allows(Action::CreateTicket));
        assert!(!Role::Requester.allows(Action::EditTicket));
        assert!(!Role::Requester.allows(Action::ReadTicketAudit));
        assert!(!Role::Qa.allows(Action::CreateTicket));
        assert!(!Role::Qa.allows(Action::EditTicket));
        assert!(Role::Qa.allows(Action::VerifyAudit));
        assert!(!Role::L1.allows(Action::VerifyAudit));
        for action in [
            Action::CreateTicket,
            Action::ReadTicket,
            Action::EditTicket,
            Action::ReadTicketAudit,
            Action::VerifyAudit,
        ] {
            assert!(Role::Admin.allows(action));
        }
    }

    #[test]
    fn a_requester_needs_exactly_one_tenant() {
        let new = |grant| NewUser::new("ann", Role::Requester, grant, None, "h".into(), None);
        assert!(new(TenantGrant::All).is_err());
        assert!(new(TenantGrant::Only(vec![])).is_err());
        assert!(new(TenantGrant::Only(vec![slug("a"), slug("b")])).is_err());
        assert!(new(TenantGrant::Only(vec![slug("a")])).is_ok());
    }

    #[test]
    fn names_are_plain_words() {
        let grant = || TenantGrant::All;
        assert!(NewUser::new("ann.l1", Role::L1, grant(), None, "h".into(), None).is_ok());
        assert!(NewUser::new("<ann>", Role::L1, grant(), None, "h".into(), None).is_err());
        assert!(NewUser::new("", Role::L1, grant(), None, "h".into(), None).is_err());
    }

    #[test]
    fn tenant_visibility_follows_the_grant() {
        let a = TenantId(Uuid::now_v7());
        let b = TenantId(Uuid::now_v7());
        let user = User {
            id: UserId(Uuid::now_v7()),
            name: "x".into(),
            role: Role::L1,
            tenants: TenantAccess::Only(vec![a]),
            token_expires_at: None,
        };
        assert!(user.sees_tenant(a));
        assert!(!user.sees_tenant(b));
    }
}
