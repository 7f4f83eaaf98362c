//! The second criterion, blurred boundaries: version 1's rules, with version 2's people with lived
//! experience and plain words.

use std::collections::BTreeSet;

use super::facts::Facts;
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::events::{ActivityKind, Role};
use crate::rubric::Parameters;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::CoChair => "co-chair",
        Role::CoFacilitator => "co-facilitator",
        Role::CoTrainer => "co-trainer",
        Role::CoResearcher => "co-researcher",
        Role::QualityAssurer => "quality checker",
        Role::RecruitmentPanel => "member of a recruitment panel",
        Role::PeerSupporter => "peer supporter",
        Role::Learner => "learner",
    }
}

pub fn professional_roles(f: &Facts) -> Judged {
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    let mut evidence = Vec::new();
    let mut roles = BTreeSet::new();
    for (seq, taken, who) in &f.roles {
        if taken.role.is_professional_role() && f.is_ple(*who) {
            evidence.push(*seq);
            roles.insert(role_name(taken.role).to_string());
        }
    }
    if roles.is_empty() {
        return Judged::new(
            NotMet,
            "no such role taken",
            "Nobody with lived experience has taken a role usually held by staff, such as co-chair or co-trainer.",
            evidence,
        );
    }
    let roles: Vec<String> = roles.into_iter().collect();
    Judged::new(
        Met,
        count_of(roles.len(), "kind of role", "kinds of role"),
        format!(
            "People with lived experience took roles usually held by staff: {}.",
            listed(&roles)
        ),
        evidence,
    )
}

pub fn shared_facilitation(f: &Facts, p: &Parameters) -> Judged {
    let run: Vec<_> = f
        .activities
        .iter()
        .filter(|a| !a.facilitators.is_empty())
        .collect();
    let evidence: Vec<u64> = run.iter().map(|a| a.seq).collect();
    if f.activities.is_empty() {
        return Judged::new(
            NotApplicable,
            "no activity yet",
            "No activity has been recorded yet.",
            evidence,
        );
    }
    if run.is_empty() {
        return Judged::new(
            NotRecorded,
            "nobody recorded running an activity",
            "No activity records who ran it.",
            evidence,
        );
    }
    let total = run.len();
    let with_ple = run.iter().filter(|a| a.led_by_ple).count();
    let share = p.shared_facilitation_share;
    let met = at_least(with_ple, total, share);
    let mut explanation = format!(
        "People with lived experience helped to run {} activities that had someone running them.",
        of(with_ple, total)
    );
    if total == 1 {
        explanation = if with_ple == 1 {
            "People with lived experience helped to run the one activity that had someone running it.".to_string()
        } else {
            "People with lived experience did not help to run the one activity that had someone running it.".to_string()
        };
    }
    if !met {
        explanation.push_str(&format!(" They should help to run at least {share}%."));
    }
    Judged::new(
        if met { Met } else { NotMet },
        value_of(
            with_ple,
            total,
            if total == 1 { "activity" } else { "activities" },
        ),
        explanation,
        evidence,
    )
}

pub fn learning_both_ways(f: &Facts) -> Judged {
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    let mut evidence = Vec::new();
    for (seq, taken, who) in &f.roles {
        if taken.role == Role::Learner && f.person(*who).professional {
            evidence.push(*seq);
        }
    }
    for a in &f.activities {
        if a.held.kind == ActivityKind::Training
            && a.led_by_ple
            && a.attendees.iter().any(|w| f.person(*w).professional)
        {
            evidence.push(a.seq);
        }
    }
    if evidence.is_empty() {
        return Judged::new(
            NotMet,
            "no staff learning recorded",
            "No member of staff was recorded learning from people with lived experience, as a learner or at training they ran.",
            evidence,
        );
    }
    Judged::new(
        Met,
        "staff learning recorded",
        "Staff learned from people with lived experience, as learners or at training they ran.",
        evidence,
    )
}
