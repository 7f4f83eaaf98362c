//! Given/when/then tests of the one rule for free text (`validate::text_problem`): every field a
//! person writes words into refuses the characters that reverse or isolate the direction of
//! text, NUL and the other control characters; only long texts take line breaks and tabs.

use coprod_domain::digest::Digest;
use coprod_domain::rubric::RubricReference;
use coprod_domain::testkit::facts::*;
use coprod_domain::validate::{is_direction_control, text_problem};
use coprod_domain::*;

use Stage::Commission;

/// One free-text field: where it is, whether it may run over several lines, and the command
/// that records `text` in it (after the registration, for all but the registration itself).
struct TextField {
    path: &'static str,
    multiline: bool,
    with: fn(&str) -> ProjectCommand,
}

fn registration_with(change: impl FnOnce(&mut ProjectRegistered)) -> ProjectCommand {
    let mut registration = registration();
    change(&mut registration);
    register(registration)
}

fn seal_with(purpose: &str) -> ProjectCommand {
    let latest = rubric::latest();
    ProjectCommand::Seal {
        seal: AssessmentSealed {
            requested_as_of: None,
            as_of: "2025-03-01T10:00:00.000000Z".into(),
            happened_by: None,
            at_sequence: 1,
            stream_digest: Digest::of_bytes(b"stream"),
            rubric: RubricReference {
                id: latest.rubric.id.clone(),
                version: latest.rubric.version,
                digest: Digest::of_bytes(b"rubric"),
            },
            engine: "test".into(),
            assessment_digest: Digest::of_bytes(b"body"),
            requested_by: "assurance".into(),
            purpose: purpose.into(),
            occurred_on: today(),
            disclosure: Default::default(),
        },
        context: context(),
    }
}

fn erasure_with(reason: &str, legal_basis: &str) -> ProjectCommand {
    ProjectCommand::Erase {
        erasure: ParticipantErased {
            participant_id: "p1".into(),
            reason: reason.into(),
            legal_basis: legal_basis.into(),
            occurred_on: today(),
        },
        context: context(),
    }
}

fn answer_with(comment: &str) -> ProjectCommand {
    ProjectCommand::Answer {
        answer: ParticipantAnswered {
            participant_id: "p1".into(),
            answer: ParticipantView {
                placement: LadderRung::CoDesign,
                listened_to: Agreement::Agree,
                could_influence: Agreement::Disagree,
                paid_or_thanked_fairly: Agreement::NeitherAgreeNorDisagree,
                comment: Some(comment.into()),
                accessible_format: None,
            }
            .into(),
            occurred_on: today(),
        },
        context: context(),
    }
}

fn decision_with(change: impl FnOnce(&mut DecisionMade)) -> ProjectCommand {
    let mut decision = decision_made("d1", Commission, &["p1"], &[]);
    change(&mut decision);
    record(Fact::DecisionMade(decision))
}

fn fact_with(fact: Fact, change: impl FnOnce(&mut Fact)) -> ProjectCommand {
    let mut fact = fact;
    change(&mut fact);
    record(fact)
}

/// Every field of the catalogue that holds words rather than an identifier, a number or a date.
fn text_fields() -> Vec<TextField> {
    vec![
        TextField {
            path: "/title",
            multiline: false,
            with: |t| registration_with(|r| r.title = t.into()),
        },
        TextField {
            path: "/service_area",
            multiline: false,
            with: |t| registration_with(|r| r.service_area = t.into()),
        },
        TextField {
            path: "/description",
            multiline: true,
            with: |t| registration_with(|r| r.description = Some(t.into())),
        },
        TextField {
            path: "/priority_groups/0",
            multiline: false,
            with: |t| registration_with(|r| r.priority_groups = vec![t.into()]),
        },
        TextField {
            path: "/serves/0",
            multiline: false,
            with: |t| registration_with(|r| r.serves = Some(vec![t.into()])),
        },
        TextField {
            path: "/groups/0",
            multiline: false,
            with: |t| {
                let mut joined = joined("p9", ParticipantKind::Carer);
                joined.groups = vec![t.to_string()].into();
                record(Fact::ParticipantJoined(joined))
            },
        },
        TextField {
            path: "/reason",
            multiline: true,
            with: |t| {
                fact_with(leave("p1"), |f| {
                    if let Fact::ParticipantLeft(e) = f {
                        e.reason = Some(t.into());
                    }
                })
            },
        },
        TextField {
            path: "/title",
            multiline: false,
            with: |t| {
                let mut held = activity_held("a9", Commission, &["p1"], &[]);
                held.title = t.into();
                record(Fact::ActivityHeld(held))
            },
        },
        TextField {
            path: "/locality",
            multiline: false,
            with: |t| {
                let mut held = activity_held("a9", Commission, &["p1"], &[]);
                held.locality = Some(t.into());
                record(Fact::ActivityHeld(held))
            },
        },
        TextField {
            path: "/summary",
            multiline: true,
            with: |t| {
                let mut made = contribution_made("c9", "p1", Commission);
                made.summary = t.to_string().into();
                record(Fact::ContributionMade(made))
            },
        },
        TextField {
            path: "/explanation",
            multiline: true,
            with: |t| {
                fact_with(response("c1", Response::Adopted), |f| {
                    if let Fact::ContributionResponded(e) = f {
                        e.explanation = t.into();
                    }
                })
            },
        },
        TextField {
            path: "/subject",
            multiline: false,
            with: |t| decision_with(|d| d.subject = t.into()),
        },
        TextField {
            path: "/outcome",
            multiline: true,
            with: |t| decision_with(|d| d.outcome = t.into()),
        },
        TextField {
            path: "/departure_reason",
            multiline: true,
            with: |t| {
                decision_with(|d| {
                    d.departs_from = Some("d0".into());
                    d.departure_reason = Some(t.into());
                })
            },
        },
        TextField {
            path: "/description",
            multiline: true,
            with: |t| {
                fact_with(outcome("o9", &["p1"], &["p1"]), |f| {
                    if let Fact::OutcomeReviewed(e) = f {
                        e.description = t.into();
                    }
                })
            },
        },
        TextField {
            path: "/actions",
            multiline: true,
            with: |t| {
                fact_with(outcome("o9", &["p1"], &["p1"]), |f| {
                    if let Fact::OutcomeReviewed(e) = f {
                        e.actions = Some(t.into());
                    }
                })
            },
        },
        TextField {
            path: "/reason",
            multiline: true,
            with: |t| {
                fact_with(correction(2), |f| {
                    if let Fact::CorrectionRecorded(e) = f {
                        e.reason = t.into();
                    }
                })
            },
        },
        TextField {
            path: "/summary",
            multiline: true,
            with: |t| {
                fact_with(close(), |f| {
                    if let Fact::ProjectClosed(e) = f {
                        e.summary = t.into();
                    }
                })
            },
        },
        TextField {
            path: "/purpose",
            multiline: false,
            with: seal_with,
        },
        TextField {
            path: "/reason",
            multiline: true,
            with: |t| erasure_with(t, "UK GDPR Article 17(1)(b)"),
        },
        TextField {
            path: "/legal_basis",
            multiline: false,
            with: |t| erasure_with("Asked by the participant.", t),
        },
        TextField {
            path: "/answer/comment",
            multiline: true,
            with: answer_with,
        },
    ]
}

/// The project every field's command is given: registered, with the team and commission
/// started (for a registration, nothing).
fn given(command: &ProjectCommand) -> Vec<ProjectEvent> {
    match command {
        ProjectCommand::Register { .. } => vec![],
        _ => team(),
    }
}

/// `text` with `c` in the middle of words a person could have written.
fn spoiled(c: char) -> String {
    format!("Carers{c} forum")
}

/// Characters no free text may hold: each direction control, NUL, and other C0 and C1 controls.
fn refused_everywhere() -> Vec<char> {
    let mut chars: Vec<char> = ('\u{202A}'..='\u{202E}')
        .chain('\u{2066}'..='\u{2069}')
        .collect();
    chars.extend(['\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}']);
    chars
}

#[tokio::test]
async fn every_free_text_field_refuses_direction_controls_nul_and_other_control_characters() {
    let mut failures = Vec::new();
    for field in text_fields() {
        for c in refused_everywhere() {
            let command = (field.with)(&spoiled(c));
            let outcome = when(given(&command), command).await;
            let paths = match outcome {
                Err(ProjectError::ValidationFailed(errors)) => {
                    errors.into_iter().map(|e| e.path).collect::<Vec<_>>()
                }
                other => {
                    failures.push(format!("{} with U+{:04X}: {other:?}", field.path, c as u32));
                    continue;
                }
            };
            if paths != [field.path] {
                failures.push(format!(
                    "{} with U+{:04X}: refused at {paths:?}",
                    field.path, c as u32
                ));
            }
        }
    }
    assert!(failures.is_empty(), "not refused:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn line_breaks_and_tabs_are_accepted_in_long_texts_and_refused_in_single_lines() {
    let mut failures = Vec::new();
    for field in text_fields() {
        for c in ['\n', '\r', '\t'] {
            let command = (field.with)(&spoiled(c));
            let outcome = when(given(&command), command).await;
            let refused_here = matches!(
                &outcome,
                Err(ProjectError::ValidationFailed(errors))
                    if errors.iter().any(|e| e.path == field.path)
            );
            if refused_here == field.multiline {
                failures.push(format!(
                    "{} (multiline: {}) with U+{:04X}: {outcome:?}",
                    field.path, field.multiline, c as u32
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "wrong answers:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn right_to_left_words_and_the_marks_that_hint_their_direction_are_accepted() {
    let arabic = "\u{200F}\u{0645}\u{0646}\u{062A}\u{062F}\u{0649} \u{0627}\u{0644}\u{0631}\u{0639}\u{0627}\u{0629}";
    let hebrew = "\u{05E4}\u{05D5}\u{05E8}\u{05D5}\u{05DD}\u{200E} 2025";
    for text in [arabic, hebrew] {
        let outcome = when(vec![], registration_with(|r| r.title = text.into())).await;
        assert!(outcome.is_ok(), "{text:?}: {outcome:?}");
    }
}

#[test]
fn the_rule_names_what_is_wrong_and_passes_plain_words() {
    assert_eq!(text_problem("Carers' forum, Banbury", false), None);
    assert_eq!(text_problem("Line one\nline two\tand a tab", true), None);
    assert!(text_problem("Line one\nline two", false).is_some_and(|m| m.contains("single line")));
    assert!(text_problem("abc\u{202E}fed", true).is_some_and(|m| m.contains("U+202A")));
    assert!(text_problem("nul\u{0}", true).is_some_and(|m| m.contains("control")));
    assert!(is_direction_control('\u{2067}'));
    assert!(!is_direction_control('\u{200F}'));
}
