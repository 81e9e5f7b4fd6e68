//! What the page layout (`templates/base.html`) needs: the signed-in user's name, role and
//! sign-out token, and which sections the role may open. Every page template has a
//! `nav: Nav` field.

use super::session::WebUser;
use crate::domain::user::Role;

#[derive(Debug, Clone)]
pub struct Nav {
    /// False on the sign-in and error pages: the top bar then shows the product name only.
    pub signed_in: bool,
    pub user_name: String,
    pub role: &'static str,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: String,
    /// Approvals link: approvers and admins.
    pub approvals: bool,
    /// QA link: qa and admins.
    pub qa: bool,
    /// The section the page belongs to (`"queue"`, `"approvals"`, `"qa"` or `""`), marked as
    /// current in the top bar.
    pub active: &'static str,
}

impl Nav {
    /// The top bar of the signed-in user.
    pub fn for_user(web_user: &WebUser) -> Self {
        let role = web_user.user.role;
        Self {
            signed_in: true,
            user_name: web_user.user.name.clone(),
            role: role.as_str(),
            csrf: web_user.csrf.clone(),
            approvals: matches!(role, Role::Approver | Role::Admin),
            qa: matches!(role, Role::Qa | Role::Admin),
            active: "",
        }
    }

    /// The top bar when nobody is known to be signed in.
    pub fn signed_out() -> Self {
        Self {
            signed_in: false,
            user_name: String::new(),
            role: "",
            csrf: String::new(),
            approvals: false,
            qa: false,
            active: "",
        }
    }

    /// Marks `section` (`"queue"`, `"approvals"` or `"qa"`) as the current one.
    pub fn at(mut self, section: &'static str) -> Self {
        self.active = section;
        self
    }
}

impl WebUser {
    /// The top bar for this user's pages.
    pub fn nav(&self) -> Nav {
        Nav::for_user(self)
    }
}
