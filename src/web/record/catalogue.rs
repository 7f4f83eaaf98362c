//! Every recording form: which fact it records, and its fields in the words a co-production
//! officer uses. The field names are the API's, so that a form's body is the API's body.

use crate::web::forms::{Choices, Field, Input};

/// A form that records one fact.
#[derive(Debug)]
pub struct RecordingForm {
    /// Its address under `/projects/{id}/record/`.
    pub slug: &'static str,
    /// The API's `type` of the fact it records.
    pub event_type: &'static str,
    /// The heading, and the link to it.
    pub title: &'static str,
    pub intro: &'static str,
    /// Which part of the record-something page lists it.
    pub section: Section,
    pub fields: &'static [Field],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    People,
    Stages,
    Activities,
    Voice,
    Decisions,
    Record,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::People,
        Section::Stages,
        Section::Activities,
        Section::Voice,
        Section::Decisions,
        Section::Record,
    ];

    pub fn heading(self) -> &'static str {
        match self {
            Section::People => "The people involved",
            Section::Stages => "Stages",
            Section::Activities => "Activities, rewards and roles",
            Section::Voice => {
                "What people said, and what was done (\u{201c}you said, we did\u{201d})"
            }
            Section::Decisions => "Decisions and outcomes",
            Section::Record => "Putting the record right, and closing",
        }
    }
}

const fn field(
    name: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    input: Input,
    ask: &'static str,
) -> Field {
    Field {
        name,
        label,
        hint,
        input,
        required: true,
        ask,
    }
}

const fn optional(
    name: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    input: Input,
) -> Field {
    Field {
        name,
        label,
        hint,
        input,
        required: false,
        ask: "",
    }
}

const OCCURRED_ON: Field = field(
    "occurred_on",
    "When it happened",
    Some("Year, month and day, for example 2025-03-01"),
    Input::Date,
    "Enter the date it happened",
);

pub const STAGES: &[(&str, &str)] = &[
    ("commission", "Commission (deciding what is needed)"),
    ("design", "Design"),
    ("deliver", "Deliver"),
    ("assess", "Assess"),
];

pub const PARTICIPANT_KINDS: &[(&str, &str)] = &[
    (
        "lived_experience",
        "A person with lived experience of care and support",
    ),
    ("carer", "A carer"),
    ("professional", "A professional (council or NHS staff)"),
    ("provider", "A provider of care or support"),
    ("community_organisation", "A community organisation"),
    ("elected_member", "An elected member (councillor)"),
];

pub const LEAVING_REASONS: &[(&str, &str)] = &[
    ("access", "Taking part was not accessible to them"),
    ("not_listened_to", "They did not feel listened to"),
    ("project_stopped", "The project stopped"),
    ("personal", "Personal reasons"),
    ("other", "Another reason"),
];

pub const ACTIVITY_KINDS: &[(&str, &str)] = &[
    ("workshop", "Workshop"),
    ("meeting", "Meeting"),
    ("interview", "Interview"),
    ("survey", "Survey"),
    ("training", "Training"),
    ("site_visit", "Site visit"),
    ("quality_check", "Quality check"),
    ("other", "Something else"),
];

pub const ACTIVITY_MODES: &[(&str, &str)] = &[
    ("in_person", "In person"),
    ("online", "Online"),
    ("hybrid", "Both in person and online"),
    ("phone", "By phone"),
    ("written", "In writing"),
];

pub const REWARD_KINDS: &[(&str, &str)] = &[
    ("payment", "A payment"),
    ("voucher", "A voucher"),
    (
        "charity_donation",
        "A donation to a charity of their choice",
    ),
    ("expenses", "Expenses"),
    ("learning", "Learning or training"),
    (
        "recognition",
        "Recognition, such as a certificate or reference",
    ),
    ("opportunity", "An opportunity, such as a paid role"),
];

pub const DECLINE_REASONS: &[(&str, &str)] = &[
    ("benefit_rules", "Payment would affect their benefits"),
    ("preference", "They preferred not to be paid"),
    ("paid_by_partner", "A partner organisation paid them"),
];

pub const SUPPORT_KINDS: &[(&str, &str)] = &[
    ("replacement_care", "Replacement care"),
    ("interpreter", "An interpreter"),
    ("transport", "Transport"),
    ("personal_assistant", "A personal assistant"),
    ("other", "Other support"),
];

pub const ROLES: &[(&str, &str)] = &[
    ("co_chair", "Co-chair"),
    ("co_facilitator", "Co-facilitator"),
    ("co_trainer", "Co-trainer"),
    ("co_researcher", "Co-researcher"),
    ("quality_assurer", "Quality assurer"),
    ("recruitment_panel", "Member of a recruitment panel"),
    ("peer_supporter", "Peer supporter"),
    ("learner", "Learner"),
];

pub const CONTRIBUTION_KINDS: &[(&str, &str)] = &[
    ("idea", "An idea"),
    ("lived_expertise", "Expertise from lived experience"),
    ("professional_expertise", "Professional expertise"),
    ("feedback", "Feedback"),
    ("evidence", "Evidence"),
    ("design", "A design"),
];

pub const RESPONSES: &[(&str, &str)] = &[
    ("adopted", "Adopted: we did what they said"),
    ("adapted", "Adapted: we did it in a changed form"),
    ("not_adopted", "Not adopted, and we said why"),
    ("acknowledged", "Acknowledged only"),
];

pub const DECISION_METHODS: &[(&str, &str)] = &[
    ("consensus", "By consensus of everyone involved"),
    ("vote", "By a vote"),
    (
        "lived_experience_led",
        "Led by the people with lived experience",
    ),
    ("professional_only", "By professionals only"),
    ("delegated", "Delegated to someone"),
];

pub const DECISION_IMPORTANCE: &[(&str, &str)] =
    &[("key", "A key decision"), ("routine", "A routine decision")];

pub const DECISION_EFFECTS: &[(&str, &str)] = &[
    ("pause", "It pauses the project"),
    ("stop", "It stops the project"),
    ("close", "It closes the project"),
    ("scope_change", "It changes what the project covers"),
];

pub const OUTCOME_KINDS: &[(&str, &str)] = &[
    ("success", "A success"),
    ("shortfall", "A shortfall"),
    ("failure", "A failure"),
];

pub const CONTACT_METHODS: &[(&str, &str)] = &[
    ("in_person", "In person"),
    ("meeting", "At a meeting"),
    ("phone", "By phone"),
    ("letter", "By letter"),
    ("email", "By email"),
    ("text_message", "By text message"),
    ("newsletter", "In a newsletter"),
    ("website", "On a website"),
];

pub const LADDER: &[(&str, &str)] = &[
    ("co_production", "Co-production"),
    ("co_design", "Co-design"),
    ("engagement", "Engagement"),
    ("consultation", "Consultation"),
    ("informing", "Informing"),
    ("educating", "Educating"),
    ("coercion", "Coercion"),
];

const GROUPS_HINT: &str = "One on each line. A group such as \u{201c}age_band: 65 and over\u{201d} or \u{201c}carer_status: carer\u{201d} is compared with the others of its kind (ethnicity, impairment, age_band, locality, carer_status, language)";

/// The fields of registering a project (not a fact: `POST /api/v1/projects`).
pub const REGISTRATION: &[Field] = &[
    field("title", "Project title", None, Input::Line, "Enter the project's title"),
    field(
        "organisation",
        "Organisation",
        Some("Your organisation's short name, as your sign-in token gives it"),
        Input::Line,
        "Enter the organisation",
    ),
    optional(
        "organisation_name",
        "Organisation's full name",
        Some("For example, Oxfordshire County Council"),
        Input::Line,
    ),
    field(
        "service_area",
        "Service area",
        Some("For example, adult social care: day opportunities"),
        Input::Line,
        "Enter the service area",
    ),
    optional("description", "What the project is for", None, Input::Text),
    field(
        "started_on",
        "When it started",
        Some("Year, month and day, for example 2025-01-06"),
        Input::Date,
        "Enter the date the project started",
    ),
    field(
        "priority_groups",
        "Groups it means to reach",
        Some(GROUPS_HINT),
        Input::Labels,
        "",
    ),
    optional(
        "serves",
        "Groups it exists for",
        Some("The groups the whole project is for, such as \u{201c}carer_status: carer\u{201d} for a carers' project: they are set apart when judging whether one group dominates. One on each line"),
        Input::Labels,
    ),
    optional(
        "declared_level",
        "Where the project says it stands",
        Some("The level of involvement it claims; the assessment says if the facts show less"),
        Input::Choice(LADDER),
    ),
];

/// Every form that records a fact, in the order the record-something page lists them.
pub const FORMS: &[RecordingForm] = &[
    RecordingForm {
        slug: "someone-joined",
        event_type: "participant_joined",
        title: "Someone joined",
        intro: "Record a person joining the project. Use the reference your team keeps for them, never their name.",
        section: Section::People,
        fields: &[
            field(
                "participant_id",
                "Their reference",
                Some("Letters, digits, - and _ only, for example P-017. Never a name"),
                Input::Line,
                "Enter their reference",
            ),
            field("kind", "Who they are", None, Input::Choice(PARTICIPANT_KINDS), "Choose who they are"),
            field("groups", "Groups they belong to", Some(GROUPS_HINT), Input::Labels, ""),
            optional(
                "lived_experience",
                "Do they have lived experience of care and support?",
                Some("Answer for staff or providers with lived experience; people with lived experience and carers have it already"),
                Input::YesNo,
            ),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "someone-left",
        event_type: "participant_left",
        title: "Someone left",
        intro: "Record a person leaving the project.",
        section: Section::People,
        fields: &[
            field("participant_id", "Who left", None, Input::OneOf(Choices::People), "Choose who left"),
            optional("reason_code", "Why they left", None, Input::Choice(LEAVING_REASONS)),
            optional("reason", "In your words", Some("Do not include anything that identifies them"), Input::Text),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "stage-started",
        event_type: "stage_started",
        title: "A stage started",
        intro: "Projects go through four stages in turn: commission, design, deliver and assess.",
        section: Section::Stages,
        fields: &[
            field("stage", "Which stage", None, Input::OneOf(Choices::NextStage), "Choose the stage"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "stage-completed",
        event_type: "stage_completed",
        title: "A stage was completed",
        intro: "Record that a stage under way has finished.",
        section: Section::Stages,
        fields: &[
            field("stage", "Which stage", None, Input::OneOf(Choices::OpenStages), "Choose the stage"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "activity",
        event_type: "activity_held",
        title: "An activity was held",
        intro: "A workshop, meeting, interview or other activity, with who ran it and who came.",
        section: Section::Activities,
        fields: &[
            field("title", "What it was called", None, Input::Line, "Enter what the activity was called"),
            field(
                "activity_id",
                "Its reference",
                Some("A short reference, unique in this project; we suggest one"),
                Input::Line,
                "Enter a reference for the activity",
            ),
            field("stage", "Stage", None, Input::Choice(STAGES), "Choose the stage it was part of"),
            field("kind", "Kind of activity", None, Input::Choice(ACTIVITY_KINDS), "Choose the kind of activity"),
            field("facilitators", "Who ran it", None, Input::AnyOf(Choices::People), ""),
            field("attendees", "Who came", None, Input::AnyOf(Choices::People), ""),
            optional("mode", "How it was held", None, Input::Choice(ACTIVITY_MODES)),
            optional("locality", "Where", Some("A place name, for example Banbury"), Input::Line),
            optional("duration_minutes", "How long it took, in minutes", None, Input::Number),
            optional(
                "adjustments_requested",
                "How many adjustments people asked for",
                Some("A count only, such as large print or a quiet room: who asked is not recorded"),
                Input::Number,
            ),
            optional("adjustments_provided", "How many of them were made", None, Input::Number),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "reward",
        event_type: "reward_given",
        title: "A reward was given",
        intro: "A payment, voucher, expenses or other recognition for someone's time, or support to take part.",
        section: Section::Activities,
        fields: &[
            field("participant_id", "Who it was for", None, Input::OneOf(Choices::People), "Choose who it was for"),
            field("kind", "What it was", None, Input::Choice(REWARD_KINDS), "Choose what the reward was"),
            optional("amount_pence", "Amount", Some("In pounds, for example 30 or 12.50"), Input::Money),
            optional(
                "amount_unknown",
                "Is the amount unknown?",
                Some("Answer yes only for money whose amount you do not know"),
                Input::YesNo,
            ),
            optional("rate_pence_per_hour", "Rate per hour", Some("In pounds, if they were paid by the hour"), Input::Money),
            optional("activity_id", "For which activity", None, Input::OneOf(Choices::Activities)),
            optional("declined", "Offered but not taken, because", None, Input::Choice(DECLINE_REASONS)),
            optional("support", "Support to take part (for expenses)", None, Input::Choice(SUPPORT_KINDS)),
            optional("as_preferred", "Was it given the way they chose?", None, Input::YesNo),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "role",
        event_type: "role_taken",
        title: "Someone took on a role",
        intro: "A person taking on a role such as co-chair or co-trainer.",
        section: Section::Activities,
        fields: &[
            field("participant_id", "Who", None, Input::OneOf(Choices::People), "Choose who took on the role"),
            field("role", "Which role", None, Input::Choice(ROLES), "Choose the role"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "contribution",
        event_type: "contribution_made",
        title: "Someone made a contribution",
        intro: "An idea, feedback, expertise or evidence someone gave. Record the response to it separately, once there is one.",
        section: Section::Voice,
        fields: &[
            field("participant_id", "Who made it", None, Input::OneOf(Choices::People), "Choose who made the contribution"),
            field(
                "contribution_id",
                "Its reference",
                Some("A short reference, unique in this project; we suggest one"),
                Input::Line,
                "Enter a reference for the contribution",
            ),
            field("stage", "Stage", None, Input::Choice(STAGES), "Choose the stage it was made in"),
            field("kind", "Kind of contribution", None, Input::Choice(CONTRIBUTION_KINDS), "Choose the kind of contribution"),
            field(
                "summary",
                "What they said",
                Some("Kept encrypted, and erased with their personal data if they ask"),
                Input::Text,
                "Enter what they said",
            ),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "response",
        event_type: "contribution_responded",
        title: "A contribution was responded to",
        intro: "What was done with a contribution: \u{201c}you said, we did\u{201d}.",
        section: Section::Voice,
        fields: &[
            field("contribution_id", "Which contribution", None, Input::OneOf(Choices::Unanswered), "Choose the contribution"),
            field("response", "What was done", None, Input::Choice(RESPONSES), "Choose what was done"),
            field("explanation", "Why, in your words", None, Input::Text, "Enter why"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "feedback",
        event_type: "feedback_given",
        title: "People were told what was done with what they said",
        intro: "Record that the responses to contributions were given back to the people who made them.",
        section: Section::Voice,
        fields: &[
            field("contribution_ids", "Which contributions", None, Input::AnyOf(Choices::Contributions), ""),
            field("method", "How they were told", None, Input::Choice(CONTACT_METHODS), "Choose how they were told"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "decision",
        event_type: "decision_made",
        title: "A decision was made",
        intro: "A decision, how it was made, who took part and what shaped it.",
        section: Section::Decisions,
        fields: &[
            field("subject", "What was decided about", None, Input::Line, "Enter what the decision was about"),
            field(
                "decision_id",
                "Its reference",
                Some("A short reference, unique in this project; we suggest one"),
                Input::Line,
                "Enter a reference for the decision",
            ),
            field("stage", "Stage", None, Input::Choice(STAGES), "Choose the stage"),
            field("method", "How it was made", None, Input::Choice(DECISION_METHODS), "Choose how the decision was made"),
            field("participants", "Who took part in deciding", None, Input::AnyOf(Choices::People), ""),
            optional(
                "votes",
                "How people voted",
                Some("Only for a decision made by a vote"),
                Input::Votes,
            ),
            field("influenced_by", "Contributions that shaped it", None, Input::AnyOf(Choices::Contributions), ""),
            field("outcome", "What was decided", None, Input::Text, "Enter what was decided"),
            optional("importance", "How important it was", None, Input::Choice(DECISION_IMPORTANCE)),
            optional("effect", "What it does to the project", None, Input::Choice(DECISION_EFFECTS)),
            optional("ratifies", "The recommendation it confirms", None, Input::OneOf(Choices::Decisions)),
            optional("departs_from", "The recommendation it departs from", None, Input::OneOf(Choices::Decisions)),
            optional("departure_reason", "Why it departs from it", None, Input::Text),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "people-told",
        event_type: "people_told",
        title: "People were told about a decision",
        intro: "Record that the people involved were told of a decision and why.",
        section: Section::Decisions,
        fields: &[
            field("decision_id", "Which decision", None, Input::OneOf(Choices::Decisions), "Choose the decision"),
            field("method", "How they were told", None, Input::Choice(CONTACT_METHODS), "Choose how they were told"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "outcome",
        event_type: "outcome_reviewed",
        title: "An outcome was reviewed",
        intro: "A review of what the project achieved or fell short of, and who was accountable.",
        section: Section::Decisions,
        fields: &[
            field(
                "outcome_id",
                "Its reference",
                Some("A short reference, unique in this project; we suggest one"),
                Input::Line,
                "Enter a reference for the outcome",
            ),
            field("kind", "What it was", None, Input::Choice(OUTCOME_KINDS), "Choose what the outcome was"),
            field("description", "What happened", None, Input::Text, "Enter what happened"),
            field("accountable", "Who was accountable", None, Input::AnyOf(Choices::People), ""),
            field("reviewed_by", "Who reviewed it", None, Input::AnyOf(Choices::People), ""),
            optional("actions", "What will be done", None, Input::Text),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "correction",
        event_type: "correction_recorded",
        title: "Correct an earlier entry",
        intro: "Nothing in the trail is ever changed or deleted. A correction withdraws an entry, so that it no longer counts; then record the fact again as it should have been.",
        section: Section::Record,
        fields: &[
            field("corrects_sequence", "Which entry", None, Input::OneOf(Choices::Entries), "Choose the entry to correct"),
            field("reason", "Why it is wrong", None, Input::Text, "Enter why the entry is wrong"),
            OCCURRED_ON,
        ],
    },
    RecordingForm {
        slug: "close",
        event_type: "project_closed",
        title: "Close the project",
        intro: "After closing, only corrections can be recorded.",
        section: Section::Record,
        fields: &[
            field("summary", "How the project ended", None, Input::Text, "Enter how the project ended"),
            OCCURRED_ON,
        ],
    },
];

pub fn form(slug: &str) -> Option<&'static RecordingForm> {
    FORMS.iter().find(|form| form.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coprod_domain::*;
    use serde::de::DeserializeOwned;

    fn all_read_as<T: DeserializeOwned>(choices: &[(&str, &str)]) {
        for (value, _) in choices {
            assert!(
                serde_json::from_value::<T>(serde_json::json!(value)).is_ok(),
                "{value} is not a {}",
                std::any::type_name::<T>()
            );
        }
    }

    #[test]
    fn every_choice_is_a_value_the_api_takes() {
        all_read_as::<Stage>(STAGES);
        all_read_as::<ParticipantKind>(PARTICIPANT_KINDS);
        all_read_as::<LeavingReason>(LEAVING_REASONS);
        all_read_as::<ActivityKind>(ACTIVITY_KINDS);
        all_read_as::<ActivityMode>(ACTIVITY_MODES);
        all_read_as::<RewardKind>(REWARD_KINDS);
        all_read_as::<DeclineReason>(DECLINE_REASONS);
        all_read_as::<SupportKind>(SUPPORT_KINDS);
        all_read_as::<Role>(ROLES);
        all_read_as::<ContributionKind>(CONTRIBUTION_KINDS);
        all_read_as::<Response>(RESPONSES);
        all_read_as::<DecisionMethod>(DECISION_METHODS);
        all_read_as::<DecisionImportance>(DECISION_IMPORTANCE);
        all_read_as::<DecisionEffect>(DECISION_EFFECTS);
        all_read_as::<OutcomeKind>(OUTCOME_KINDS);
        all_read_as::<ContactMethod>(CONTACT_METHODS);
        all_read_as::<LadderRung>(LADDER);
        assert_eq!(LADDER.len(), LadderRung::ALL.len());
    }

    #[test]
    fn every_fact_that_can_be_posted_has_a_form() {
        for event_type in Fact::TYPES {
            assert!(
                FORMS.iter().any(|f| f.event_type == *event_type),
                "no form records {event_type}"
            );
        }
    }

    /// A value each kind of field could hold, for checking the forms' shapes against the API.
    fn sample(input: Input) -> serde_json::Value {
        use crate::web::forms::Choices as C;
        match input {
            Input::Date => serde_json::json!("2025-01-07"),
            Input::Number | Input::Money | Input::OneOf(C::Entries) => serde_json::json!(3),
            Input::Choice(choices) => serde_json::json!(choices[0].0),
            Input::YesNo => serde_json::json!(true),
            Input::Labels | Input::AnyOf(_) => serde_json::json!(["p1"]),
            Input::Votes => serde_json::json!({"for": ["p1"], "against": [], "abstain": []}),
            Input::OneOf(C::NextStage | C::OpenStages) => serde_json::json!("design"),
            Input::Line | Input::Text | Input::OneOf(_) => serde_json::json!("p1"),
        }
    }

    #[test]
    fn each_forms_fields_are_its_facts_fields_and_required_as_the_api_requires_them() {
        for form in FORMS {
            let body = |without: Option<&str>| {
                let mut body = serde_json::Map::new();
                body.insert("type".into(), serde_json::json!(form.event_type));
                for field in form.fields.iter().filter(|f| Some(f.name) != without) {
                    body.insert(field.name.into(), sample(field.input));
                }
                serde_json::Value::Object(body)
            };
            crate::http::body::parse_fact(body(None), "")
                .unwrap_or_else(|e| panic!("{}: {}", form.slug, e.detail));
            for field in form.fields {
                let without = crate::http::body::parse_fact(body(Some(field.name)), "");
                assert_eq!(
                    without.is_err(),
                    field.required,
                    "{}: {} is required by the API: {}",
                    form.slug,
                    field.name,
                    without.is_err()
                );
            }
        }
    }
}
