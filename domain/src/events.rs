//! The facts a council records about a project, exactly as they are stored.
//!
//! Every event is serialised with `type` as a snake_case tag and `event_version` "1". Events hold
//! integers, strings and dates only — never floats — so that replaying them is exact.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal_value::Personal;

/// The lifecycle stages of a project (Bovaird & Loeffler's four Co's), in order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Commission,
    Design,
    Deliver,
    Assess,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Commission,
        Stage::Design,
        Stage::Deliver,
        Stage::Assess,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Commission => "commission",
            Stage::Design => "design",
            Stage::Deliver => "deliver",
            Stage::Assess => "assess",
        }
    }

    pub fn previous(self) -> Option<Stage> {
        self.index().checked_sub(1).map(|i| Stage::ALL[i])
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    LivedExperience,
    Carer,
    Professional,
    Provider,
    CommunityOrganisation,
    ElectedMember,
}

impl ParticipantKind {
    /// People with lived experience (PLE): people who use services and carers.
    pub fn is_lived_experience(self) -> bool {
        matches!(
            self,
            ParticipantKind::LivedExperience | ParticipantKind::Carer
        )
    }

    pub fn is_professional(self) -> bool {
        matches!(
            self,
            ParticipantKind::Professional | ParticipantKind::Provider
        )
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Workshop,
    Meeting,
    Interview,
    Survey,
    Training,
    SiteVisit,
    QualityCheck,
    Other,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    Payment,
    Voucher,
    CharityDonation,
    Expenses,
    Learning,
    Recognition,
    Opportunity,
}

impl RewardKind {
    /// Rewards that are sums of money and so must state an amount.
    pub fn requires_amount(self) -> bool {
        matches!(
            self,
            RewardKind::Payment
                | RewardKind::Voucher
                | RewardKind::CharityDonation
                | RewardKind::Expenses
        )
    }

    /// Money rewards other than expenses: they count as a reward only when more than nothing.
    pub fn is_money(self) -> bool {
        matches!(
            self,
            RewardKind::Payment | RewardKind::Voucher | RewardKind::CharityDonation
        )
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    CoChair,
    CoFacilitator,
    CoTrainer,
    CoResearcher,
    QualityAssurer,
    RecruitmentPanel,
    PeerSupporter,
    Learner,
}

impl Role {
    /// Roles traditionally held by professionals.
    pub fn is_professional_role(self) -> bool {
        matches!(
            self,
            Role::CoChair
                | Role::CoFacilitator
                | Role::CoTrainer
                | Role::CoResearcher
                | Role::QualityAssurer
                | Role::RecruitmentPanel
        )
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContributionKind {
    Idea,
    LivedExpertise,
    ProfessionalExpertise,
    Feedback,
    Evidence,
    Design,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Adopted,
    Adapted,
    NotAdopted,
    /// Noted, without an answer.
    Acknowledged,
}

impl Response {
    pub fn is_adoption(self) -> bool {
        matches!(self, Response::Adopted | Response::Adapted)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMethod {
    Consensus,
    Vote,
    LivedExperienceLed,
    ProfessionalOnly,
    Delegated,
}

impl DecisionMethod {
    /// Methods in which power can be shared with people with lived experience.
    pub fn is_shared(self) -> bool {
        matches!(
            self,
            DecisionMethod::Consensus | DecisionMethod::Vote | DecisionMethod::LivedExperienceLed
        )
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Success,
    Shortfall,
    Failure,
}

/// Where a project stands on Think Local Act Personal's ladder of participation, lowest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LadderRung {
    Coercion,
    Educating,
    Informing,
    Consultation,
    Engagement,
    CoDesign,
    CoProduction,
}

/// Why someone left, coded so that leaving can be counted.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeavingReason {
    Access,
    NotListenedTo,
    ProjectStopped,
    Personal,
    Other,
}

/// How people could take part in an activity.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityMode {
    InPerson,
    Online,
    Hybrid,
    Phone,
    Written,
}

/// Why a reward that was offered was not taken: each a sound reason.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// Benefit rules, such as the Carer's Allowance earnings limit.
    BenefitRules,
    Preference,
    /// Already paid for this work through a partner organisation.
    PaidByPartner,
}

/// Support to take part: neither a reward nor a payment for time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportKind {
    ReplacementCare,
    Interpreter,
    Transport,
    PersonalAssistant,
    Other,
}

/// Whether a decision is one of the project's key decisions (scope, options, budget,
/// commissioning, closure, pause) or routine.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionImportance {
    Key,
    Routine,
}

/// What a decision does to the project itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionEffect {
    Pause,
    Stop,
    Close,
    ScopeChange,
}

/// How people were told something.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    InPerson,
    Meeting,
    Phone,
    Letter,
    Email,
    TextMessage,
    Newsletter,
    Website,
}

impl ContactMethod {
    /// Whether it reaches the person: everything but a page they would have to find.
    pub fn reaches_the_person(self) -> bool {
        self != ContactMethod::Website
    }
}

/// The people involved were told about a decision, and why, and how.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleTold {
    pub decision_id: String,
    pub method: ContactMethod,
    pub occurred_on: NaiveDate,
}

/// "You said, we did": the answers to these contributions were given back to the people who made
/// them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackGiven {
    pub contribution_ids: Vec<String>,
    pub method: ContactMethod,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRegistered {
    pub project_id: Uuid,
    pub title: String,
    pub organisation: String,
    /// How people know the organisation ("Oxfordshire County Council"), shown beside its slug.
    /// The latest registration that gives one names the organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_name: Option<String>,
    pub service_area: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority_groups: Vec<String>,
    pub started_on: NaiveDate,
    /// Where the project says it stands on the ladder of participation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_level: Option<LadderRung>,
    /// The groups the project exists for: set apart when judging whether one group dominates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<Vec<String>>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantJoined {
    pub participant_id: String,
    pub kind: ParticipantKind,
    /// Personal: stored encrypted under the participant's key (see [`crate::personal_value`]).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub groups: Personal<Vec<String>>,
    pub occurred_on: NaiveDate,
    /// Lived experience whatever their kind (staff, a disabled-led provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lived_experience: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantLeft {
    pub participant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub occurred_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<LeavingReason>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageStarted {
    pub stage: Stage,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCompleted {
    pub stage: Stage,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityHeld {
    pub activity_id: String,
    pub stage: Stage,
    pub kind: ActivityKind,
    pub title: String,
    pub facilitators: Vec<String>,
    pub attendees: Vec<String>,
    pub occurred_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ActivityMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i64>,
    /// How many adjustments people asked for (a count: who needed them is health data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustments_requested: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustments_provided: Option<i64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardGiven {
    pub participant_id: String,
    pub kind: RewardKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_pence: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    pub occurred_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_pence_per_hour: Option<i64>,
    /// A money reward whose amount the recorder does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_unknown: Option<bool>,
    /// Offered and not taken, for a sound reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined: Option<DeclineReason>,
    /// Expenses that are support to take part, not a reward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportKind>,
    /// Whether the method (bank, voucher, donation) was the one the person chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_preferred: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTaken {
    pub participant_id: String,
    pub role: Role,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionMade {
    pub contribution_id: String,
    pub participant_id: String,
    pub stage: Stage,
    pub kind: ContributionKind,
    /// Personal: stored encrypted under the contributor's key (see [`crate::personal_value`]).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub summary: Personal<String>,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionResponded {
    pub contribution_id: String,
    pub response: Response,
    pub explanation: String,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Votes {
    #[serde(rename = "for")]
    pub in_favour: Vec<String>,
    pub against: Vec<String>,
    pub abstain: Vec<String>,
}

/// Read only from a JSON object: a derived `Deserialize` would also take `[[..],[..],[..]]`,
/// matching lists to fields by position, which no client means.
impl<'de> Deserialize<'de> for Votes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        const FIELDS: &[&str] = &["for", "against", "abstain"];
        let mut lists =
            std::collections::BTreeMap::<String, Vec<String>>::deserialize(deserializer)?;
        if let Some(unknown) = lists.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(D::Error::unknown_field(unknown, FIELDS));
        }
        let mut take = |field: &'static str| {
            lists
                .remove(field)
                .ok_or_else(|| D::Error::missing_field(field))
        };
        Ok(Votes {
            in_favour: take("for")?,
            against: take("against")?,
            abstain: take("abstain")?,
        })
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionMade {
    pub decision_id: String,
    pub stage: Stage,
    pub subject: String,
    pub method: DecisionMethod,
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<Votes>,
    pub influenced_by: Vec<String>,
    pub outcome: String,
    pub occurred_on: NaiveDate,
    /// Key or routine; absent counts as key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<DecisionImportance>,
    /// What the decision does to the project itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<DecisionEffect>,
    /// The earlier decision (a recommendation) this formal decision ratifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratifies: Option<String>,
    /// The earlier decision (a recommendation) this decision departs from, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departs_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure_reason: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeReviewed {
    pub outcome_id: String,
    pub kind: OutcomeKind,
    pub description: String,
    pub accountable: Vec<String>,
    pub reviewed_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<String>,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRecorded {
    pub corrects_sequence: u64,
    pub reason: String,
    pub occurred_on: NaiveDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectClosed {
    pub summary: String,
    pub occurred_on: NaiveDate,
}

/// A panel's assessment, sealed into the stream: what was asked, what it was computed from and
/// the SHA-256 of the exact body returned, so that anyone holding the log can replay and check it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentSealed {
    /// The `as_of` the request named, if it named one; otherwise the seal is of `at_sequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_as_of: Option<String>,
    pub as_of: String,
    /// The day the request asked about by when things happened, if it asked so: the sealed
    /// assessment counts the facts dated by then among entries 1 to `at_sequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub happened_by: Option<NaiveDate>,
    pub at_sequence: u64,
    pub stream_digest: crate::digest::Digest,
    pub rubric: crate::rubric::RubricReference,
    pub engine: String,
    /// `protected` when the body was given to a reader who may not see the trail's personal
    /// data, as such readers are given assessments (see `docs/privacy.md`); absent: every figure.
    #[serde(
        default,
        skip_serializing_if = "crate::assessment::Disclosure::is_full"
    )]
    pub disclosure: crate::assessment::Disclosure,
    /// SHA-256 of the assessment body as returned.
    pub assessment_digest: crate::digest::Digest,
    pub requested_by: String,
    pub purpose: String,
    pub occurred_on: NaiveDate,
}

/// A participant's personal data was erased: their key is destroyed, so their groups and
/// contributions can no longer be read. It holds no personal data itself.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantErased {
    pub participant_id: String,
    pub reason: String,
    pub legal_basis: String,
    pub occurred_on: NaiveDate,
}

/// How far someone agrees with a statement about the project, on five points.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    StronglyDisagree,
    Disagree,
    NeitherAgreeNorDisagree,
    Agree,
    StronglyAgree,
}

impl Agreement {
    pub const ALL: [Agreement; 5] = [
        Agreement::StronglyDisagree,
        Agreement::Disagree,
        Agreement::NeitherAgreeNorDisagree,
        Agreement::Agree,
        Agreement::StronglyAgree,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::StronglyDisagree => "strongly_disagree",
            Agreement::Disagree => "disagree",
            Agreement::NeitherAgreeNorDisagree => "neither_agree_nor_disagree",
            Agreement::Agree => "agree",
            Agreement::StronglyAgree => "strongly_agree",
        }
    }
}

/// A format someone needs to take part in, or to read what the project sends them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessibleFormat {
    EasyRead,
    LargePrint,
    Audio,
    BritishSignLanguage,
    Braille,
    Other,
}

impl AccessibleFormat {
    pub const ALL: [AccessibleFormat; 6] = [
        AccessibleFormat::EasyRead,
        AccessibleFormat::LargePrint,
        AccessibleFormat::Audio,
        AccessibleFormat::BritishSignLanguage,
        AccessibleFormat::Braille,
        AccessibleFormat::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessibleFormat::EasyRead => "easy_read",
            AccessibleFormat::LargePrint => "large_print",
            AccessibleFormat::Audio => "audio",
            AccessibleFormat::BritishSignLanguage => "british_sign_language",
            AccessibleFormat::Braille => "braille",
            AccessibleFormat::Other => "other",
        }
    }
}

impl LadderRung {
    /// Lowest first.
    pub const ALL: [LadderRung; 7] = [
        LadderRung::Coercion,
        LadderRung::Educating,
        LadderRung::Informing,
        LadderRung::Consultation,
        LadderRung::Engagement,
        LadderRung::CoDesign,
        LadderRung::CoProduction,
    ];

    /// Its place on the ladder: 0 for the lowest rung.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LadderRung::Coercion => "coercion",
            LadderRung::Educating => "educating",
            LadderRung::Informing => "informing",
            LadderRung::Consultation => "consultation",
            LadderRung::Engagement => "engagement",
            LadderRung::CoDesign => "co_design",
            LadderRung::CoProduction => "co_production",
        }
    }
}

/// What one person involved says about the project: where they would place it on the ladder,
/// how far they agree with three statements, and what they want to add.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantView {
    pub placement: LadderRung,
    /// "I was listened to."
    pub listened_to: Agreement,
    /// "I could influence decisions."
    pub could_influence: Agreement,
    /// "I was paid or thanked fairly."
    pub paid_or_thanked_fairly: Agreement,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The format they need, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessible_format: Option<AccessibleFormat>,
}

/// A participant answered the project's questions through a one-time invitation. Written by the
/// server (recorded by "participant via invitation"), never posted; its answer is personal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantAnswered {
    pub participant_id: String,
    /// Personal: stored encrypted under the participant's key (see [`crate::personal_value`]).
    #[cfg_attr(feature = "openapi", schema(value_type = ParticipantView))]
    pub answer: Personal<ParticipantView>,
    pub occurred_on: NaiveDate,
}

/// Deserialises the fields of one fact type; see [`Fact::parse_fields`].
pub trait FieldsParser {
    type Error;
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, Self::Error>;
}

/// Declares the postable facts once, and from that list both [`Fact`] (what a client may post)
/// and [`ProjectEvent`] (what the store holds: the facts plus entries only the server writes).
macro_rules! catalogue {
    (
        posted { $($fact:ident = $fact_tag:literal,)* }
        server { $($server:ident = $server_tag:literal,)* }
    ) => {
        /// One fact a client may post to `/projects/{id}/events`, tagged by `type`.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum Fact {
            $($fact($fact),)*
        }

        impl Fact {
            /// The `type` tags a client may post.
            pub const TYPES: &'static [&'static str] = &[$($fact_tag,)*];

            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Fact::$fact(_) => $fact_tag,)*
                }
            }

            /// When the fact happened, as the client said.
            pub fn occurred_on(&self) -> NaiveDate {
                match self {
                    $(Fact::$fact(e) => e.occurred_on,)*
                }
            }

            /// Reads the fields of a fact whose `type` is `tag`, with the caller's deserialiser
            /// (so that it can report where in the body a field is wrong). `None`: no such type.
            pub fn parse_fields<P: FieldsParser>(tag: &str, parser: P) -> Option<Result<Fact, P::Error>> {
                match tag {
                    $($fact_tag => Some(parser.parse::<$fact>().map(Fact::$fact)),)*
                    _ => None,
                }
            }
        }

        /// One stored entry of a project's stream.
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        pub enum ProjectEvent {
            $($server($server),)*
            $($fact($fact),)*
        }

        impl ProjectEvent {
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(ProjectEvent::$server(_) => $server_tag,)*
                    $(ProjectEvent::$fact(_) => $fact_tag,)*
                }
            }
        }

        impl From<Fact> for ProjectEvent {
            fn from(fact: Fact) -> Self {
                match fact {
                    $(Fact::$fact(inner) => ProjectEvent::$fact(inner),)*
                }
            }
        }
    };
}

catalogue! {
    posted {
        ParticipantJoined = "participant_joined",
        ParticipantLeft = "participant_left",
        StageStarted = "stage_started",
        StageCompleted = "stage_completed",
        ActivityHeld = "activity_held",
        RewardGiven = "reward_given",
        RoleTaken = "role_taken",
        ContributionMade = "contribution_made",
        ContributionResponded = "contribution_responded",
        DecisionMade = "decision_made",
        OutcomeReviewed = "outcome_reviewed",
        CorrectionRecorded = "correction_recorded",
        ProjectClosed = "project_closed",
        PeopleTold = "people_told",
        FeedbackGiven = "feedback_given",
    }
    server {
        ProjectRegistered = "project_registered",
        AssessmentSealed = "assessment_sealed",
        ParticipantErased = "participant_erased",
        ParticipantAnswered = "participant_answered",
    }
}

/// The version every event type is written at today.
pub const EVENT_VERSION: &str = "1";

impl ProjectEvent {
    /// When the fact happened, as the client said (registration: the day the project started).
    pub fn occurred_on(&self) -> NaiveDate {
        match self {
            ProjectEvent::ProjectRegistered(e) => e.started_on,
            ProjectEvent::ParticipantJoined(e) => e.occurred_on,
            ProjectEvent::ParticipantLeft(e) => e.occurred_on,
            ProjectEvent::StageStarted(e) => e.occurred_on,
            ProjectEvent::StageCompleted(e) => e.occurred_on,
            ProjectEvent::ActivityHeld(e) => e.occurred_on,
            ProjectEvent::RewardGiven(e) => e.occurred_on,
            ProjectEvent::RoleTaken(e) => e.occurred_on,
            ProjectEvent::ContributionMade(e) => e.occurred_on,
            ProjectEvent::ContributionResponded(e) => e.occurred_on,
            ProjectEvent::DecisionMade(e) => e.occurred_on,
            ProjectEvent::OutcomeReviewed(e) => e.occurred_on,
            ProjectEvent::CorrectionRecorded(e) => e.occurred_on,
            ProjectEvent::ProjectClosed(e) => e.occurred_on,
            ProjectEvent::AssessmentSealed(e) => e.occurred_on,
            ProjectEvent::ParticipantErased(e) => e.occurred_on,
            ProjectEvent::ParticipantAnswered(e) => e.occurred_on,
            ProjectEvent::PeopleTold(e) => e.occurred_on,
            ProjectEvent::FeedbackGiven(e) => e.occurred_on,
        }
    }
}

impl cqrs_es::DomainEvent for ProjectEvent {
    fn event_type(&self) -> String {
        self.type_name().to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
