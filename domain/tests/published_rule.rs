//! The published rule, `docs/rubric.md`, is generated from the rubric files (`domain/rubrics/`):
//! every version, the current one first, criterion by criterion and indicator by indicator —
//! the rule with its parameters put in, for version 2 on the four evidence states and the words
//! an assessment gives for what is missing, the parameters each indicator uses, and the ladder.
//! The engine takes its thresholds and its missing-evidence words from the same files, so the
//! document, the files and the engine cannot drift apart.
//!
//! The test fails when `docs/rubric.md` is not what the files give; `UPDATE_RUBRIC_DOCS=1` (with
//! `cargo test -p coprod-domain --test published_rule`) writes it afresh. The words around the
//! generated parts are in this file.

use std::fmt::Write as _;
use std::path::PathBuf;

use coprod_domain::rubric::{self, IndicatorDefinition, PublishedRubric};
use serde_json::Value;

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/rubric.md")
}

/// The wire name of a value (`co_production`).
fn key_of(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The rubric's parameters by name, in name order.
fn parameters(published: &PublishedRubric) -> Vec<(String, Value)> {
    match serde_json::to_value(&published.rubric.parameters) {
        Ok(Value::Object(map)) => map.into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A parameter's value as a reader takes it: with its unit.
fn with_unit(name: &str, value: &Value) -> String {
    let number = value.as_u64();
    match (name, number) {
        ("activity_modes", _) => "see the table below".into(),
        ("reward_days", Some(n)) => format!("{n} days"),
        ("min_groups", Some(n)) => format!("{n} groups"),
        ("parity_tolerance", Some(n)) => format!("{n} percentage points"),
        ("min_rate_pence_per_hour", Some(n)) => {
            format!("{n} pence an hour (£{}.{:02})", n / 100, n % 100)
        }
        (name, Some(n)) if name.ends_with("_share") => format!("{n} %"),
        (_, Some(n)) => n.to_string(),
        (_, None) => value.to_string(),
    }
}

/// The rule with every `{parameter}` replaced by its value.
fn substituted(rule: &str, parameters: &[(String, Value)]) -> String {
    let mut text = rule.to_string();
    for (name, value) in parameters {
        let shown = match value {
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        text = text.replace(&format!("{{{name}}}"), &shown);
    }
    text
}

/// The parameters an indicator uses: those it names (version 2 on) and those its rule mentions.
fn used_by(indicator: &IndicatorDefinition, parameters: &[(String, Value)]) -> Vec<String> {
    parameters
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| {
            indicator.rule.contains(&format!("{{{name}}}"))
                || indicator.uses.iter().flatten().any(|used| used == name)
        })
        .collect()
}

/// Text fit for a cell of a Markdown table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

const STATES: [(&str, &str); 4] = [
    ("met", "Met"),
    ("not_met", "Not met"),
    ("not_applicable", "Does not apply yet"),
    ("not_recorded", "Not recorded"),
];

const INTRODUCTION: &str = "\
Coprod scores each project against the six-point test that Oxfordshire County Council's
co-production team gave its scrutiny committee:

{aims}
Each point is judged by indicators that a panel can check by hand from the audit trail. The rule
is published and every result can be reproduced, because a score that a councillor cannot
recompute by hand is of no use to a panel.

The rubric is data: the files in [`domain/rubrics/`](../domain/rubrics/), compiled into the
program. The server publishes every version with every threshold at `GET /api/v1/rubrics`, and
one at `GET /api/v1/rubrics/{id}@{version}`. An assessment uses the latest version unless it
names another (`?rubric=oxfordshire-six-point@1`). The engine that applies them is in
`domain/src/assessment` (version 2 in `v2/`). This page is generated from the same files by
`domain/tests/published_rule.rs`, and the words an assessment gives for what is missing are the
ones below, so the page, the files and the engine say the same thing.

";

const VERSION_2_TERMS: &str = "\
### How version 2 judges

Absence of evidence never raises a verdict: a fact that was never recorded never makes an
indicator met.

- **Evidence states.** Each indicator is *met*, *not met*, *does not apply yet*
  (`not_applicable`: nothing to judge yet, such as no failure reviewed or no reward due) or *not
  recorded* (`not_recorded`: the facts it needs were never recorded). Unless it is met, the
  assessment says what to record or do (`missing_evidence`): the words in the tables below.
- **People with lived experience**: participants of kind `lived_experience` or `carer`, or of
  any kind recorded with `lived_experience: true` (a disabled-led provider, staff with lived
  experience). A member of staff with lived experience does not make a decision shared by
  having a say in it: only people of kind `lived_experience` or `carer`, and providers and
  community organisations recorded with lived experience, do.
- **How people took part.** Each kind of activity informs, asks for views (consults) or lets
  people talk things through (deliberates), as the parameter `activity_modes` says; an activity
  run by a person with lived experience is led by them. *Talking things through* is attending or
  running a deliberative or led activity, or having a say in a decision: by `consensus` or
  `lived_experience_led` as one of its `participants`, or by `vote` as one who voted (being
  present is not voting). *Giving views* is a survey, an interview, an activity of kind `other`,
  or a contribution.
- **Key decisions**: every decision not marked `importance: routine`. A formal decision that
  `ratifies` a shared decision is set apart; one that `departs_from` a recommendation is judged
  on its own method, and says why.
- **Active entries**, **stages reached** and **shares** are as in version 1 (below).

### Ratings, the cap and the overall verdict

- A criterion is rated on the indicators that could be judged (met or not met): all of them met
  gives `met`, some `partly_met`, none `not_met`; when none could be judged it is
  `insufficient_evidence` (\"cannot be judged yet\" on the pages). Its score is ⌊100 × met ÷
  judged⌋, and 0 when none could be judged. Its summary says first what could not be judged.
- **The cap**: when *stops and changes shared* is not met, *shared responsibility* is `not_met`
  whatever its other indicators say, and the criterion says so (`cap`).
- **Overall**: how many points are met, partly met, not met and cannot be judged yet; a summary;
  a one-sentence `headline`; the `ladder` rung with its reasons; the `declared_level` given at
  registration; and `flags`: `declared_above_evidence` when the project says it stands higher on
  the ladder than the facts show, and `unilateral_change` for each pause, stop, closure or change
  of scope made without the people involved and not explained to them first.
- **Plain English**: numbers from one to ten are written in words, and no explanation names who
  was or was not paid.

";

const LADDER_NOTE: &str = "\
The rung is the highest whose evidence the facts show, looking from the top. *Coercion* is never
derived (no fact records it) and is listed so that the scale is complete. A project in which
nobody with lived experience has taken part is not placed on the ladder (`rung: null`).

";

const VERSION_1_TERMS: &str = "\
### Terms

- **People with lived experience (PLE)**: participants of kind `lived_experience` or `carer`.
- **Professionals**: participants of kind `professional` or `provider`.
- Community organisations and elected members are neither PLE nor professionals, except where
  an indicator names them.
- **Active entries as of T**: the entries recorded at or before T that no `correction_recorded`
  recorded at or before T withdraws. An assessment \"as of T\" uses only these (see
  [architecture.md](architecture.md), invariant 3). With `at_sequence=n`, the same holds for
  entries 1 to n.
- **Stages reached**: the stages with an active `stage_started`, in lifecycle order: `commission`
  → `design` → `deliver` → `assess`.
- A PLE **took part in stage s** if, in s, they attended or facilitated an activity, were among
  the `participants` of a decision, or made a contribution.
- **Shares** are compared in integers: \"a of b is at least p %\" means `100·a ≥ p·b` (and b > 0).
  Per cents shown are rounded down.
- **Evidence** of an indicator: the sequence numbers of the active entries its value was
  computed from, ascending, each once. The pages link each one to the trail.

";

const VERSION_1_NOTES: &str = "\
A response counts only while the contribution it answers is active, and it answers only a
contribution recorded before it. Likewise, for `timely`, a reward is matched only with an
activity recorded before it.

### Scores and ratings

- **Criterion score** = ⌊100 × indicators met ÷ 3⌋, so it is 0, 33, 66 or 100.
- **Rating**: all 3 indicators met gives `met`; 1 or 2 gives `partly_met`; 0 gives `not_met`.
- **Overall**: the counts of `met`, `partly_met` and `not_met`, and one plain-English sentence
  that names the points not met.
- Every indicator has a `value` (for example \"3 of 4 stages\") and an `explanation` that a
  resident can read. The explanation says what is missing when the indicator is not met.

";

const CLOSING: &str = "\
## Personal data in the rubric

- Counts of people below 5 are never shown: they read as \"fewer than 5\" (\"fewer than five\"
  in version 2, which hides counts of sessions and payments below five too, since each stands
  for a person), and a share that would give such a count away is left out.
- A panel cannot tell which groups fewer than five people belong to: for readers who may not see
  the trail's personal data, the indicators that people's groups decide are `not_shown` (and not
  judged) while fewer than five people whose groups are known count towards them, version 1's
  explanations that would count one to four people are not shown, and nobody is named. See
  [privacy.md](privacy.md#what-a-panel-reads).
- After a participant's personal data is erased, their groups are unknown. They count towards no
  group, and the group shares are of the people whose groups are known. The assessment says how
  many participants were erased (`participants_erased`). See [privacy.md](privacy.md).

## Versions

- A rubric's **digest** is the SHA-256 of the canonical JSON of its file.
- Every assessment names the rubric id, version and digest it used.
- A new version is a new file and never changes an old one. Any assessment can therefore be
  replayed under the version it named (`?rubric=id@version`), and a sealed assessment is always
  checked with its own version (see [verifying.md](verifying.md)).
";

/// "Version 2 (current)".
fn version_heading(published: &PublishedRubric, current: bool) -> String {
    let suffix = if current { " (current)" } else { "" };
    format!("Version {}{suffix}", published.rubric.version)
}

/// The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces as
/// hyphens.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// `docs/rubric.md` as the rubric files give it.
fn render() -> String {
    let mut versions: Vec<&PublishedRubric> = rubric::all().iter().collect();
    versions.sort_by_key(|r| std::cmp::Reverse(r.rubric.version));
    let latest = rubric::latest();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# The six-point co-production test: rubric `{}`\n",
        latest.rubric.id
    );
    let _ = writeln!(
        out,
        "<!-- Generated from domain/rubrics/*.json by domain/tests/published_rule.rs. Do not edit:\n     \
         UPDATE_RUBRIC_DOCS=1 cargo test -p coprod-domain --test published_rule writes it again. -->\n"
    );
    let aims: String = latest
        .rubric
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}. **{}**: {}\n", i + 1, c.title, c.aim))
        .collect();
    out.push_str(&INTRODUCTION.replace("{aims}", &aims));
    out.push_str("Versions on this page:\n\n");
    for published in &versions {
        let r = &published.rubric;
        let current = if r.version == latest.rubric.version {
            " (current: the default)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "- [Version {}{current}](#{})",
            r.version,
            anchor(&version_heading(
                published,
                published.rubric.version == latest.rubric.version
            ))
        );
    }
    out.push('\n');
    for published in &versions {
        render_version(
            &mut out,
            published,
            published.rubric.version == latest.rubric.version,
        );
    }
    out.push_str(CLOSING);
    out
}

fn render_version(out: &mut String, published: &PublishedRubric, current: bool) {
    let r = &published.rubric;
    let params = parameters(published);
    let with_states = r.version >= 2;
    let _ = writeln!(out, "## {}\n", version_heading(published, current));
    let _ = writeln!(
        out,
        "`{}@{}`: {}. Source: {}\n\nDigest: `{}`\n",
        r.id, r.version, r.title, r.source, published.digest
    );
    out.push_str(if with_states {
        VERSION_2_TERMS
    } else {
        VERSION_1_TERMS
    });

    let _ = writeln!(out, "### The parameters of version {}\n", r.version);
    out.push_str("| parameter | value | used by |\n|---|---|---|\n");
    for (name, value) in &params {
        let users: Vec<String> = r
            .criteria
            .iter()
            .flat_map(|c| &c.indicators)
            .filter(|i| used_by(i, &params).contains(name))
            .map(|i| format!("`{}`", i.key))
            .collect();
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} |",
            with_unit(name, value),
            users.join(", ")
        );
    }
    out.push('\n');
    if let Some(Value::Object(modes)) = params
        .iter()
        .find(|(name, _)| name == "activity_modes")
        .map(|(_, v)| v)
    {
        out.push_str("How each kind of activity involves people (`activity_modes`; an activity run by a person with lived experience is `lead`, a kind not listed is `consult`):\n\n");
        out.push_str("| activity kind | mode |\n|---|---|\n");
        for (kind, mode) in modes {
            let _ = writeln!(
                out,
                "| `{kind}` | `{}` |",
                mode.as_str().unwrap_or_default()
            );
        }
        out.push('\n');
    }

    let _ = writeln!(
        out,
        "### Criteria and indicators of version {}\n",
        r.version
    );
    for (n, criterion) in r.criteria.iter().enumerate() {
        let _ = writeln!(
            out,
            "#### {}. `{}`: {}\n",
            n + 1,
            criterion.key,
            criterion.title
        );
        let _ = writeln!(out, "The aim: {}\n", criterion.aim);
        if !with_states {
            out.push_str("| indicator | met when |\n|---|---|\n");
            for indicator in &criterion.indicators {
                let _ = writeln!(
                    out,
                    "| `{}` ({}) | {} |",
                    indicator.key,
                    cell(&indicator.title),
                    cell(&substituted(&indicator.rule, &params))
                );
            }
            out.push('\n');
            continue;
        }
        for indicator in &criterion.indicators {
            let _ = writeln!(
                out,
                "##### `{}`: {}\n\n{}\n",
                indicator.key,
                indicator.title,
                substituted(&indicator.rule, &params)
            );
            out.push_str(
                "| state | when | what the assessment asks to record or do |\n|---|---|---|\n",
            );
            let states = indicator.states.clone().unwrap_or_default();
            let missing = indicator.missing_evidence.clone().unwrap_or_default();
            for (state, words) in STATES {
                if let Some(when) = states.get(state) {
                    let asked = missing.get(state).map_or("–".to_string(), |m| cell(m));
                    let _ = writeln!(out, "| {words} | {} | {asked} |", cell(when));
                }
            }
            let used = used_by(indicator, &params);
            if used.is_empty() {
                out.push_str("\nParameters used: none.\n\n");
            } else {
                let listed: Vec<String> = used
                    .iter()
                    .map(|name| {
                        let value = match params.iter().find(|(n, _)| n == name) {
                            Some(_) if name == "activity_modes" => {
                                "by kind of activity, above".into()
                            }
                            Some((_, v)) => with_unit(name, v),
                            None => String::new(),
                        };
                        format!("`{name}` ({value})")
                    })
                    .collect();
                let _ = writeln!(out, "\nParameters used: {}.\n", listed.join(", "));
            }
        }
    }
    if !with_states {
        out.push_str(VERSION_1_NOTES);
    }
    if let Some(ladder) = &r.ladder {
        let _ = writeln!(
            out,
            "### The ladder of participation (version {})\n",
            r.version
        );
        out.push_str("From the lowest rung to the highest, after Think Local Act Personal's ladder of co-production:\n\n");
        out.push_str("| rung | title | what it means | what in the facts places a project there |\n|---|---|---|---|\n");
        for step in ladder {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                key_of(step.rung),
                cell(&step.title),
                cell(&step.meaning),
                cell(&step.evidence)
            );
        }
        out.push('\n');
        out.push_str(LADDER_NOTE);
    }
}

#[test]
fn the_published_rule_is_what_the_rubric_files_say() {
    let rendered = render();
    let path = docs_path();
    if std::env::var_os("UPDATE_RUBRIC_DOCS").is_some() {
        std::fs::write(&path, &rendered).expect("write docs/rubric.md");
        return;
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == rendered,
        "docs/rubric.md is not what domain/rubrics/*.json give: run \
         UPDATE_RUBRIC_DOCS=1 cargo test -p coprod-domain --test published_rule, and commit it"
    );
}

#[test]
fn every_parameter_in_a_published_rule_is_put_in_and_every_version_is_published() {
    let rendered = render();
    for published in rubric::all() {
        let params = parameters(published);
        let r = &published.rubric;
        assert!(
            rendered.contains(&format!("## Version {}", r.version)),
            "version {} is published",
            r.version
        );
        assert!(rendered.contains(&published.digest.to_string()));
        for indicator in r.criteria.iter().flat_map(|c| &c.indicators) {
            let rule = substituted(&indicator.rule, &params);
            assert!(
                !rule.contains('{') && !rule.contains('}'),
                "{}@{}: {rule}",
                indicator.key,
                r.version
            );
            assert!(rendered.contains(&cell(&rule)), "{}: rule", indicator.key);
            for words in indicator.missing_evidence.iter().flat_map(|m| m.values()) {
                assert!(
                    rendered.contains(&cell(words)),
                    "{}: {words}",
                    indicator.key
                );
            }
        }
    }
}

#[test]
fn the_current_version_comes_first() {
    let rendered = render();
    let latest = rubric::latest().rubric.version;
    let first = rendered.find("\n## Version ").expect("a version");
    assert!(
        rendered[first..].starts_with(&format!("\n## Version {latest} (current)")),
        "the current version, {latest}, first"
    );
}
