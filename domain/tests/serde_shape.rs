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

#[test]
fn votes_are_read_only_from_an_object() {
    let body = |votes: &str| {
        format!(
            r#"{{"type":"decision_made","decision_id":"d1","stage":"design","subject":"s","method":"vote","participants":["p1","p2"],"votes":{votes},"influenced_by":[],"outcome":"o","occurred_on":"2025-01-06"}}"#
        )
    };
    let fact: Fact =
        serde_json::from_str(&body(r#"{"for":["p1"],"against":["p2"],"abstain":[]}"#)).unwrap();
    let Fact::DecisionMade(decision) = fact else {
        panic!("expected a decision");
    };
    assert_eq!(decision.votes.unwrap().in_favour, vec!["p1".to_string()]);
    let as_list = serde_json::from_str::<Fact>(&body(r#"[["p1"],["p2"],[]]"#)).unwrap_err();
    assert!(as_list.to_string().contains("invalid type"), "{as_list}");
    let extra =
        serde_json::from_str::<Fact>(&body(r#"{"for":[],"against":[],"abstain":[],"maybe":[]}"#))
            .unwrap_err();
    assert!(
        extra.to_string().contains("unknown field `maybe`"),
        "{extra}"
    );
    let missing = serde_json::from_str::<Fact>(&body(r#"{"for":[],"against":[]}"#)).unwrap_err();
    assert!(
        missing.to_string().contains("missing field `abstain`"),
        "{missing}"
    );
}
