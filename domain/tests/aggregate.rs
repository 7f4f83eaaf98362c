//! Given/when/then tests of the `Project` aggregate: every rule of the event catalogue and every
//! `ProjectError` variant. Refusals are checked by variant and path, never by message.

use coprod_domain::testkit::facts::*;
use coprod_domain::validate::MAX_AMOUNT_PENCE;
use coprod_domain::*;

use ParticipantKind::{Carer, LivedExperience, Professional};
use Stage::{Assess, Commission, Deliver, Design};

// ---- registration -------------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_registration_opens_the_stream() {
    let outcome = when(vec![], register(registration())).await;
    assert_eq!(outcome, Ok(vec![registered()]));
}

#[tokio::test]
async fn registering_a_project_that_already_exists_is_refused_as_a_duplicate_id() {
    let outcome = when(vec![registered()], register(registration())).await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/project_id".into(),
            id: PROJECT_ID.into(),
        })
    );
}

#[tokio::test]
async fn a_registration_without_a_description_is_accepted() {
    let registration = ProjectRegistered {
        description: None,
        ..registration()
    };
    let outcome = when(vec![], register(registration.clone())).await;
    assert_eq!(
        outcome,
        Ok(vec![ProjectEvent::ProjectRegistered(registration)])
    );
}

#[tokio::test]
async fn a_registration_with_a_blank_title_is_refused() {
    let registration = ProjectRegistered {
        title: "   ".into(),
        ..registration()
    };
    let outcome = when(vec![], register(registration)).await;
    assert_eq!(field_paths(outcome), ["/title"]);
}

#[tokio::test]
async fn a_registration_reports_every_broken_field_together() {
    let registration = ProjectRegistered {
        title: "".into(),
        organisation: "Oxfordshire County Council".into(),
        service_area: "carers\nand families".into(),
        description: Some(" ".into()),
        priority_groups: vec!["Carers".into(), " carers ".into()],
        started_on: date(2025, 3, 3),
        ..registration()
    };
    let outcome = when(vec![], register(registration)).await;
    assert_eq!(
        field_paths(outcome),
        [
            "/title",
            "/organisation",
            "/service_area",
            "/description",
            "/priority_groups/1",
            "/started_on",
        ]
    );
}

#[tokio::test]
async fn a_registration_starting_tomorrow_is_accepted_but_not_the_day_after() {
    let tomorrow = ProjectRegistered {
        started_on: date(2025, 3, 2),
        ..registration()
    };
    assert!(when(vec![], register(tomorrow)).await.is_ok());

    let day_after = ProjectRegistered {
        started_on: date(2025, 3, 3),
        ..registration()
    };
    let outcome = when(vec![], register(day_after)).await;
    assert_eq!(field_paths(outcome), ["/started_on"]);
}

#[tokio::test]
async fn a_registration_with_twenty_one_priority_groups_is_refused() {
    let groups: Vec<String> = (1..=21).map(|i| format!("group {i}")).collect();
    let twenty = ProjectRegistered {
        priority_groups: groups[..20].to_vec(),
        ..registration()
    };
    assert!(when(vec![], register(twenty)).await.is_ok());

    let twenty_one = ProjectRegistered {
        priority_groups: groups,
        ..registration()
    };
    let outcome = when(vec![], register(twenty_one)).await;
    assert_eq!(field_paths(outcome), ["/priority_groups"]);
}

// ---- posting: existence, If-Match, batches ---------------------------------------------------------------

#[tokio::test]
async fn posting_a_fact_before_the_project_is_registered_is_refused_as_not_found() {
    let outcome = when(vec![], record(join("p1", LivedExperience))).await;
    assert_eq!(outcome, Err(ProjectError::ProjectNotFound));
}

#[tokio::test]
async fn a_post_whose_if_match_names_the_current_sequence_is_accepted() {
    let outcome = when(team(), record_if_at(role("p1", Role::CoChair), 5)).await;
    assert_eq!(outcome, recorded(vec![role("p1", Role::CoChair)]));
}

#[tokio::test]
async fn a_post_whose_if_match_names_an_older_sequence_is_refused_as_a_sequence_mismatch() {
    let outcome = when(team(), record_if_at(role("p1", Role::CoChair), 4)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::SequenceMismatch {
            expected: 4,
            actual: 5,
        })
    );
}

#[tokio::test]
async fn a_post_whose_if_match_names_a_future_sequence_is_refused_as_a_sequence_mismatch() {
    let outcome = when(vec![registered()], record_if_at(join("p1", Carer), 2)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::SequenceMismatch {
            expected: 2,
            actual: 1,
        })
    );
}

#[tokio::test]
async fn an_empty_batch_is_refused() {
    let outcome = when(team(), record_all(vec![])).await;
    assert_eq!(field_paths(outcome), ["/events"]);
}

#[tokio::test]
async fn a_batch_is_recorded_in_the_order_it_was_posted() {
    let facts = vec![
        start(Design),
        activity("a1", Design, &["p2"], &["p1", "p3"]),
        reward("p1", RewardKind::Voucher, Some(2500), Some("a1")),
        role("p3", Role::CoFacilitator),
    ];
    let outcome = when(team(), record_all(facts.clone())).await;
    assert_eq!(outcome, recorded(facts));
}

#[tokio::test]
async fn a_batch_may_use_a_participant_that_an_earlier_fact_of_the_same_batch_joined() {
    let facts = vec![
        join("p9", LivedExperience),
        contribution("c1", "p9", Commission),
    ];
    let outcome = when(team(), record_all(facts.clone())).await;
    assert_eq!(outcome, recorded(facts));
}

#[tokio::test]
async fn a_batch_is_refused_whole_and_the_refusal_points_at_the_offending_event() {
    let facts = vec![
        role("p1", Role::CoChair),
        role("p2", Role::CoChair),
        reward("p7", RewardKind::Learning, None, None),
        role("p3", Role::CoChair),
    ];
    let outcome = when(team(), record_all(facts)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/events/2/participant_id".into(),
            participant_id: "p7".into(),
        })
    );
}

#[tokio::test]
async fn a_field_error_inside_a_batch_is_placed_under_its_event() {
    let facts = vec![
        role("p1", Role::CoChair),
        join("not valid", Carer),
        role("p3", Role::CoChair),
    ];
    let outcome = when(team(), record_all(facts)).await;
    assert_eq!(field_paths(outcome), ["/events/1/participant_id"]);
}

#[tokio::test]
async fn a_single_posted_fact_is_refused_with_paths_relative_to_the_fact() {
    let outcome = when(team(), record(role("p7", Role::Learner))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p7".into(),
        })
    );
}

#[tokio::test]
async fn a_batch_that_joins_the_same_participant_twice_is_refused_at_the_second() {
    let facts = vec![join("p9", Carer), join("p9", Carer)];
    let outcome = when(team(), record_all(facts)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/events/1/participant_id".into(),
            id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn a_batch_with_if_match_is_checked_before_its_facts() {
    let command = ProjectCommand::Record {
        facts: vec![join("p1", Carer)],
        batch: true,
        expected_sequence: Some(3),
        context: context(),
    };
    let outcome = when(team(), command).await;
    assert_eq!(
        outcome,
        Err(ProjectError::SequenceMismatch {
            expected: 3,
            actual: 5,
        })
    );
}

// ---- participant_joined ---------------------------------------------------------------------------

#[tokio::test]
async fn a_participant_joining_is_recorded() {
    let outcome = when(vec![registered()], record(join("p1", LivedExperience))).await;
    assert_eq!(outcome, recorded(vec![join("p1", LivedExperience)]));
}

#[tokio::test]
async fn a_participant_id_already_in_use_is_refused_as_a_duplicate() {
    let outcome = when(team(), record(join("p2", Carer))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/participant_id".into(),
            id: "p2".into(),
        })
    );
}

#[tokio::test]
async fn a_participant_who_left_cannot_join_again_under_the_same_id() {
    let outcome = when(team_and(vec![leave("p1")]), record(join("p1", Carer))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/participant_id".into(),
            id: "p1".into(),
        })
    );
}

#[tokio::test]
async fn a_participant_id_of_sixty_four_characters_is_accepted() {
    let id = "a".repeat(64);
    let outcome = when(vec![registered()], record(join(&id, Carer))).await;
    assert_eq!(outcome, recorded(vec![join(&id, Carer)]));
}

#[tokio::test]
async fn a_participant_id_of_sixty_five_characters_is_refused() {
    let id = "a".repeat(65);
    let outcome = when(vec![registered()], record(join(&id, Carer))).await;
    assert_eq!(field_paths(outcome), ["/participant_id"]);
}

#[tokio::test]
async fn an_empty_participant_id_is_refused() {
    let outcome = when(vec![registered()], record(join("", Carer))).await;
    assert_eq!(field_paths(outcome), ["/participant_id"]);
}

#[tokio::test]
async fn a_participant_id_may_use_letters_digits_underscores_and_hyphens_only() {
    let fine = "Carer_07-b";
    assert!(when(vec![registered()], record(join(fine, Carer)))
        .await
        .is_ok());
    for bad in ["p 1", "p.1", "pé", "p/1", "p1\n"] {
        let outcome = when(vec![registered()], record(join(bad, Carer))).await;
        assert_eq!(field_paths(outcome), ["/participant_id"], "id {bad:?}");
    }
}

#[tokio::test]
async fn ten_groups_are_accepted_but_eleven_are_refused() {
    let groups: Vec<String> = (1..=11).map(|i| format!("group {i}")).collect();
    let ten = ParticipantJoined {
        groups: groups[..10].to_vec().into(),
        ..joined("p1", Carer)
    };
    let outcome = when(vec![registered()], record(Fact::ParticipantJoined(ten))).await;
    assert!(outcome.is_ok(), "{outcome:?}");

    let eleven = ParticipantJoined {
        groups: groups.into(),
        ..joined("p1", Carer)
    };
    let outcome = when(vec![registered()], record(Fact::ParticipantJoined(eleven))).await;
    assert_eq!(field_paths(outcome), ["/groups"]);
}

#[tokio::test]
async fn a_group_label_of_sixty_characters_is_accepted_but_sixty_one_is_refused() {
    // Counted in characters, not bytes: 60 'é' are 120 bytes.
    let sixty = ParticipantJoined {
        groups: vec!["é".repeat(60)].into(),
        ..joined("p1", Carer)
    };
    let outcome = when(vec![registered()], record(Fact::ParticipantJoined(sixty))).await;
    assert!(outcome.is_ok(), "{outcome:?}");

    let sixty_one = ParticipantJoined {
        groups: vec!["Somali community".into(), "x".repeat(61)].into(),
        ..joined("p1", Carer)
    };
    let outcome = when(
        vec![registered()],
        record(Fact::ParticipantJoined(sixty_one)),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/groups/1"]);
}

#[tokio::test]
async fn a_group_listed_twice_ignoring_case_is_refused() {
    let twice = ParticipantJoined {
        groups: strings(&["Somali community", "carers", "somali COMMUNITY"]).into(),
        ..joined("p1", Carer)
    };
    let outcome = when(vec![registered()], record(Fact::ParticipantJoined(twice))).await;
    assert_eq!(field_paths(outcome), ["/groups/2"]);
}

#[tokio::test]
async fn a_blank_group_label_is_refused() {
    let blank = ParticipantJoined {
        groups: strings(&["carers", " "]).into(),
        ..joined("p1", Carer)
    };
    let outcome = when(vec![registered()], record(Fact::ParticipantJoined(blank))).await;
    assert_eq!(field_paths(outcome), ["/groups/1"]);
}

#[tokio::test]
async fn a_participant_with_no_groups_is_accepted() {
    let none = ParticipantJoined {
        groups: vec![].into(),
        ..joined("p1", Professional)
    };
    let outcome = when(
        vec![registered()],
        record(Fact::ParticipantJoined(none.clone())),
    )
    .await;
    assert_eq!(outcome, recorded(vec![Fact::ParticipantJoined(none)]));
}

#[tokio::test]
async fn a_fact_that_occurs_tomorrow_is_accepted() {
    let tomorrow = ParticipantJoined {
        occurred_on: date(2025, 3, 2),
        ..joined("p1", Carer)
    };
    let outcome = when(
        vec![registered()],
        record(Fact::ParticipantJoined(tomorrow.clone())),
    )
    .await;
    assert_eq!(outcome, recorded(vec![Fact::ParticipantJoined(tomorrow)]));
}

#[tokio::test]
async fn a_fact_that_occurs_the_day_after_tomorrow_is_refused() {
    let day_after = ParticipantJoined {
        occurred_on: date(2025, 3, 3),
        ..joined("p1", Carer)
    };
    let outcome = when(
        vec![registered()],
        record(Fact::ParticipantJoined(day_after)),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/occurred_on"]);
}

#[tokio::test]
async fn the_future_date_rule_applies_to_every_kind_of_fact() {
    let later = date(2025, 3, 3);
    let facts = vec![
        Fact::ParticipantLeft(ParticipantLeft {
            participant_id: "p1".into(),
            reason: None,
            occurred_on: later,
            reason_code: None,
        }),
        Fact::StageStarted(StageStarted {
            stage: Design,
            occurred_on: later,
        }),
        Fact::StageCompleted(StageCompleted {
            stage: Commission,
            occurred_on: later,
        }),
        Fact::ActivityHeld(ActivityHeld {
            occurred_on: later,
            ..activity_held("a1", Commission, &["p2"], &["p1"])
        }),
        Fact::RewardGiven(RewardGiven {
            occurred_on: later,
            ..reward_given("p1", RewardKind::Learning, None, None)
        }),
        Fact::RoleTaken(RoleTaken {
            participant_id: "p1".into(),
            role: Role::CoChair,
            occurred_on: later,
        }),
        Fact::ContributionMade(ContributionMade {
            occurred_on: later,
            ..contribution_made("c1", "p1", Commission)
        }),
        Fact::DecisionMade(DecisionMade {
            occurred_on: later,
            ..decision_made("d1", Commission, &["p1"], &[])
        }),
        Fact::CorrectionRecorded(CorrectionRecorded {
            corrects_sequence: 2,
            reason: "wrong".into(),
            occurred_on: later,
        }),
        Fact::ProjectClosed(ProjectClosed {
            summary: "done".into(),
            occurred_on: later,
        }),
    ];
    for fact in facts {
        let kind = fact.event_type();
        let outcome = when(team(), record(fact)).await;
        assert_eq!(field_paths(outcome), ["/occurred_on"], "{kind}");
    }
}

// ---- participant_left -------------------------------------------------------------------------------

#[tokio::test]
async fn a_participant_who_joined_may_leave() {
    let outcome = when(team(), record(leave("p3"))).await;
    assert_eq!(outcome, recorded(vec![leave("p3")]));
}

#[tokio::test]
async fn a_participant_who_never_joined_cannot_leave() {
    let outcome = when(team(), record(leave("p9"))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn a_participant_who_left_cannot_leave_again() {
    let outcome = when(team_and(vec![leave("p3")]), record(leave("p3"))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::ParticipantHasLeft {
            path: "/participant_id".into(),
            participant_id: "p3".into(),
        })
    );
}

#[tokio::test]
async fn a_blank_reason_for_leaving_is_refused() {
    let blank = Fact::ParticipantLeft(ParticipantLeft {
        participant_id: "p3".into(),
        reason: Some("".into()),
        occurred_on: earlier(),
        reason_code: None,
    });
    let outcome = when(team(), record(blank)).await;
    assert_eq!(field_paths(outcome), ["/reason"]);
}

// ---- stages ------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_first_stage_may_be_commission() {
    let outcome = when(vec![registered()], record(start(Commission))).await;
    assert_eq!(outcome, recorded(vec![start(Commission)]));
}

#[tokio::test]
async fn the_first_stage_must_be_commission() {
    let outcome = when(vec![registered()], record(start(Design))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageOutOfOrder {
            path: "/stage".into(),
            stage: Design,
            expected: Some(Commission),
        })
    );
}

#[tokio::test]
async fn a_stage_cannot_be_skipped() {
    let outcome = when(team(), record(start(Deliver))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageOutOfOrder {
            path: "/stage".into(),
            stage: Deliver,
            expected: Some(Design),
        })
    );
}

#[tokio::test]
async fn a_started_stage_cannot_be_started_again() {
    let outcome = when(team(), record(start(Commission))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageOutOfOrder {
            path: "/stage".into(),
            stage: Commission,
            expected: Some(Design),
        })
    );
}

#[tokio::test]
async fn once_every_stage_has_started_no_stage_may_start() {
    let given = team_and(vec![start(Design), start(Deliver), start(Assess)]);
    let outcome = when(given, record(start(Assess))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageOutOfOrder {
            path: "/stage".into(),
            stage: Assess,
            expected: None,
        })
    );
}

#[tokio::test]
async fn the_four_stages_may_start_in_order_in_one_batch() {
    let facts = vec![
        start(Commission),
        start(Design),
        start(Deliver),
        start(Assess),
        complete(Assess),
    ];
    let outcome = when(vec![registered()], record_all(facts.clone())).await;
    assert_eq!(outcome, recorded(facts));
}

#[tokio::test]
async fn a_started_stage_may_be_completed() {
    let outcome = when(team(), record(complete(Commission))).await;
    assert_eq!(outcome, recorded(vec![complete(Commission)]));
}

#[tokio::test]
async fn the_next_stage_may_start_after_the_previous_one_was_completed() {
    let outcome = when(team_and(vec![complete(Commission)]), record(start(Design))).await;
    assert_eq!(outcome, recorded(vec![start(Design)]));
}

#[tokio::test]
async fn starting_a_stage_completes_the_previous_one() {
    let outcome = when(team_and(vec![start(Design)]), record(complete(Commission))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageAlreadyCompleted {
            path: "/stage".into(),
            stage: Commission,
        })
    );
}

#[tokio::test]
async fn completing_a_completed_stage_is_refused() {
    let outcome = when(
        team_and(vec![complete(Commission)]),
        record(complete(Commission)),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageAlreadyCompleted {
            path: "/stage".into(),
            stage: Commission,
        })
    );
}

#[tokio::test]
async fn completing_a_stage_that_has_not_started_is_refused() {
    let outcome = when(team(), record(complete(Design))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageNotStarted {
            path: "/stage".into(),
            stage: Design,
        })
    );
}

// ---- activity_held -----------------------------------------------------------------------------------

#[tokio::test]
async fn an_activity_of_present_participants_in_a_started_stage_is_recorded() {
    let held = activity("a1", Commission, &["p2"], &["p1", "p3"]);
    let outcome = when(team(), record(held.clone())).await;
    assert_eq!(outcome, recorded(vec![held]));
}

#[tokio::test]
async fn an_activity_may_be_held_in_a_stage_that_is_already_complete() {
    let held = activity("a1", Commission, &[], &["p1"]);
    let outcome = when(team_and(vec![start(Design)]), record(held.clone())).await;
    assert_eq!(outcome, recorded(vec![held]));
}

#[tokio::test]
async fn an_activity_in_a_stage_that_has_not_started_is_refused() {
    let outcome = when(team(), record(activity("a1", Design, &["p2"], &["p1"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageNotStarted {
            path: "/stage".into(),
            stage: Design,
        })
    );
}

#[tokio::test]
async fn an_activity_with_an_unknown_attendee_is_refused() {
    let outcome = when(
        team(),
        record(activity("a1", Commission, &["p2"], &["p1", "p9"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/attendees/1".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn an_activity_with_an_unknown_facilitator_is_refused() {
    let outcome = when(
        team(),
        record(activity("a1", Commission, &["p2", "f7"], &["p1"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/facilitators/1".into(),
            participant_id: "f7".into(),
        })
    );
}

#[tokio::test]
async fn an_activity_facilitated_by_someone_who_left_is_refused() {
    let outcome = when(
        team_and(vec![leave("p2")]),
        record(activity("a1", Commission, &["p2"], &["p1"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::ParticipantHasLeft {
            path: "/facilitators/0".into(),
            participant_id: "p2".into(),
        })
    );
}

#[tokio::test]
async fn an_activity_id_already_in_use_is_refused_as_a_duplicate() {
    let outcome = when(
        team_and(vec![activity("a1", Commission, &["p2"], &["p1"])]),
        record(activity("a1", Commission, &["p2"], &["p3"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/activity_id".into(),
            id: "a1".into(),
        })
    );
}

#[tokio::test]
async fn an_activity_with_a_blank_title_is_refused() {
    let untitled = ActivityHeld {
        title: "\t ".into(),
        ..activity_held("a1", Commission, &["p2"], &["p1"])
    };
    let outcome = when(team(), record(Fact::ActivityHeld(untitled))).await;
    assert_eq!(field_paths(outcome), ["/title"]);
}

#[tokio::test]
async fn an_activity_title_on_two_lines_is_refused() {
    let two_lines = ActivityHeld {
        title: "Workshop\nsecond line".into(),
        ..activity_held("a1", Commission, &["p2"], &["p1"])
    };
    let outcome = when(team(), record(Fact::ActivityHeld(two_lines))).await;
    assert_eq!(field_paths(outcome), ["/title"]);
}

#[tokio::test]
async fn an_activity_with_nobody_at_it_is_refused() {
    let outcome = when(team(), record(activity("a1", Commission, &[], &[]))).await;
    assert_eq!(field_paths(outcome), ["/attendees"]);
}

#[tokio::test]
async fn an_attendee_listed_twice_is_refused() {
    let outcome = when(
        team(),
        record(activity("a1", Commission, &["p2"], &["p1", "p3", "p1"])),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/attendees/2"]);
}

// ---- reward_given --------------------------------------------------------------------------------------

#[tokio::test]
async fn a_payment_for_a_known_activity_is_recorded() {
    let given = team_and(vec![activity("a1", Commission, &["p2"], &["p1"])]);
    let paid = reward("p1", RewardKind::Payment, Some(5000), Some("a1"));
    let outcome = when(given, record(paid.clone())).await;
    assert_eq!(outcome, recorded(vec![paid]));
}

#[tokio::test]
async fn a_reward_for_an_unknown_activity_is_refused() {
    let outcome = when(
        team(),
        record(reward("p1", RewardKind::Voucher, Some(2000), Some("a9"))),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownActivity {
            path: "/activity_id".into(),
            activity_id: "a9".into(),
        })
    );
}

#[tokio::test]
async fn a_reward_to_a_participant_who_never_joined_is_refused() {
    let outcome = when(
        team(),
        record(reward("p9", RewardKind::Payment, Some(2000), None)),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn a_reward_to_a_participant_who_has_since_left_is_accepted() {
    let paid = reward("p1", RewardKind::Expenses, Some(640), None);
    let outcome = when(team_and(vec![leave("p1")]), record(paid.clone())).await;
    assert_eq!(outcome, recorded(vec![paid]));
}

#[tokio::test]
async fn a_payment_voucher_charity_donation_or_expenses_without_an_amount_is_refused() {
    for kind in [
        RewardKind::Payment,
        RewardKind::Voucher,
        RewardKind::CharityDonation,
        RewardKind::Expenses,
    ] {
        let outcome = when(team(), record(reward("p1", kind, None, None))).await;
        assert_eq!(field_paths(outcome), ["/amount_pence"], "{kind:?}");
    }
}

#[tokio::test]
async fn learning_recognition_and_opportunity_need_no_amount() {
    for kind in [
        RewardKind::Learning,
        RewardKind::Recognition,
        RewardKind::Opportunity,
    ] {
        let given = reward("p1", kind, None, None);
        let outcome = when(team(), record(given.clone())).await;
        assert_eq!(outcome, recorded(vec![given]), "{kind:?}");
    }
}

#[tokio::test]
async fn a_negative_amount_is_refused() {
    let outcome = when(
        team(),
        record(reward("p1", RewardKind::Payment, Some(-1), None)),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/amount_pence"]);
}

#[tokio::test]
async fn amounts_from_zero_to_one_million_pounds_are_accepted_and_more_is_refused() {
    for amount in [0, MAX_AMOUNT_PENCE] {
        let paid = reward("p1", RewardKind::Payment, Some(amount), None);
        let outcome = when(team(), record(paid.clone())).await;
        assert_eq!(outcome, recorded(vec![paid]), "{amount}");
    }
    let outcome = when(
        team(),
        record(reward(
            "p1",
            RewardKind::Payment,
            Some(MAX_AMOUNT_PENCE + 1),
            None,
        )),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/amount_pence"]);
}

// ---- role_taken --------------------------------------------------------------------------------------

#[tokio::test]
async fn a_role_taken_by_a_participant_is_recorded() {
    let taken = role("p3", Role::QualityAssurer);
    let outcome = when(team(), record(taken.clone())).await;
    assert_eq!(outcome, recorded(vec![taken]));
}

#[tokio::test]
async fn a_role_taken_by_someone_who_never_joined_is_refused() {
    let outcome = when(team(), record(role("p9", Role::CoChair))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p9".into(),
        })
    );
}

// ---- contribution_made -----------------------------------------------------------------------------

#[tokio::test]
async fn a_contribution_in_a_started_stage_is_recorded() {
    let made = contribution("c1", "p1", Commission);
    let outcome = when(team(), record(made.clone())).await;
    assert_eq!(outcome, recorded(vec![made]));
}

#[tokio::test]
async fn a_contribution_in_a_stage_that_has_not_started_is_refused() {
    let outcome = when(team(), record(contribution("c1", "p1", Deliver))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageNotStarted {
            path: "/stage".into(),
            stage: Deliver,
        })
    );
}

#[tokio::test]
async fn a_contribution_by_someone_who_never_joined_is_refused() {
    let outcome = when(team(), record(contribution("c1", "p9", Commission))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn a_contribution_by_someone_who_has_left_is_refused() {
    let outcome = when(
        team_and(vec![leave("p1")]),
        record(contribution("c1", "p1", Commission)),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::ParticipantHasLeft {
            path: "/participant_id".into(),
            participant_id: "p1".into(),
        })
    );
}

#[tokio::test]
async fn a_contribution_id_already_in_use_is_refused_as_a_duplicate() {
    let outcome = when(
        team_and(vec![contribution("c1", "p1", Commission)]),
        record(contribution("c1", "p3", Commission)),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/contribution_id".into(),
            id: "c1".into(),
        })
    );
}

#[tokio::test]
async fn a_summary_of_five_hundred_characters_is_accepted() {
    let made = Fact::ContributionMade(ContributionMade {
        summary: "ü".repeat(500).into(),
        ..contribution_made("c1", "p1", Commission)
    });
    let outcome = when(team(), record(made.clone())).await;
    assert_eq!(outcome, recorded(vec![made]));
}

#[tokio::test]
async fn a_summary_of_five_hundred_and_one_characters_is_refused() {
    let made = Fact::ContributionMade(ContributionMade {
        summary: "x".repeat(501).into(),
        ..contribution_made("c1", "p1", Commission)
    });
    let outcome = when(team(), record(made)).await;
    assert_eq!(field_paths(outcome), ["/summary"]);
}

#[tokio::test]
async fn a_summary_may_run_over_several_lines_but_contain_no_other_control_characters() {
    let multiline = Fact::ContributionMade(ContributionMade {
        summary: "First:\n\tevening sessions\r\nSecond: \"quotes\" and \\ are fine".into(),
        ..contribution_made("c1", "p1", Commission)
    });
    let outcome = when(team(), record(multiline.clone())).await;
    assert_eq!(outcome, recorded(vec![multiline]));

    let control = Fact::ContributionMade(ContributionMade {
        summary: "bell \u{7} here".into(),
        ..contribution_made("c1", "p1", Commission)
    });
    let outcome = when(team(), record(control)).await;
    assert_eq!(field_paths(outcome), ["/summary"]);
}

// ---- contribution_responded ----------------------------------------------------------------------------

#[tokio::test]
async fn a_response_to_a_known_contribution_is_recorded() {
    let answered = response("c1", Response::Adapted);
    let outcome = when(
        team_and(vec![contribution("c1", "p1", Commission)]),
        record(answered.clone()),
    )
    .await;
    assert_eq!(outcome, recorded(vec![answered]));
}

#[tokio::test]
async fn a_response_to_an_unknown_contribution_is_refused() {
    let outcome = when(team(), record(response("c9", Response::Adopted))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownContribution {
            path: "/contribution_id".into(),
            contribution_id: "c9".into(),
        })
    );
}

#[tokio::test]
async fn a_second_response_to_the_same_contribution_is_refused() {
    let given = team_and(vec![
        contribution("c1", "p1", Commission),
        response("c1", Response::NotAdopted),
    ]);
    let outcome = when(given, record(response("c1", Response::Adopted))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::AlreadyResponded {
            path: "/contribution_id".into(),
            contribution_id: "c1".into(),
        })
    );
}

#[tokio::test]
async fn a_second_response_is_accepted_once_a_correction_withdraws_the_first() {
    let given = team_and(vec![
        contribution("c1", "p1", Commission), // 6
        response("c1", Response::NotAdopted), // 7
        correction(7),                        // 8
    ]);
    let answered = response("c1", Response::Adopted);
    let outcome = when(given, record(answered.clone())).await;
    assert_eq!(outcome, recorded(vec![answered]));
}

#[tokio::test]
async fn a_response_with_an_explanation_over_one_thousand_characters_is_refused() {
    let long = Fact::ContributionResponded(ContributionResponded {
        contribution_id: "c1".into(),
        response: Response::Adopted,
        explanation: "y".repeat(1001),
        occurred_on: earlier(),
    });
    let outcome = when(
        team_and(vec![contribution("c1", "p1", Commission)]),
        record(long),
    )
    .await;
    assert_eq!(field_paths(outcome), ["/explanation"]);
}

// ---- decision_made ------------------------------------------------------------------------------------

#[tokio::test]
async fn a_decision_by_consensus_influenced_by_a_contribution_is_recorded() {
    let given = team_and(vec![contribution("c1", "p1", Commission)]);
    let decided = decision("d1", Commission, &["p1", "p2", "p3"], &["c1"]);
    let outcome = when(given, record(decided.clone())).await;
    assert_eq!(outcome, recorded(vec![decided]));
}

#[tokio::test]
async fn a_decision_in_a_stage_that_has_not_started_is_refused() {
    let outcome = when(team(), record(decision("d1", Assess, &["p1"], &[]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::StageNotStarted {
            path: "/stage".into(),
            stage: Assess,
        })
    );
}

#[tokio::test]
async fn a_decision_with_an_unknown_participant_is_refused() {
    let outcome = when(
        team(),
        record(decision("d1", Commission, &["p1", "p9"], &[])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participants/1".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn a_decision_taken_with_someone_who_has_left_is_refused() {
    let outcome = when(
        team_and(vec![leave("p3")]),
        record(decision("d1", Commission, &["p1", "p2", "p3"], &[])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::ParticipantHasLeft {
            path: "/participants/2".into(),
            participant_id: "p3".into(),
        })
    );
}

#[tokio::test]
async fn a_decision_influenced_by_an_unknown_contribution_is_refused() {
    let given = team_and(vec![contribution("c1", "p1", Commission)]);
    let outcome = when(
        given,
        record(decision("d1", Commission, &["p1"], &["c1", "c7"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownContribution {
            path: "/influenced_by/1".into(),
            contribution_id: "c7".into(),
        })
    );
}

#[tokio::test]
async fn a_decision_id_already_in_use_is_refused_as_a_duplicate() {
    let outcome = when(
        team_and(vec![decision("d1", Commission, &["p1"], &[])]),
        record(decision("d1", Commission, &["p2"], &[])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/decision_id".into(),
            id: "d1".into(),
        })
    );
}

#[tokio::test]
async fn a_decision_without_participants_is_refused() {
    let outcome = when(team(), record(decision("d1", Commission, &[], &[]))).await;
    assert_eq!(field_paths(outcome), ["/participants"]);
}

#[tokio::test]
async fn a_decision_by_vote_with_its_votes_is_recorded() {
    let voted = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::Vote,
        votes: Some(votes(&["p1", "p3"], &["p2"], &[])),
        ..decision_made("d1", Commission, &["p1", "p2", "p3"], &[])
    });
    let outcome = when(team(), record(voted.clone())).await;
    assert_eq!(outcome, recorded(vec![voted]));
}

#[tokio::test]
async fn a_decision_by_vote_without_votes_is_refused() {
    let voted = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::Vote,
        votes: None,
        ..decision_made("d1", Commission, &["p1", "p2"], &[])
    });
    let outcome = when(team(), record(voted)).await;
    assert_eq!(field_paths(outcome), ["/votes"]);
}

#[tokio::test]
async fn votes_on_a_decision_not_made_by_vote_are_refused() {
    let decided = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::LivedExperienceLed,
        votes: Some(votes(&["p1"], &[], &[])),
        ..decision_made("d1", Commission, &["p1", "p2"], &[])
    });
    let outcome = when(team(), record(decided)).await;
    assert_eq!(field_paths(outcome), ["/votes"]);
}

#[tokio::test]
async fn a_vote_with_no_votes_cast_is_refused() {
    let voted = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::Vote,
        votes: Some(votes(&[], &[], &[])),
        ..decision_made("d1", Commission, &["p1", "p2"], &[])
    });
    let outcome = when(team(), record(voted)).await;
    assert_eq!(field_paths(outcome), ["/votes"]);
}

#[tokio::test]
async fn a_voter_who_is_not_among_the_participants_is_refused() {
    let voted = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::Vote,
        votes: Some(votes(&["p1"], &[], &["p3"])),
        ..decision_made("d1", Commission, &["p1", "p2"], &[])
    });
    let outcome = when(team(), record(voted)).await;
    assert_eq!(field_paths(outcome), ["/votes/abstain/0"]);
}

#[tokio::test]
async fn a_participant_who_votes_twice_is_refused() {
    let voted = Fact::DecisionMade(DecisionMade {
        method: DecisionMethod::Vote,
        votes: Some(votes(&["p1", "p2"], &["p1"], &[])),
        ..decision_made("d1", Commission, &["p1", "p2"], &[])
    });
    let outcome = when(team(), record(voted)).await;
    assert_eq!(field_paths(outcome), ["/votes/against/0"]);
}

// ---- outcome_reviewed ---------------------------------------------------------------------------------

#[tokio::test]
async fn an_outcome_review_naming_participants_who_joined_is_recorded() {
    let reviewed = outcome("o1", &["p2"], &["p1", "p3"]);
    let outcome = when(team_and(vec![leave("p3")]), record(reviewed.clone())).await;
    assert_eq!(outcome, recorded(vec![reviewed]));
}

#[tokio::test]
async fn an_outcome_review_with_an_unknown_accountable_participant_is_refused() {
    let outcome = when(team(), record(outcome("o1", &["p8"], &["p1"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/accountable/0".into(),
            participant_id: "p8".into(),
        })
    );
}

#[tokio::test]
async fn an_outcome_review_with_an_unknown_reviewer_is_refused() {
    let outcome = when(team(), record(outcome("o1", &["p2"], &["p1", "p9"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/reviewed_by/1".into(),
            participant_id: "p9".into(),
        })
    );
}

#[tokio::test]
async fn an_outcome_id_already_in_use_is_refused_as_a_duplicate() {
    let outcome = when(
        team_and(vec![outcome("o1", &["p2"], &["p1"])]),
        record(outcome("o1", &["p2"], &["p3"])),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::DuplicateId {
            path: "/outcome_id".into(),
            id: "o1".into(),
        })
    );
}

#[tokio::test]
async fn an_outcome_review_with_nobody_accountable_and_no_reviewer_is_refused() {
    let outcome = when(team(), record(outcome("o1", &[], &[]))).await;
    assert_eq!(field_paths(outcome), ["/accountable", "/reviewed_by"]);
}

// ---- corrections -------------------------------------------------------------------------------------

#[tokio::test]
async fn a_correction_of_an_earlier_fact_is_recorded() {
    let outcome = when(team(), record(correction(4))).await;
    assert_eq!(outcome, recorded(vec![correction(4)]));
}

#[tokio::test]
async fn a_correction_of_an_entry_that_does_not_exist_is_refused() {
    let outcome = when(team(), record(correction(6))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownEntry {
            path: "/corrects_sequence".into(),
            sequence: 6,
        })
    );
}

#[tokio::test]
async fn a_correction_of_sequence_zero_is_refused_as_a_field_error() {
    let outcome = when(team(), record(correction(0))).await;
    assert_eq!(field_paths(outcome), ["/corrects_sequence"]);
}

#[tokio::test]
async fn the_registration_cannot_be_corrected() {
    let outcome = when(team(), record(correction(1))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::CorrectionNotAllowed {
            path: "/corrects_sequence".into(),
            sequence: 1,
            why: CorrectionRefusal::Registration,
        })
    );
}

#[tokio::test]
async fn a_correction_cannot_itself_be_corrected() {
    let outcome = when(team_and(vec![correction(3)]), record(correction(6))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::CorrectionNotAllowed {
            path: "/corrects_sequence".into(),
            sequence: 6,
            why: CorrectionRefusal::Correction,
        })
    );
}

#[tokio::test]
async fn an_entry_already_withdrawn_cannot_be_withdrawn_again() {
    let outcome = when(team_and(vec![correction(3)]), record(correction(3))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::AlreadyWithdrawn {
            path: "/corrects_sequence".into(),
            sequence: 3,
        })
    );
}

#[tokio::test]
async fn a_stage_start_cannot_be_withdrawn_while_a_later_stage_has_started() {
    let outcome = when(team_and(vec![start(Design)]), record(correction(5))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::CorrectionNotAllowed {
            path: "/corrects_sequence".into(),
            sequence: 5,
            why: CorrectionRefusal::LaterStageStarted,
        })
    );
}

#[tokio::test]
async fn withdrawing_the_latest_stage_start_lets_that_stage_start_again() {
    // 6 design started (completing commission), 7 its withdrawal: design has not started and
    // commission is open again.
    let given = team_and(vec![start(Design), correction(6)]);
    let outcome = when(given.clone(), record(complete(Commission))).await;
    assert_eq!(outcome, recorded(vec![complete(Commission)]));
    let outcome = when(given, record(start(Design))).await;
    assert_eq!(outcome, recorded(vec![start(Design)]));
}

#[tokio::test]
async fn a_stage_started_again_after_a_withdrawn_start_is_open_even_if_it_had_been_completed() {
    // 6 design started, 7 design completed, 8 the start withdrawn, 9 design started again: the
    // completion at 7 belonged to the withdrawn start, so design is open and may be completed.
    let given = team_and(vec![
        start(Design),
        complete(Design),
        correction(6),
        start(Design),
    ]);
    let outcome = when(given, record(complete(Design))).await;
    assert_eq!(outcome, recorded(vec![complete(Design)]));
}

#[tokio::test]
async fn withdrawing_a_stage_completion_lets_the_stage_be_completed_again() {
    let given = team_and(vec![complete(Commission), correction(6)]);
    let outcome = when(given, record(complete(Commission))).await;
    assert_eq!(outcome, recorded(vec![complete(Commission)]));
}

#[tokio::test]
async fn withdrawing_a_participant_joined_makes_that_participant_unknown_again() {
    let given = team_and(vec![correction(2)]);
    let outcome = when(given.clone(), record(role("p1", Role::CoChair))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/participant_id".into(),
            participant_id: "p1".into(),
        })
    );
    let outcome = when(given, record(activity("a1", Commission, &["p2"], &["p1"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownParticipant {
            path: "/attendees/0".into(),
            participant_id: "p1".into(),
        })
    );
}

#[tokio::test]
async fn withdrawing_a_participant_joined_lets_the_id_be_used_again() {
    let given = team_and(vec![leave("p1"), correction(2)]);
    let rejoined = join("p1", Carer);
    let outcome = when(given.clone(), record(rejoined.clone())).await;
    assert_eq!(outcome, recorded(vec![rejoined.clone()]));

    // The participant who joins under the reused id has not left: the earlier leaving belonged to
    // the withdrawn participant.
    let mut rejoined_history = given;
    rejoined_history.push(rejoined.into());
    let made = contribution("c1", "p1", Commission);
    let outcome = when(rejoined_history, record(made.clone())).await;
    assert_eq!(outcome, recorded(vec![made]));
}

#[tokio::test]
async fn a_later_correction_keeps_a_reused_participant_id_present() {
    // 6 p1 left, 7 p1's joining withdrawn, 8 p1 joins again, 9 an unrelated correction folds
    // the whole stream again: the new p1 must still be present.
    let given = team_and(vec![
        leave("p1"),
        correction(2),
        join("p1", Carer),
        correction(4),
    ]);
    let made = contribution("c1", "p1", Commission);
    let outcome = when(given, record(made.clone())).await;
    assert_eq!(outcome, recorded(vec![made]));
}

#[tokio::test]
async fn a_later_correction_keeps_a_restarted_stage_open() {
    // 6 design started, 7 design completed, 8 the start withdrawn, 9 design started again,
    // 10 an unrelated correction folds the whole stream again.
    let given = team_and(vec![
        start(Design),
        complete(Design),
        correction(6),
        start(Design),
        correction(4),
    ]);
    let outcome = when(given, record(complete(Design))).await;
    assert_eq!(outcome, recorded(vec![complete(Design)]));
}

#[tokio::test]
async fn withdrawing_a_participant_left_lets_them_take_part_again() {
    let given = team_and(vec![leave("p1"), correction(6)]);
    let made = contribution("c1", "p1", Commission);
    let outcome = when(given, record(made.clone())).await;
    assert_eq!(outcome, recorded(vec![made]));
}

#[tokio::test]
async fn withdrawing_an_activity_makes_rewards_for_it_unknown() {
    let given = team_and(vec![
        activity("a1", Commission, &["p2"], &["p1"]),
        correction(6),
    ]);
    let outcome = when(
        given,
        record(reward("p1", RewardKind::Payment, Some(3000), Some("a1"))),
    )
    .await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownActivity {
            path: "/activity_id".into(),
            activity_id: "a1".into(),
        })
    );
}

#[tokio::test]
async fn withdrawing_a_contribution_makes_it_unknown_to_later_decisions() {
    let given = team_and(vec![contribution("c1", "p1", Commission), correction(6)]);
    let outcome = when(given, record(decision("d1", Commission, &["p1"], &["c1"]))).await;
    assert_eq!(
        outcome,
        Err(ProjectError::UnknownContribution {
            path: "/influenced_by/0".into(),
            contribution_id: "c1".into(),
        })
    );
}

#[tokio::test]
async fn a_batch_may_withdraw_a_fact_and_then_rely_on_the_withdrawal() {
    // Sequence 6 is the activity; the correction withdraws it and the same id is then reused.
    let facts = vec![
        activity("a1", Commission, &["p2"], &["p1"]),
        correction(6),
        activity("a1", Commission, &["p2"], &["p3"]),
    ];
    let outcome = when(team(), record_all(facts.clone())).await;
    assert_eq!(outcome, recorded(facts));
}

#[tokio::test]
async fn a_correction_refused_inside_a_batch_points_at_its_event() {
    let facts = vec![role("p1", Role::CoChair), correction(1)];
    let outcome = when(team(), record_all(facts)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::CorrectionNotAllowed {
            path: "/events/1/corrects_sequence".into(),
            sequence: 1,
            why: CorrectionRefusal::Registration,
        })
    );
}

// ---- closure ------------------------------------------------------------------------------------------

#[tokio::test]
async fn closing_a_project_is_recorded() {
    let outcome = when(team(), record(close())).await;
    assert_eq!(outcome, recorded(vec![close()]));
}

#[tokio::test]
async fn after_closure_every_fact_but_a_correction_is_refused() {
    let given = team_and(vec![
        contribution("c1", "p1", Commission),         // 6
        activity("a1", Commission, &["p2"], &["p1"]), // 7
        close(),                                      // 8
    ]);
    let facts = vec![
        join("p9", Carer),
        leave("p1"),
        start(Design),
        complete(Commission),
        activity("a2", Commission, &["p2"], &["p1"]),
        reward("p1", RewardKind::Payment, Some(100), Some("a1")),
        role("p1", Role::CoChair),
        contribution("c2", "p1", Commission),
        response("c1", Response::Adopted),
        decision("d1", Commission, &["p1"], &["c1"]),
        outcome("o1", &["p2"], &["p1"]),
        close(),
        people_told("d0"),
        feedback(&["c1"]),
    ];
    assert_eq!(
        facts.len() + 1,
        Fact::TYPES.len(),
        "every type but corrections"
    );
    for fact in facts {
        let kind = fact.event_type();
        let outcome = when(given.clone(), record(fact)).await;
        assert_eq!(
            outcome,
            Err(ProjectError::ProjectClosed {
                path: "/type".into()
            }),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn a_correction_is_accepted_after_closure() {
    let given = team_and(vec![role("p1", Role::CoChair), close()]);
    let outcome = when(given, record(correction(6))).await;
    assert_eq!(outcome, recorded(vec![correction(6)]));
}

#[tokio::test]
async fn a_fact_after_a_closure_in_the_same_batch_is_refused() {
    let facts = vec![close(), role("p1", Role::CoChair)];
    let outcome = when(team(), record_all(facts)).await;
    assert_eq!(
        outcome,
        Err(ProjectError::ProjectClosed {
            path: "/events/1/type".into()
        })
    );
}

#[tokio::test]
async fn withdrawing_the_closure_reopens_the_project() {
    let given = team_and(vec![close(), correction(6)]);
    let project = project_from(given.clone());
    assert!(!project.is_closed());
    let taken = role("p1", Role::CoChair);
    let outcome = when(given, record(taken.clone())).await;
    assert_eq!(outcome, recorded(vec![taken]));
}

// ---- the aggregate's state -------------------------------------------------------------------------------

#[test]
fn the_project_counts_every_entry_including_corrections_and_withdrawn_ones() {
    let empty = Project::default();
    assert!(!empty.is_registered());
    assert_eq!(empty.sequence(), 0);

    let project = project_from(team_and(vec![close(), correction(6), close()]));
    assert!(project.is_registered());
    assert_eq!(project.project_id(), Some(project_id()));
    assert_eq!(project.organisation(), "oxfordshire");
    assert_eq!(project.sequence(), 8);
    assert!(project.is_closed());
}

#[test]
fn a_project_survives_a_snapshot_round_trip() {
    let project = project_from(team_and(vec![
        contribution("c1", "p1", Commission),
        response("c1", Response::Adopted),
        correction(7),
        leave("p3"),
    ]));
    let snapshot = serde_json::to_value(&project).unwrap();
    let restored: Project = serde_json::from_value(snapshot).unwrap();
    assert_eq!(restored, project);
}

// ---- error classes ---------------------------------------------------------------------------------------

#[test]
fn each_refusal_has_its_stable_code_and_class() {
    let path = || "/x".to_string();
    let cases = [
        (
            ProjectError::ValidationFailed(vec![]),
            "validation_failed",
            ErrorClass::Rule,
        ),
        (
            ProjectError::UnknownParticipant {
                path: path(),
                participant_id: "p".into(),
            },
            "unknown_participant",
            ErrorClass::Rule,
        ),
        (
            ProjectError::ParticipantHasLeft {
                path: path(),
                participant_id: "p".into(),
            },
            "participant_has_left",
            ErrorClass::Rule,
        ),
        (
            ProjectError::UnknownActivity {
                path: path(),
                activity_id: "a".into(),
            },
            "unknown_activity",
            ErrorClass::Rule,
        ),
        (
            ProjectError::UnknownContribution {
                path: path(),
                contribution_id: "c".into(),
            },
            "unknown_contribution",
            ErrorClass::Rule,
        ),
        (
            ProjectError::AlreadyResponded {
                path: path(),
                contribution_id: "c".into(),
            },
            "already_responded",
            ErrorClass::Rule,
        ),
        (
            ProjectError::StageNotStarted {
                path: path(),
                stage: Design,
            },
            "stage_not_started",
            ErrorClass::Rule,
        ),
        (
            ProjectError::StageOutOfOrder {
                path: path(),
                stage: Design,
                expected: None,
            },
            "stage_out_of_order",
            ErrorClass::Rule,
        ),
        (
            ProjectError::StageAlreadyCompleted {
                path: path(),
                stage: Design,
            },
            "stage_already_completed",
            ErrorClass::Rule,
        ),
        (
            ProjectError::DuplicateId {
                path: path(),
                id: "p".into(),
            },
            "duplicate_id",
            ErrorClass::Conflict,
        ),
        (
            ProjectError::UnknownEntry {
                path: path(),
                sequence: 9,
            },
            "unknown_entry",
            ErrorClass::Rule,
        ),
        (
            ProjectError::AlreadyWithdrawn {
                path: path(),
                sequence: 9,
            },
            "already_withdrawn",
            ErrorClass::Rule,
        ),
        (
            ProjectError::CorrectionNotAllowed {
                path: path(),
                sequence: 1,
                why: CorrectionRefusal::Registration,
            },
            "correction_not_allowed",
            ErrorClass::Rule,
        ),
        (
            ProjectError::ProjectClosed { path: path() },
            "project_closed",
            ErrorClass::Rule,
        ),
        (
            ProjectError::ProjectNotFound,
            "not_found",
            ErrorClass::NotFound,
        ),
        (
            ProjectError::SequenceMismatch {
                expected: 1,
                actual: 2,
            },
            "sequence_mismatch",
            ErrorClass::Conflict,
        ),
    ];
    for (error, code, class) in cases {
        assert_eq!(error.code(), code, "{error:?}");
        assert_eq!(error.class(), class, "{error:?}");
    }
}

#[test]
fn a_rule_refusal_names_its_field_and_a_conflict_of_sequence_names_none() {
    let unknown = ProjectError::UnknownActivity {
        path: "/events/2/activity_id".into(),
        activity_id: "a9".into(),
    };
    let fields = unknown.field_errors();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].path, "/events/2/activity_id");
    assert!(ProjectError::SequenceMismatch {
        expected: 1,
        actual: 2
    }
    .field_errors()
    .is_empty());
    assert!(ProjectError::ProjectNotFound.field_errors().is_empty());
}
