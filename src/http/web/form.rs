//! Form and query extractors whose rejections render the error page instead of axum's plain
//! text. Invalid *values* are not rejections: handlers re-render their form with a 422.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;

use super::error::WebError;

/// `axum::Form` (application/x-www-form-urlencoded) with our error page on rejection.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct HtmlForm<T>(pub T);

/// `axum::extract::Query` with our error page on rejection.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct HtmlQuery<T>(pub T);

impl From<FormRejection> for WebError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge
        } else {
            WebError::BadRequest(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for WebError {
    fn from(rejection: QueryRejection) -> Self {
        WebError::BadRequest(rejection.body_text())
    }
}

/// A signed-in user's form whose CSRF token has already been checked: taking this extractor is
/// how a page handler cannot forget the check. Fields are read by name; a missing one is `""`.
pub struct PostedForm {
    pub web: super::session::WebUser,
    fields: std::collections::HashMap<String, String>,
}

impl PostedForm {
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    pub fn fields(&self) -> &std::collections::HashMap<String, String> {
        &self.fields
    }
}

impl FromRequest<crate::app::AppState> for PostedForm {
    type Rejection = WebError;

    async fn from_request(
        request: axum::extract::Request,
        state: &crate::app::AppState,
    ) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let web = super::session::WebUser::from_request_parts(&mut parts, state).await?;
        let request = axum::extract::Request::from_parts(parts, body);
        let HtmlForm(fields) =
            HtmlForm::<std::collections::HashMap<String, String>>::from_request(request, state)
                .await?;
        let form = Self { web, fields };
        form.web.check_csrf(form.get("csrf_token"))?;
        Ok(form)
    }
}
