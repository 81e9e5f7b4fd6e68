//! Builds the chat-completion request: messages, answer format, sampling and output limits.

use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};
use serde_json::Value;

use super::settings::{LlmSettings, ResponseMode};

/// Name of the schema in `response_format`.
pub const SCHEMA_NAME: &str = "triage_answer";

/// Returns the system message followed by user messages.
pub fn messages(system: &str, users: &[&str]) -> Vec<ChatCompletionRequestMessage> {
    let mut messages = Vec::with_capacity(users.len() + 1);
    messages.push(ChatCompletionRequestSystemMessage::from(system).into());
    messages.extend(
        users
            .iter()
            .map(|text| ChatCompletionRequestUserMessage::from(*text).into()),
    );
    messages
}

/// Returns the request for `messages`, asking for `schema` in the configured way.
pub fn chat_request(
    settings: &LlmSettings,
    messages: Vec<ChatCompletionRequestMessage>,
    schema: Value,
) -> CreateChatCompletionRequest {
    let response_format = match settings.response_format {
        ResponseMode::JsonSchema => Some(ResponseFormat::JsonSchema {
            json_schema: ResponseFormatJsonSchema {
                description: None,
                name: SCHEMA_NAME.to_owned(),
                schema,
                strict: Some(true),
            },
        }),
        ResponseMode::JsonObject => Some(ResponseFormat::JsonObject),
        ResponseMode::Text => None,
    };
    // `max_tokens` is deprecated by OpenAI in favour of `max_completion_tokens`, but it is the
    // field llama-server, vLLM and Ollama all honour, and OpenAI still accepts it.
    #[allow(deprecated)]
    CreateChatCompletionRequest {
        model: settings.model.clone(),
        messages,
        temperature: Some(settings.temperature),
        max_tokens: Some(settings.max_output_tokens),
        response_format,
        stream: Some(false),
        ..CreateChatCompletionRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(mode: ResponseMode) -> Value {
        let settings = LlmSettings {
            model: "smollm2".to_owned(),
            response_format: mode,
            ..LlmSettings::default()
        };
        let request = chat_request(
            &settings,
            messages("sys", &["user"]),
            json!({"type": "object"}),
        );
        serde_json::to_value(request).expect("serialises")
    }

    #[test]
    fn json_schema_mode_sends_a_strict_named_schema_and_limits() {
        let body = body(ResponseMode::JsonSchema);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["name"], SCHEMA_NAME);
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["max_tokens"], 400);
        assert_eq!(body["model"], "smollm2");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert_eq!(body["messages"][1]["content"], "user");
    }

    #[test]
    fn other_modes_send_json_object_or_nothing() {
        assert_eq!(
            body(ResponseMode::JsonObject)["response_format"],
            json!({"type": "json_object"})
        );
        assert!(body(ResponseMode::Text).get("response_format").is_none());
    }
}
