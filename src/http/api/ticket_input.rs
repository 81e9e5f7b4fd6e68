//! Reading a new ticket from JSON or `multipart/form-data`, and an edit from JSON. Sizes are
//! checked while bytes arrive, so an oversized upload stops early and nothing is written.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use base64::Engine;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::FieldError;
use crate::domain::attachment::NewAttachment;
use crate::domain::ticket::{AttachmentLimits, NextStep, TicketDraft, TicketEdit};
use crate::http::error::Error;
use crate::http::extract::ApiJson;

/// Fields that only the decision and approval gate may set.
const GATED_FIELDS: [&str; 3] = ["priority", "service_group", "stage"];

pub fn gated_field_error(field: &str) -> Error {
    Error::Unprocessable {
        code: "gated_field",
        message: format!(
            "{field} cannot be set here: priority, service group and stage change only through a \
             recorded triage decision (and, for priority, an approver)"
        ),
        field: Some(field.to_string()),
    }
}

/// Refuses a body that names any gated field, whatever its value.
fn reject_gated(
    priority: &Option<Value>,
    service_group: &Option<Value>,
    stage: &Option<Value>,
) -> Result<(), Error> {
    let sent = [priority, service_group, stage];
    match GATED_FIELDS
        .iter()
        .zip(sent)
        .find(|(_, value)| value.is_some())
    {
        Some((name, _)) => Err(gated_field_error(name)),
        None => Ok(()),
    }
}

/// A new ticket as sent by the client: the tenant's slug and the draft.
pub struct TicketInput {
    pub tenant: String,
    pub draft: TicketDraft,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    tenant: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    requester: Option<String>,
    #[serde(default)]
    attachments: Vec<InlineAttachment>,
    #[serde(default)]
    priority: Option<Value>,
    #[serde(default)]
    service_group: Option<Value>,
    #[serde(default)]
    stage: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineAttachment {
    name: String,
    content: String,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    encoding: Encoding,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Encoding {
    /// The content is the file's text.
    #[default]
    Text,
    /// The content is the file's bytes in standard base64, for binary files.
    Base64,
}

/// Reads a ticket from a JSON or multipart request; any other content type is a 415.
pub async fn read_ticket_input(
    request: Request,
    limits: AttachmentLimits,
) -> Result<TicketInput, Error> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &()).await?;
        read_multipart(multipart, limits).await
    } else if content_type.starts_with("application/json") {
        let ApiJson(body) = ApiJson::<CreateBody>::from_request(request, &()).await?;
        from_json(body, limits)
    } else {
        Err(Error::UnsupportedMediaType(
            "send a ticket as application/json or multipart/form-data".into(),
        ))
    }
}

fn from_json(body: CreateBody, limits: AttachmentLimits) -> Result<TicketInput, Error> {
    reject_gated(&body.priority, &body.service_group, &body.stage)?;
    let mut attachments = Vec::with_capacity(body.attachments.len());
    for (index, inline) in body.attachments.into_iter().enumerate() {
        let content = match inline.encoding {
            Encoding::Text => inline.content.into_bytes(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(inline.content.as_bytes())
                .map_err(|err| {
                    FieldError::new(
                        format!("attachments[{index}].content"),
                        format!("is not valid base64: {err}"),
                    )
                })?,
        };
        attachments.push(NewAttachment::new(
            &inline.name,
            inline.media_type.as_deref(),
            content,
        )?);
    }
    crate::domain::ticket::check_attachment_sizes(&attachments, limits)?;
    Ok(TicketInput {
        tenant: body.tenant,
        draft: TicketDraft {
            title: body.title,
            description: body.description,
            requester: body.requester,
            attachments,
        },
    })
}

async fn read_multipart(
    mut multipart: Multipart,
    limits: AttachmentLimits,
) -> Result<TicketInput, Error> {
    let mut tenant = None;
    let mut draft = TicketDraft::default();
    let mut title = None;
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            let media_type = field.content_type().map(str::to_string);
            let mut content = Vec::new();
            while let Some(chunk) = field.chunk().await? {
                let size = (content.len() + chunk.len()) as u64;
                if size > limits.max_attachment {
                    return Err(Error::PayloadTooLarge(format!(
                        "attachment {file_name:?} is over the limit per file of {} bytes",
                        limits.max_attachment
                    )));
                }
                if total + size > limits.max_total {
                    return Err(Error::PayloadTooLarge(format!(
                        "attachments are over the limit per ticket of {} bytes",
                        limits.max_total
                    )));
                }
                content.extend_from_slice(&chunk);
            }
            total += content.len() as u64;
            // Browsers send application/octet-stream for anything they don't know; sniff then.
            let media_type = media_type.filter(|m| m != "application/octet-stream");
            draft.attachments.push(NewAttachment::new(
                &file_name,
                media_type.as_deref(),
                content,
            )?);
            continue;
        }
        if GATED_FIELDS.contains(&name.as_str()) {
            return Err(gated_field_error(&name));
        }
        let value = field.text().await.map_err(|err| {
            Error::bad_request(
                "malformed_multipart",
                format!("form field {name:?} is not UTF-8 text: {}", err.body_text()),
            )
        })?;
        match name.as_str() {
            "tenant" => tenant = Some(value),
            "title" => title = Some(value),
            "description" => draft.description = Some(value),
            "requester" => draft.requester = Some(value),
            other => {
                return Err(Error::Unprocessable {
                    code: "invalid_field",
                    message: format!(
                        "unknown form field {other:?}; expected tenant, title, description, \
                         requester and file parts"
                    ),
                    field: Some(other.to_string()),
                });
            }
        }
    }
    let tenant = tenant.ok_or_else(|| FieldError::new("tenant", "is required"))?;
    draft.title = title.ok_or_else(|| FieldError::new("title", "is required"))?;
    Ok(TicketInput { tenant, draft })
}

/// A change to a ticket's ungated fields. `null` clears `owner` or `next_step`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    next_step: Option<Option<NextStepBody>>,
    #[serde(default)]
    priority: Option<Value>,
    #[serde(default)]
    service_group: Option<Value>,
    #[serde(default)]
    stage: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NextStepBody {
    text: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    due: Option<chrono::DateTime<chrono::Utc>>,
}

/// Tells a field sent as `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl EditBody {
    /// Validates the edit; gated fields and an empty edit are refused with a 422.
    pub fn into_edit(self) -> Result<TicketEdit, Error> {
        reject_gated(&self.priority, &self.service_group, &self.stage)?;
        use crate::domain::check_text;
        use crate::domain::ticket::{DESCRIPTION_MAX_CHARS, PERSON_MAX_CHARS, TITLE_MAX_CHARS};
        let edit = TicketEdit {
            title: self
                .title
                .map(|t| check_text("title", &t, 1, TITLE_MAX_CHARS, false))
                .transpose()?,
            description: self
                .description
                .map(|d| check_text("description", &d, 0, DESCRIPTION_MAX_CHARS, true))
                .transpose()?,
            owner: self
                .owner
                .map(|owner| {
                    owner
                        .map(|o| check_text("owner", &o, 1, PERSON_MAX_CHARS, false))
                        .transpose()
                })
                .transpose()?,
            next_step: self
                .next_step
                .map(|step| {
                    step.map(|s| NextStep::new(&s.text, s.owner.as_deref(), s.due))
                        .transpose()
                })
                .transpose()?,
        };
        if edit.is_empty() {
            return Err(Error::unprocessable(
                "empty_edit",
                "nothing to change: send title, description, owner or next_step",
            ));
        }
        Ok(edit)
    }
}
