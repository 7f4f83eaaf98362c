//! The third criterion, reciprocal reward: rewards that mean something (a minimum hourly rate, not
//! "more than nothing"), every session rewarded, the way people chose, on time, and expenses on
//! time. Explanations never say who was or was not paid: that can give away someone's benefits.

use std::collections::HashSet;

use chrono::Days;

use super::facts::{Facts, Reward};
use super::words::*;
use super::Judged;
use crate::assessment::EvidenceState::*;
use crate::assessment::SMALL_COUNT;
use crate::events::RewardKind;
use crate::rubric::Parameters;

impl Reward<'_> {
    fn is_money(&self) -> bool {
        self.given.kind.is_money()
    }

    /// The hourly rate of a money reward that was taken: stated, or worked out from the length
    /// of the activity it names.
    pub fn rate(&self, f: &Facts) -> Option<i64> {
        if !self.is_money() || self.given.declined.is_some() {
            return None;
        }
        if let Some(rate) = self.given.rate_pence_per_hour {
            return Some(rate);
        }
        let amount = self.given.amount_pence?;
        let minutes = self
            .activity
            .and_then(|i| f.activities[i].held.duration_minutes)
            .filter(|m| *m > 0)?;
        Some(amount * 60 / minutes)
    }

    /// Whether it counts as a reward: money at the minimum rate or more (a sum with no known
    /// length counts as one hour), money of an unknown amount, money turned down for a sound
    /// reason, learning or an opportunity. Never recognition alone, expenses or support.
    pub fn counts(&self, f: &Facts, p: &Parameters) -> bool {
        let minimum = p.min_rate_pence_per_hour.unwrap_or(0) as i64;
        match self.given.kind {
            RewardKind::Learning | RewardKind::Opportunity => true,
            RewardKind::Recognition | RewardKind::Expenses => false,
            RewardKind::Payment | RewardKind::Voucher | RewardKind::CharityDonation => {
                if self.given.declined.is_some() || self.given.amount_unknown == Some(true) {
                    return true;
                }
                match self.rate(f) {
                    Some(rate) => rate >= minimum && rate > 0,
                    None => self.given.amount_pence.unwrap_or(0) >= minimum.max(1),
                }
            }
        }
    }

    /// A payment, voucher or donation that was taken (not turned down).
    fn is_taken_money(&self) -> bool {
        self.is_money() && self.given.declined.is_none()
    }

    /// Given between the day of the activity it names and `days` after it; `None` if it names
    /// no activity recorded before it.
    fn on_time(&self, f: &Facts, days: u64) -> Option<bool> {
        let held = f.activities[self.activity?].held.occurred_on;
        let deadline = held.checked_add_days(Days::new(days));
        let day = self.given.occurred_on;
        Some(day >= held && deadline.is_some_and(|d| day <= d))
    }
}

/// People with lived experience who attended or ran an activity, by index, with the entries of
/// those activities.
fn took_part(f: &Facts) -> (Vec<u32>, Vec<u64>) {
    let mut seen = vec![false; f.people.len()];
    let mut who = Vec::new();
    let mut evidence = Vec::new();
    for a in &f.activities {
        let mut any = false;
        for w in a.everyone() {
            if f.is_ple(w) {
                any = true;
                if !std::mem::replace(&mut seen[w as usize], true) {
                    who.push(w);
                }
            }
        }
        if any {
            evidence.push(a.seq);
        }
    }
    (who, evidence)
}

pub fn rewarded_beyond_expenses(f: &Facts, p: &Parameters) -> Judged {
    let (who, mut evidence) = took_part(f);
    let n = who.len();
    if n == 0 {
        return Judged::new(
            NotApplicable,
            "nobody has taken part yet",
            "Nobody with lived experience has attended an activity yet, so no reward is due.",
            evidence,
        );
    }
    let took_part: HashSet<u32> = who.iter().copied().collect();
    let mut rewarded = HashSet::new();
    for r in &f.rewards {
        if took_part.contains(&r.who) && r.counts(f, p) {
            rewarded.insert(r.who);
            evidence.push(r.seq);
        }
    }
    let k = rewarded.len();
    let share = p.reward_share;
    let met = at_least(k, n, share);
    let minimum = money(p.min_rate_pence_per_hour.unwrap_or(0) as i64);
    let mut explanation = format!(
        "{} with lived experience who took part in activities had a reward that counts.",
        capitalised(&people_of(k, n))
    );
    if !met {
        explanation.push_str(&format!(
            " At least {share}% should. Money counts when it is at least {minimum} an hour. Thanks alone, expenses and support do not count."
        ));
    }
    Judged::new(
        if met { Met } else { NotMet },
        people_value(k, n),
        explanation,
        evidence,
    )
}

pub fn fair_rate(f: &Facts, p: &Parameters) -> Judged {
    let taken: Vec<&Reward> = f.rewards.iter().filter(|r| r.is_taken_money()).collect();
    let mut evidence: Vec<u64> = taken.iter().map(|r| r.seq).collect();
    if taken.is_empty() {
        return Judged::new(
            NotApplicable,
            "no money paid",
            "No money has been paid yet.",
            evidence,
        );
    }
    let minimum = p.min_rate_pence_per_hour.unwrap_or(0) as i64;
    let rates: Vec<(u64, i64)> = taken
        .iter()
        .filter_map(|r| Some((r.seq, r.rate(f)?)))
        .collect();
    let unknown = taken.len() - rates.len();
    if rates.is_empty() {
        return Judged::new(
            NotRecorded,
            "no hourly rate known",
            "Money was paid, but no hourly rate is recorded, and the length of the activities it was for is not known.",
            evidence,
        );
    }
    evidence.extend(
        taken
            .iter()
            .filter_map(|r| r.activity.map(|i| f.activities[i].seq)),
    );
    let below = rates.iter().filter(|(_, rate)| *rate < minimum).count();
    let known = rates.len();
    let mut explanation = if below == 0 {
        format!(
            "Every payment with a known hourly rate was at least {} an hour.",
            money(minimum)
        )
    } else {
        format!(
            "{} with a known hourly rate {} below {} an hour.",
            capitalised(&hidden_of(below, known, "payments")),
            was_or_were(below, known),
            money(minimum)
        )
    };
    if unknown > 0 {
        explanation.push_str(if unknown < SMALL_COUNT {
            " The rate of some payments is not known."
        } else {
            " The rate of five or more payments is not known."
        });
    }
    Judged::new(
        if below == 0 { Met } else { NotMet },
        format!(
            "{} below the minimum",
            hidden_value(below, known, "known rates")
        ),
        explanation,
        evidence,
    )
}

pub fn session_coverage(f: &Facts, p: &Parameters) -> Judged {
    // Sessions: one person with lived experience at one activity, each pair once.
    let mut sessions = 0;
    let mut evidence = Vec::new();
    for a in &f.activities {
        let before = sessions;
        for (i, w) in a.everyone().enumerate() {
            let again = a.everyone().take(i).any(|earlier| earlier == w);
            if f.is_ple(w) && !again {
                sessions += 1;
            }
        }
        if sessions > before {
            evidence.push(a.seq);
        }
    }
    if sessions == 0 {
        return Judged::new(
            NotApplicable,
            "no sessions yet",
            "Nobody with lived experience has attended an activity yet.",
            evidence,
        );
    }
    if !f.rewards.iter().any(|r| r.activity.is_some()) {
        return Judged::new(
            NotRecorded,
            "no reward names its activity",
            "No reward names the activity it was for, so it is not known which sessions were rewarded.",
            evidence,
        );
    }
    let mut paid = HashSet::new();
    for r in &f.rewards {
        if let Some(i) = r.activity {
            let attended = f.activities[i].everyone().any(|w| w == r.who);
            if r.is_money()
                && f.is_ple(r.who)
                && attended
                && r.counts(f, p)
                && paid.insert((r.who, i))
            {
                evidence.push(r.seq);
            }
        }
    }
    let (k, n) = (paid.len(), sessions);
    let share = p.session_coverage_share.unwrap_or(0);
    let met = at_least(k, n, share);
    let mut explanation = format!(
        "{} that people with lived experience attended {} rewarded in a way that counts. Each person at each activity is a session.",
        capitalised(&hidden_of(k, n, "sessions")),
        was_or_were(k, n)
    );
    if !met {
        explanation.push_str(&format!(" At least {share}% should be."));
    }
    Judged::new(
        if met { Met } else { NotMet },
        hidden_value(k, n, "sessions"),
        explanation,
        evidence,
    )
}

pub fn preferred_method(f: &Facts) -> Judged {
    let taken: Vec<&Reward> = f.rewards.iter().filter(|r| r.is_taken_money()).collect();
    if taken.is_empty() {
        return Judged::new(
            NotApplicable,
            "no money paid",
            "No money has been paid yet.",
            [],
        );
    }
    let recorded: Vec<&&Reward> = taken
        .iter()
        .filter(|r| r.given.as_preferred.is_some())
        .collect();
    let evidence: Vec<u64> = recorded.iter().map(|r| r.seq).collect();
    if recorded.is_empty() {
        return Judged::new(
            NotRecorded,
            "not recorded",
            "No payment records whether it was made the way the person chose.",
            evidence,
        );
    }
    let not_chosen = recorded
        .iter()
        .filter(|r| r.given.as_preferred == Some(false))
        .count();
    if not_chosen == 0 {
        return Judged::new(
            Met,
            "paid the way people chose",
            "Every payment that says so was made the way the person chose.",
            evidence,
        );
    }
    let total = recorded.len();
    Judged::new(
        NotMet,
        format!(
            "{} not as chosen",
            hidden_value(not_chosen, total, "payments")
        ),
        format!(
            "{} {} not made the way the person chose.",
            capitalised(&hidden_of(not_chosen, total, "payments")),
            was_or_were(not_chosen, total)
        ),
        evidence,
    )
}

pub fn development(f: &Facts) -> Judged {
    if !f.anyone_took_part() {
        return Judged::nobody_yet();
    }
    let evidence: Vec<u64> = f
        .rewards
        .iter()
        .filter(|r| {
            matches!(r.given.kind, RewardKind::Learning | RewardKind::Opportunity)
                && f.is_ple(r.who)
        })
        .map(|r| r.seq)
        .collect();
    if evidence.is_empty() {
        return Judged::new(
            NotMet,
            "none recorded",
            "Nobody with lived experience was recorded gaining learning or a new opportunity through the project.",
            evidence,
        );
    }
    Judged::new(
        Met,
        "recorded",
        "People with lived experience gained learning or a new opportunity through the project.",
        evidence,
    )
}

pub fn timely(f: &Facts, p: &Parameters) -> Judged {
    let taken: Vec<&Reward> = f.rewards.iter().filter(|r| r.is_taken_money()).collect();
    if taken.is_empty() {
        return Judged::new(
            NotApplicable,
            "no money paid",
            "No money has been paid, so there is nothing to judge yet.",
            [],
        );
    }
    on_time(f, &taken, p.reward_days, "payment", "payments")
}

pub fn expenses_on_time(f: &Facts, p: &Parameters) -> Judged {
    let expenses: Vec<&Reward> = f
        .rewards
        .iter()
        .filter(|r| r.given.kind == RewardKind::Expenses && r.given.support.is_none())
        .collect();
    if expenses.is_empty() {
        return Judged::new(
            NotApplicable,
            "no expenses paid",
            "No expenses have been paid.",
            [],
        );
    }
    on_time(
        f,
        &expenses,
        p.reward_days,
        "expenses payment",
        "expenses payments",
    )
}

fn on_time(f: &Facts, rewards: &[&Reward], days: u64, one: &str, many: &str) -> Judged {
    let mut evidence = Vec::new();
    let mut named = 0;
    let mut late = 0;
    for r in rewards {
        let Some(on_time) = r.on_time(f, days) else {
            continue;
        };
        named += 1;
        evidence.push(r.seq);
        evidence.extend(r.activity.map(|i| f.activities[i].seq));
        if !on_time {
            late += 1;
        }
    }
    if named == 0 {
        return Judged::new(
            NotRecorded,
            "no activity named",
            format!(
                "No {one} names the activity it was for, so it is not known if it came on time."
            ),
            evidence,
        );
    }
    if late == 0 {
        let all = if named == 1 {
            format!("The one {one} that names its activity was made within {days} days of it.")
        } else {
            format!(
                "All {} {many} that name their activity were made within {days} days of it.",
                number(named)
            )
        };
        return Judged::new(Met, value_of(named, named, "on time"), all, evidence);
    }
    Judged::new(
        NotMet,
        format!("{} late", value_of(late, named, many)),
        format!(
            "{} {many} that name their activity came later than {days} days after it.",
            capitalised(&of(late, named))
        ),
        evidence,
    )
}
