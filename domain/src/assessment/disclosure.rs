//! Who an assessment is given to, and what it may therefore say about people: readers who may
//! see the trail's personal data get every figure; the others (panels) get an assessment in
//! which nothing depends on the groups of fewer than five people, no count of people below five
//! is stated and no participant is named (`docs/privacy.md`).
//!
//! The engine applies this while it judges, before indicators add up to criteria, so that the
//! ratings, scores and summaries a panel reads follow from what it is shown.

use serde::{Deserialize, Serialize};

use super::wording::SMALL_COUNT;

/// Who an assessment is for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// Readers who may see the trail's personal data: every figure.
    #[default]
    Full,
    /// Readers who may not (panels): what people's groups decide is withheld when fewer than
    /// five people's groups are known, counts of people below five are not stated, and no
    /// participant is named.
    Protected,
}

impl Disclosure {
    pub fn is_full(&self) -> bool {
        *self == Disclosure::Full
    }

    /// Whether what the groups of `people` people decide is withheld from these readers.
    pub(super) fn withholds_groups_of(self, people: usize) -> bool {
        self == Disclosure::Protected && people < SMALL_COUNT
    }

    /// Whether a text stating these counts of people is withheld from these readers: one of
    /// them is from one to four (none at all singles nobody out).
    pub(super) fn withholds_counts(self, counts: &[usize]) -> bool {
        self == Disclosure::Protected && counts.iter().any(|&n| n > 0 && n < SMALL_COUNT)
    }
}

/// The indicators that people's groups decide.
pub const GROUP_INDICATORS: [&str; 3] = [
    "priority_groups_reached",
    "breadth",
    "no_single_group_dominates",
];

/// The value of an indicator withheld for the groups of fewer than five people.
pub const GROUPS_NOT_SHOWN_VALUE: &str = "not shown";
/// Its explanation: the same whichever groups those people belong to.
pub const GROUPS_NOT_SHOWN: &str = "Not shown: fewer than five people whose groups are known took part, so nothing about their groups is shown, to protect their privacy.";
/// The value of an indicator whose figures would count fewer than five people.
pub const COUNT_NOT_SHOWN_VALUE: &str = "not shown: fewer than five people";
/// Its explanation.
pub const COUNT_NOT_SHOWN: &str = "Not shown: the figures would count fewer than five people, so they are not shown, to protect their privacy.";
