//! "What the people involved say": the participants' own answers (given through one-time
//! invitations), set beside the rating the record gives, never mixed into it.
//!
//! Each person counts once, by their latest answer. Every count below [`SMALL_COUNT`] is
//! suppressed, for every reader; the middle placement, the comments and the flag are only given
//! once at least five people have answered, so that no answer can be traced to a person. An
//! answer whose personal data was erased is not counted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Disclosure, Flag, SMALL_COUNT};
use crate::events::{AccessibleFormat, Agreement, LadderRung, ParticipantView, ProjectEvent};
use crate::recorded::RecordedEvent;

/// How far apart, in rungs, the people's middle placement and the record's rung must be for the
/// assessment to flag it.
pub const PLACEMENT_GAP: usize = 2;

/// The key of the flag raised when the people place the project far from the record.
pub const PLACED_DIFFERENTLY: &str = "people_place_it_differently";

/// A count of people as it may be shown: `count` is `null` and `suppressed` true below five.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownCount {
    pub count: Option<u32>,
    pub suppressed: bool,
}

impl ShownCount {
    fn of(n: usize) -> ShownCount {
        if n < SMALL_COUNT {
            ShownCount {
                count: None,
                suppressed: true,
            }
        } else {
            ShownCount {
                count: Some(n as u32),
                suppressed: false,
            }
        }
    }
}

/// What the people involved say about the project, beside the rating from the record.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleSay {
    /// How many people have answered.
    pub answered: ShownCount,
    /// Where they would place the project on the ladder: people per rung, lowest first.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ShownCount>))]
    pub placement: BTreeMap<LadderRung, ShownCount>,
    /// "I was listened to": people per answer.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ShownCount>))]
    pub listened_to: BTreeMap<Agreement, ShownCount>,
    /// "I could influence decisions".
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ShownCount>))]
    pub could_influence: BTreeMap<Agreement, ShownCount>,
    /// "I was paid or thanked fairly".
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ShownCount>))]
    pub paid_or_thanked_fairly: BTreeMap<Agreement, ShownCount>,
    /// People who need an accessible format, per format.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, ShownCount>))]
    pub accessible_format: BTreeMap<AccessibleFormat, ShownCount>,
    /// The middle of their placements (of an even number, the lower of the two middle ones);
    /// absent when fewer than five people answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_placement: Option<LadderRung>,
    /// The rung the record places the project on (the assessment's `overall.ladder.rung`).
    pub record_rung: Option<LadderRung>,
    /// Their comments, in alphabetical order so that the order tells nothing; only for readers
    /// who may see personal data, and only once five people have answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<String>>,
    /// Raised when the middle placement is two or more rungs from the record's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<Flag>,
    pub summary: String,
}

/// What the people say in `known` (the entries the assessment is computed from), beside
/// `record_rung`; `None` when nobody has answered (so assessments without answers are as before).
pub fn people_say(
    known: &[&RecordedEvent],
    record_rung: Option<LadderRung>,
    disclosure: Disclosure,
) -> Option<PeopleSay> {
    let mut latest: BTreeMap<&str, (u64, &ParticipantView)> = BTreeMap::new();
    let mut anyone = false;
    for entry in known {
        if let ProjectEvent::ParticipantAnswered(e) = &entry.event {
            anyone = true;
            if let Some(view) = e.answer.clear() {
                latest.insert(&e.participant_id, (entry.sequence, view));
            } else {
                // Erased (or not readable here): this person's earlier answers go with it.
                latest.remove(e.participant_id.as_str());
            }
        }
    }
    if !anyone {
        return None;
    }
    let views: Vec<&ParticipantView> = latest.values().map(|(_, view)| *view).collect();
    let counted = |of: &dyn Fn(&ParticipantView) -> bool| views.iter().filter(|v| of(v)).count();
    let agreement = |of: fn(&ParticipantView) -> Agreement| {
        Agreement::ALL
            .into_iter()
            .map(|a| (a, ShownCount::of(counted(&|v| of(v) == a))))
            .collect::<BTreeMap<_, _>>()
    };
    let placement = LadderRung::ALL
        .into_iter()
        .map(|r| (r, ShownCount::of(counted(&|v| v.placement == r))))
        .collect();
    let accessible_format = AccessibleFormat::ALL
        .into_iter()
        .map(|f| {
            (
                f,
                ShownCount::of(counted(&|v| v.accessible_format == Some(f))),
            )
        })
        .collect();
    let enough = views.len() >= SMALL_COUNT;
    let middle_placement = enough.then(|| {
        let mut rungs: Vec<LadderRung> = views.iter().map(|v| v.placement).collect();
        rungs.sort();
        rungs[(rungs.len() - 1) / 2]
    });
    let comments = (enough && disclosure.is_full()).then(|| {
        let mut comments: Vec<String> = views
            .iter()
            .filter_map(|v| v.comment.clone())
            .filter(|c| !c.trim().is_empty())
            .collect();
        comments.sort();
        comments
    });
    let flag = match (middle_placement, record_rung) {
        (Some(theirs), Some(record))
            if theirs.index().abs_diff(record.index()) >= PLACEMENT_GAP =>
        {
            let direction = if theirs > record { "higher" } else { "lower" };
            Some(Flag {
                key: PLACED_DIFFERENTLY.to_string(),
                message: format!(
                    "The people involved place the project at {}, {} rungs {direction} than the record shows ({}). Ask them why.",
                    rung_words(theirs),
                    theirs.index().abs_diff(record.index()),
                    rung_words(record)
                ),
                evidence: latest.values().map(|(sequence, _)| *sequence).collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
            })
        }
        _ => None,
    };
    let summary = if enough {
        format!(
            "{} people involved have said what they think. Half of them or more place the project at {} or lower on the ladder.",
            views.len(),
            middle_placement.map(rung_words).unwrap_or_default()
        )
    } else {
        format!(
            "Fewer than {SMALL_COUNT} people involved have said what they think, so their answers are not shown, to protect their privacy."
        )
    };
    Some(PeopleSay {
        answered: ShownCount::of(views.len()),
        placement,
        listened_to: agreement(|v| v.listened_to),
        could_influence: agreement(|v| v.could_influence),
        paid_or_thanked_fairly: agreement(|v| v.paid_or_thanked_fairly),
        accessible_format,
        middle_placement,
        record_rung,
        comments,
        flag: flag.filter(|_| enough),
        summary,
    })
}

fn rung_words(rung: LadderRung) -> &'static str {
    super::v2::rung_words(rung)
}
