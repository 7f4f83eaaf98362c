//! The fields of the recording forms: how each is shown in GOV.UK Frontend's markup, how what a
//! browser sends is read back into the API's JSON body, and how the API's refusals are put
//! beside the fields they are about.
//!
//! A form never decides what may be recorded: it only turns its fields into the body an API
//! client would post (the same field names), and the API's own path checks and records it. The
//! only checks made here are those a JSON client makes by writing JSON at all: that a whole
//! number is a number, an amount of money an amount, and that a required field was filled in.

use std::collections::BTreeMap;

use maud::{html, Markup};
use serde_json::{Map, Value};

use super::layout::field_error;
use crate::http::problem::ApiError;

/// How a field is entered.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// One line of text.
    Line,
    /// Text that may run over several lines.
    Text,
    /// A day, `YYYY-MM-DD`.
    Date,
    /// A whole number.
    Number,
    /// An amount of money in pounds (`30`, `£30.00`), sent in pence.
    Money,
    /// One of these values, each with its words.
    Choice(&'static [(&'static str, &'static str)]),
    /// Yes or no, sent as `true` or `false`.
    YesNo,
    /// Labels, one a line (or separated by `;`), sent as a list.
    Labels,
    /// One of the project's own things, chosen from a list.
    OneOf(Choices),
    /// Any of the project's own things, ticked.
    AnyOf(Choices),
    /// How each person who took part in a vote voted: the API's `votes` object.
    Votes,
}

/// Which of the project's own things a field chooses from (see [`super::record::ProjectChoices`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choices {
    /// People who have joined and not left (nor been erased).
    People,
    /// Contributions without a response yet.
    Unanswered,
    /// Every contribution.
    Contributions,
    Decisions,
    Activities,
    /// The stage that may start next.
    NextStage,
    /// Stages started and not completed.
    OpenStages,
    /// Entries that may be corrected.
    Entries,
}

/// One field of a form: `name` is the API's field name and the form's.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: Option<&'static str>,
    pub input: Input,
    /// Whether the API needs it; a list that is required is sent even when empty.
    pub required: bool,
    /// What to ask for when a required field is left empty ("Enter the title").
    pub ask: &'static str,
}

/// What the browser sent, by field name (every value of a repeated name, in order).
#[derive(Debug, Default, Clone)]
pub struct Submitted(BTreeMap<String, Vec<String>>);

impl Submitted {
    /// Reads an `application/x-www-form-urlencoded` body; what cannot be read is empty.
    pub fn read(body: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in pairs {
            fields.entry(name).or_default().push(value);
        }
        Submitted(fields)
    }

    /// The first value of `name`, trimmed; empty when not sent.
    pub fn one(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .map_or("", |value| value.trim())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pre-fills `name` (a form shown for the first time).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), vec![value.into()]);
    }
}

/// A refusal, by the field it is about (`(field id, message)`, in the order of the form).
pub type FieldErrors = Vec<(&'static str, String)>;

/// The API's body for `fields` as submitted, with `type` when given; or what is missing or
/// unreadable, field by field.
pub fn body_of(
    event_type: Option<&str>,
    fields: &[Field],
    submitted: &Submitted,
) -> Result<Value, FieldErrors> {
    let mut body = Map::new();
    if let Some(event_type) = event_type {
        body.insert("type".into(), Value::String(event_type.into()));
    }
    let mut errors = FieldErrors::new();
    for field in fields {
        match value_of(field, submitted) {
            Ok(Some(value)) => {
                body.insert(field.name.into(), value);
            }
            Ok(None) if field.required => errors.push((field.name, field.ask.to_string())),
            Ok(None) => {}
            Err(message) => errors.push((field.name, message)),
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(body))
    } else {
        Err(errors)
    }
}

/// One field's JSON value; `None` when it was left empty.
fn value_of(field: &Field, submitted: &Submitted) -> Result<Option<Value>, String> {
    let text = submitted.one(field.name);
    let list = |values: Vec<String>| {
        (field.required || !values.is_empty())
            .then(|| Value::Array(values.into_iter().map(Value::String).collect()))
    };
    Ok(match field.input {
        Input::Line
        | Input::Text
        | Input::Date
        | Input::Choice(_)
        | Input::OneOf(Choices::People)
        | Input::OneOf(Choices::Unanswered)
        | Input::OneOf(Choices::Contributions)
        | Input::OneOf(Choices::Decisions)
        | Input::OneOf(Choices::Activities)
        | Input::OneOf(Choices::NextStage)
        | Input::OneOf(Choices::OpenStages) => {
            (!text.is_empty()).then(|| Value::String(text.to_string()))
        }
        Input::OneOf(Choices::Entries) | Input::Number => match text {
            "" => None,
            text => Some(Value::from(whole_number(text).ok_or_else(|| {
                format!("{} must be a whole number, like 3", field.label)
            })?)),
        },
        Input::Money => match text {
            "" => None,
            text => Some(Value::from(pence(text).ok_or_else(|| {
                format!(
                    "{} must be an amount of money in pounds, like 30 or 12.50",
                    field.label
                )
            })?)),
        },
        Input::YesNo => match text {
            "yes" => Some(Value::Bool(true)),
            "no" => Some(Value::Bool(false)),
            _ => None,
        },
        Input::Labels => list(
            text.split(['\n', ';'])
                .map(str::trim)
                .filter(|label| !label.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Input::AnyOf(_) => list(
            submitted
                .all(field.name)
                .into_iter()
                .map(str::to_string)
                .collect(),
        ),
        Input::Votes => {
            let mut votes = Map::new();
            for way in ["for", "against", "abstain"] {
                votes.insert(way.into(), Value::Array(Vec::new()));
            }
            let mut any = false;
            for (name, values) in &submitted.0 {
                let Some(person) = name.strip_prefix(VOTE_PREFIX) else {
                    continue;
                };
                let way = values.first().map_or("", |v| v.trim());
                if let Some(Value::Array(list)) = votes.get_mut(way) {
                    list.push(Value::String(person.to_string()));
                    any = true;
                }
            }
            any.then_some(Value::Object(votes))
        }
    })
}

/// The name of the radio buttons of one person's vote: this prefix and their id.
pub const VOTE_PREFIX: &str = "vote-";

fn whole_number(text: &str) -> Option<i64> {
    text.replace(',', "").parse().ok()
}

/// Pence in an amount of pounds: `30`, `30.5`, `£1,030.50`.
pub fn pence(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('£').replace(',', "");
    let (pounds, fraction) = match text.split_once('.') {
        Some((pounds, fraction)) => (pounds, fraction),
        None => (text.as_str(), ""),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(pounds) || fraction.len() > 2 || (!fraction.is_empty() && !digits(fraction)) {
        return None;
    }
    let pounds: i64 = pounds.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    pounds.checked_mul(100)?.checked_add(fraction)
}

/// The API's refusal as messages beside the fields: each field error at the field its pointer
/// names (`/attendees/2` is `attendees`), in plain words; a refusal about no field of the form
/// (the project is closed, say) is put at `first` with the API's own sentence.
pub fn refusal_errors(error: &ApiError, fields: &[Field], first: &'static str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for problem in &error.errors {
        let name = problem
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        let field = fields.iter().find(|f| f.name == name);
        let message = match field {
            Some(field) if problem.message == "is required" => field.ask.to_string(),
            Some(field) if problem.message == crate::http::body::DATE_FORM => format!(
                "{} must be a real day, written as year, month and day, like 2025-03-01",
                field.label
            ),
            Some(field) if starts_a_clause(&problem.message) => {
                format!("{} {}", field.label, problem.message)
            }
            // A refusal of one field whose own sentence says more than the field's note.
            Some(_) if error.errors.len() == 1 && !error.detail.contains("listed in 'errors'") => {
                error.detail.clone()
            }
            Some(field) => format!("{}: {}", field.label, problem.message),
            None => error.detail.clone(),
        };
        let at = field.map_or(first, |f| f.name);
        if !errors.iter().any(|(f, m)| *f == at && *m == message) {
            errors.push((at, message));
        }
    }
    if errors.is_empty() {
        errors.push((first, error.detail.clone()));
    }
    errors
}

/// Whether a field rule's message reads on from the field's name ("must be …", "is …").
fn starts_a_clause(message: &str) -> bool {
    ["must ", "may ", "is ", "cannot ", "has ", "names "]
        .iter()
        .any(|start| message.starts_with(start))
}

/// The options of a field that chooses, as (value, words).
pub type Options = Vec<(String, String)>;

/// The markup of `field`, showing what was submitted and its error.
pub fn field_markup(
    field: &Field,
    submitted: &Submitted,
    options: &Options,
    error: Option<&str>,
) -> Markup {
    let id = field.name;
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described: Vec<&str> = [
        field.hint.map(|_| hint_id.as_str()),
        error.map(|_| error_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    let group_class = if error.is_some() {
        "govuk-form-group govuk-form-group--error"
    } else {
        "govuk-form-group"
    };
    let hint = html! {
        @if let Some(hint) = field.hint { div class="govuk-hint" id=(hint_id) { (hint) } }
    };
    let error_message = field_error(id, error);
    let value = submitted.one(id);
    let input_class = |base: &str| {
        if error.is_some() {
            format!("{base} govuk-input--error")
        } else {
            base.to_string()
        }
    };
    let optional = if field.required { "" } else { " (optional)" };
    match field.input {
        Input::Line | Input::Number | Input::Date | Input::Money => {
            let (class, inputmode) = match field.input {
                Input::Number => ("govuk-input govuk-input--width-5", Some("numeric")),
                Input::Date => ("govuk-input govuk-input--width-10", Some("numeric")),
                Input::Money => ("govuk-input govuk-input--width-10", Some("decimal")),
                _ => ("govuk-input", None),
            };
            let input = html! {
                input class=(input_class(class)) id=(id) name=(id) type="text"
                    inputmode=[inputmode] spellcheck="false" autocomplete="off"
                    aria-describedby=[described.as_deref()] value=(value);
            };
            html! {
                div class=(group_class) {
                    label class="govuk-label govuk-label--s" for=(id) { (field.label) (optional) }
                    (hint) (error_message)
                    @if matches!(field.input, Input::Money) {
                        div class="govuk-input__wrapper" {
                            div class="govuk-input__prefix" aria-hidden="true" { "£" }
                            (input)
                        }
                    } @else {
                        (input)
                    }
                }
            }
        }
        Input::Text | Input::Labels => html! {
            div class=(group_class) {
                label class="govuk-label govuk-label--s" for=(id) { (field.label) (optional) }
                (hint) (error_message)
                textarea class={ "govuk-textarea" @if error.is_some() { " govuk-textarea--error" } }
                    id=(id) name=(id) rows="4" aria-describedby=[described.as_deref()] { (value) }
            }
        },
        Input::Choice(_) | Input::YesNo => {
            let options: Options = match field.input {
                Input::Choice(choices) => choices
                    .iter()
                    .map(|(value, words)| (value.to_string(), words.to_string()))
                    .collect(),
                _ => vec![("yes".into(), "Yes".into()), ("no".into(), "No".into())],
            };
            radios(
                field,
                &options,
                value,
                &hint,
                &error_message,
                described.as_deref(),
                group_class,
            )
        }
        Input::OneOf(_) => html! {
            div class=(group_class) {
                label class="govuk-label govuk-label--s" for=(id) { (field.label) (optional) }
                (hint) (error_message)
                @if options.is_empty() {
                    p class="govuk-body" id=(id) { "There is nothing to choose from yet." }
                } @else {
                    select class={ "govuk-select" @if error.is_some() { " govuk-select--error" } }
                        id=(id) name=(id) aria-describedby=[described.as_deref()] {
                        option value="" { "Choose one" }
                        @for (option, words) in options {
                            option value=(option) selected[option == value] { (words) }
                        }
                    }
                }
            }
        },
        Input::AnyOf(_) => {
            let ticked = submitted.all(id);
            html! {
                div class=(group_class) {
                    fieldset class="govuk-fieldset" aria-describedby=[described.as_deref()] {
                        legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (field.label) (optional) }
                        (hint) (error_message)
                        @if options.is_empty() {
                            p class="govuk-body" id=(id) { "There is nobody and nothing to choose yet." }
                        } @else {
                            div class="govuk-checkboxes govuk-checkboxes--small" {
                                @for (i, (option, words)) in options.iter().enumerate() {
                                    @let input_id = option_id(id, i);
                                    div class="govuk-checkboxes__item" {
                                        input class="govuk-checkboxes__input" id=(input_id) name=(id)
                                            type="checkbox" value=(option) checked[ticked.contains(&option.as_str())];
                                        label class="govuk-label govuk-checkboxes__label" for=(input_id) { (words) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Input::Votes => html! {
            div class=(group_class) {
                fieldset class="govuk-fieldset" aria-describedby=[described.as_deref()] {
                    legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (field.label) (optional) }
                    (hint) (error_message)
                    @if options.is_empty() {
                        p class="govuk-body" id=(id) { "Nobody has joined yet." }
                    }
                    @for (i, (person, words)) in options.iter().enumerate() {
                        @let name = format!("{VOTE_PREFIX}{person}");
                        @let chosen = submitted.one(&name);
                        fieldset class="govuk-fieldset app-vote" {
                            legend class="govuk-fieldset__legend" { (words) }
                            div class="govuk-radios govuk-radios--small govuk-radios--inline" {
                                @for (j, (way, way_words)) in VOTE_WAYS.iter().enumerate() {
                                    @let input_id = if i == 0 && j == 0 { id.to_string() } else { format!("{name}-{j}") };
                                    div class="govuk-radios__item" {
                                        input class="govuk-radios__input" id=(input_id) name=(name) type="radio"
                                            value=(way) checked[chosen == *way || (chosen.is_empty() && way.is_empty())];
                                        label class="govuk-label govuk-radios__label" for=(input_id) { (way_words) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    }
}

/// How one person voted, with its words; "" is not voting.
const VOTE_WAYS: [(&str, &str); 4] = [
    ("for", "For"),
    ("against", "Against"),
    ("abstain", "Abstained"),
    ("", "Did not vote"),
];

/// The id of the `i`th input of a group: the first carries the field's own id, so that the
/// error summary's link lands on it.
fn option_id(id: &str, i: usize) -> String {
    if i == 0 {
        id.to_string()
    } else {
        format!("{id}-{i}")
    }
}

fn radios(
    field: &Field,
    options: &Options,
    value: &str,
    hint: &Markup,
    error_message: &Markup,
    described: Option<&str>,
    group_class: &str,
) -> Markup {
    let id = field.name;
    let optional = if field.required { "" } else { " (optional)" };
    html! {
        div class=(group_class) {
            fieldset class="govuk-fieldset" aria-describedby=[described] {
                legend class="govuk-fieldset__legend govuk-fieldset__legend--s" { (field.label) (optional) }
                (hint) (error_message)
                div class="govuk-radios govuk-radios--small" {
                    @for (i, (option, words)) in options.iter().enumerate() {
                        @let input_id = option_id(id, i);
                        div class="govuk-radios__item" {
                            input class="govuk-radios__input" id=(input_id) name=(id) type="radio"
                                value=(option) checked[option == value];
                            label class="govuk-label govuk-radios__label" for=(input_id) { (words) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_of_money_read_as_pence() {
        assert_eq!(pence("30"), Some(3000));
        assert_eq!(pence("£12.5"), Some(1250));
        assert_eq!(pence("£1,030.05"), Some(103_005));
        assert_eq!(pence("12.345"), None);
        assert_eq!(pence("-5"), None);
        assert_eq!(pence("ten"), None);
        assert_eq!(pence(""), None);
    }

    const FIELDS: &[Field] = &[
        Field {
            name: "title",
            label: "Title",
            hint: None,
            input: Input::Line,
            required: true,
            ask: "Enter the title",
        },
        Field {
            name: "attendees",
            label: "Who attended",
            hint: None,
            input: Input::AnyOf(Choices::People),
            required: true,
            ask: "Choose who attended",
        },
        Field {
            name: "duration_minutes",
            label: "How long it took, in minutes",
            hint: None,
            input: Input::Number,
            required: false,
            ask: "",
        },
        Field {
            name: "groups",
            label: "Groups",
            hint: None,
            input: Input::Labels,
            required: false,
            ask: "",
        },
    ];

    #[test]
    fn fields_become_the_apis_body() {
        let submitted = Submitted::read(
            b"title=+Walk+&attendees=p1&attendees=p2&duration_minutes=90&groups=carers%0D%0Aage_band%3A+65%2B",
        );
        let body = body_of(Some("activity_held"), FIELDS, &submitted).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type": "activity_held", "title": "Walk", "attendees": ["p1", "p2"],
                "duration_minutes": 90, "groups": ["carers", "age_band: 65+"]})
        );
    }

    #[test]
    fn empty_required_fields_and_unreadable_numbers_are_named() {
        let submitted = Submitted::read(b"title=&duration_minutes=an+hour");
        let errors = body_of(None, FIELDS, &submitted).unwrap_err();
        assert_eq!(
            errors,
            vec![
                ("title", "Enter the title".to_string()),
                (
                    "duration_minutes",
                    "How long it took, in minutes must be a whole number, like 3".to_string()
                ),
            ]
        );
        // A required list left empty is sent empty: the API says whether that will do.
        let body = body_of(None, &FIELDS[1..2], &Submitted::default()).unwrap();
        assert_eq!(body, serde_json::json!({"attendees": []}));
    }

    #[test]
    fn votes_are_read_from_each_persons_buttons() {
        let field = Field {
            name: "votes",
            label: "How people voted",
            hint: None,
            input: Input::Votes,
            required: false,
            ask: "",
        };
        let submitted = Submitted::read(b"vote-p1=for&vote-p2=against&vote-p3=&vote-p4=abstain");
        let body = body_of(None, &[field], &submitted).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"votes": {"for": ["p1"], "against": ["p2"], "abstain": ["p4"]}})
        );
        let nobody = body_of(None, &[field], &Submitted::read(b"vote-p1=")).unwrap();
        assert_eq!(nobody, serde_json::json!({}));
    }

    #[test]
    fn refusals_are_put_beside_their_fields() {
        let error = ApiError::unprocessable("validation_failed", "The request breaks the rules.")
            .at("/attendees/1", "'p2' is listed more than once")
            .at("/title", "must be 1 to 200 characters long")
            .at("/title", "is required");
        let errors = refusal_errors(&error, FIELDS, "title");
        assert_eq!(
            errors,
            vec![
                (
                    "attendees",
                    "Who attended: 'p2' is listed more than once".to_string()
                ),
                (
                    "title",
                    "Title must be 1 to 200 characters long".to_string()
                ),
                ("title", "Enter the title".to_string()),
            ]
        );
        let closed = ApiError::unprocessable("project_closed", "The project is closed.");
        assert_eq!(
            refusal_errors(&closed, FIELDS, "title"),
            vec![("title", "The project is closed.".to_string())]
        );
    }
}
