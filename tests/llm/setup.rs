//! Start-up checks: misconfiguration fails `LlmTriager::new` with a clear message.

use std::path::PathBuf;

use triagegate::llm::{LlmSettings, LlmSetupError, LlmTriager, ResponseMode};

use crate::helpers::identity;

fn temp_prompts_dir(name: &str, triage_source: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-setup-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("triage.md.j2"), triage_source).expect("write prompt");
    dir
}

#[test]
fn a_prompt_using_an_undefined_variable_stops_start_up() {
    let dir = temp_prompts_dir(
        "undefined",
        "{% macro system() %}S{% endmacro %}{% macro user() %}{{ no_such_variable }}{% endmacro %}",
    );
    let settings = LlmSettings {
        prompts_dir: Some(dir.clone()),
        ..LlmSettings::default()
    };
    let err = LlmTriager::new(settings, identity()).expect_err("strict undefined");
    assert!(matches!(err, LlmSetupError::Prompt(_)), "{err:?}");
    assert!(err.to_string().contains("undefined"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_prompts_dir_without_the_files_uses_the_built_in_prompts() {
    let dir = std::env::temp_dir().join(format!("llm-setup-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let settings = LlmSettings {
        prompts_dir: Some(dir.clone()),
        ..LlmSettings::default()
    };
    let triager = LlmTriager::new(settings, identity()).expect("built-in prompts");
    let builtin = LlmTriager::new(LlmSettings::default(), identity()).expect("builds");
    assert_eq!(triager.prompt(), builtin.prompt());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_settings_are_refused_with_a_reason() {
    let bad_url = LlmSettings {
        base_url: "127.0.0.1:8088".to_owned(),
        ..LlmSettings::default()
    };
    assert!(matches!(
        LlmTriager::new(bad_url, identity()),
        Err(LlmSetupError::BaseUrl(_))
    ));
    let bad_key = LlmSettings {
        api_key: Some("sk-\nsecret".to_owned()),
        ..LlmSettings::default()
    };
    let err = LlmTriager::new(bad_key, identity()).expect_err("bad key");
    assert!(matches!(err, LlmSetupError::ApiKey));
    assert!(!err.to_string().contains("secret"));
    let tiny_budget = LlmSettings {
        max_prompt_tokens: 50,
        ..LlmSettings::default()
    };
    assert!(matches!(
        LlmTriager::new(tiny_budget, identity()),
        Err(LlmSetupError::Budget { budget: 50, .. })
    ));
    let no_model = LlmSettings {
        model: " ".to_owned(),
        response_format: ResponseMode::Text,
        ..LlmSettings::default()
    };
    assert!(matches!(
        LlmTriager::new(no_model, identity()),
        Err(LlmSetupError::NoModel)
    ));
}
