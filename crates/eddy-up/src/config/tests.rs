//! The checks of `eddy.toml`: defaults, ranges, tables and their errors.

use super::*;

#[test]
fn example_file_is_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eddy.toml.example");
    let config = EddyConfig::load(&path).expect("example loads");
    assert_eq!(config, EddyConfig::default());
}

#[test]
fn queue_url_host_forms() {
    let config: EddyConfig =
        toml::from_str(r#"sqs_queue_url_host = "region-queue""#).expect("parses");
    assert_eq!(
        config.sqs_queue_url_host,
        eddy_server::QueueUrlHost::RegionQueue
    );
    let error = toml::from_str::<EddyConfig>(r#"sqs_queue_url_host = "amazonaws""#)
        .expect_err("unknown form")
        .to_string();
    assert!(error.contains("sqs_queue_url_host"), "{error}");
}

#[test]
fn additional_credentials_are_validated() {
    let config: EddyConfig = toml::from_str(
        r#"additional_credentials = [{ access_key_id = "second", secret_access_key = "s2" }]"#,
    )
    .expect("parses");
    config.validate().expect("valid");
    assert_eq!(
        config.credential_pairs(),
        vec![
            ("test".to_owned(), "test".to_owned()),
            ("second".to_owned(), "s2".to_owned())
        ]
    );
    for (toml_text, expected) in [
        (
            r#"additional_credentials = [{ access_key_id = "", secret_access_key = "x" }]"#,
            "must not be empty",
        ),
        (
            r#"additional_credentials = [{ access_key_id = "test", secret_access_key = "x" }]"#,
            "configured twice",
        ),
        (
            r#"additional_credentials = [{ access_key_id = "a b", secret_access_key = "x" }]"#,
            "printable ASCII",
        ),
    ] {
        let config: EddyConfig = toml::from_str(toml_text).expect("parses");
        let error = config.validate().expect_err("invalid").to_string();
        assert!(error.contains(expected), "{error}");
        assert!(error.contains("additional_credentials[0]"), "{error}");
    }
}

#[test]
fn unknown_key_is_named() {
    let error = toml::from_str::<EddyConfig>("bacth_size = 3").expect_err("unknown key");
    assert!(error.to_string().contains("bacth_size"), "{error}");
}

#[test]
fn out_of_range_is_named() {
    let config = EddyConfig {
        batch_size: 20,
        ..EddyConfig::default()
    };
    let error = config.validate().expect_err("window needed");
    assert!(
        error
            .to_string()
            .contains("maximum_batching_window_seconds")
    );
    let config = EddyConfig {
        visibility_timeout_seconds: 2,
        ..EddyConfig::default()
    };
    assert!(
        config
            .validate()
            .expect_err("too short")
            .to_string()
            .contains("visibility_timeout_seconds")
    );
    let config = EddyConfig {
        max_receive_count: 0,
        ..EddyConfig::default()
    };
    assert!(
        config
            .validate()
            .expect_err("zero")
            .to_string()
            .contains("max_receive_count")
    );
}

#[test]
fn tables_add_and_replace_functions_and_mappings() {
    let config: EddyConfig = toml::from_str(
        r#"
        [[functions]]
        name = "eddy-copy"
        command = ["./bootstrap"]
        timeout = 4
        [[functions]]
        name = "audit"
        [[event_source_mappings]]
        queue = "audit-events"
        function = "audit"
        batch_size = 50
        maximum_batching_window_seconds = 2
        filter_criteria = ['{"body": ["x"]}']
        "#,
    )
    .expect("parses");
    config.validate().expect("valid");
    let functions = config.all_functions();
    assert_eq!(
        functions.len(),
        2,
        "the table replaces the default function"
    );
    assert!(!functions[0].is_builtin() && functions[0].timeout == 4);
    assert!(functions[1].is_builtin() && functions[1].timeout == 3);
    let mappings = config.all_mappings();
    assert_eq!(mappings.len(), 2, "the default mapping plus one");
    assert_eq!(mappings[0].queue, "file-events");
    assert_eq!(
        mappings[0].function_response_types,
        ["ReportBatchItemFailures"]
    );
    assert_eq!(mappings[1].maximum_concurrency, None);
    assert!(mappings[1].function_response_types.is_empty());
}
