//! `GET /account`: who is signed in, with which role and tenants, until when; and a sign-out
//! button for browsers that lost the top bar.

use askama::Template;
use askama_web::WebTemplate;

use super::layout::Nav;
use super::session::WebUser;
use crate::domain::user::TenantAccess;

/// `templates/account.html`.
#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub name: String,
    pub role: &'static str,
    pub tenants: String,
    pub expires_at: String,
}

pub async fn show(web_user: WebUser) -> AccountPage {
    let tenants = match &web_user.user.tenants {
        TenantAccess::All => "all tenants".to_string(),
        TenantAccess::Only(ids) if ids.len() == 1 => "1 tenant".to_string(),
        TenantAccess::Only(ids) => format!("{} tenants", ids.len()),
    };
    AccountPage {
        nav: web_user.nav(),
        name: web_user.user.name.clone(),
        role: web_user.user.role.as_str(),
        tenants,
        expires_at: web_user.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
