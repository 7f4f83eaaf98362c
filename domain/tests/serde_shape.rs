use coprod_domain::*;

#[test]
fn a_fact_with_an_unknown_field_is_refused() {
    let body = r#"{"type":"stage_started","stage":"commission","occurred_on":"2025-01-06","colour":"red"}"#;
    let err = serde_json::from_str::<Fact>(body).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn a_fact_round_trips_with_its_type_tag() {
    let body = r#"{"type":"stage_started","stage":"commission","occurred_on":"2025-01-06"}"#;
    let fact: Fact = serde_json::from_str(body).unwrap();
    let event: ProjectEvent = fact.into();
    assert_eq!(serde_json::to_string(&event).unwrap(), body);
}
