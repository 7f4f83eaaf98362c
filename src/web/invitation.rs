//! The page a participant's one-time link opens (`/your-say/<secret>`): no account, a few
//! questions in plain English, one answer. The secret in the address is what lets them in; the
//! form also carries a value derived from it (so that only a page this server made posts it) and
//! a POST from another site is refused by its `Origin`, as for every form of the pages.
//!
//! A link that does not exist (404), was used already or has expired (410) gets a plain page
//! saying so and whom to ask, and nothing is recorded.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use coprod_domain::recorded::to_stored_precision;
use coprod_domain::{
    AccessibleFormat, Agreement, CommandContext, LadderRung, ParticipantAnswered, ParticipantView,
    ProjectCommand, ProjectEvent,
};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{error_summary, field_error, html_response, log_fault, page, PageError};
use super::session::{same_origin, same_secret};
use crate::app::{AppError, AppState};
use crate::store::{hmac_sha256, ExecuteError, InvitationState};

/// Where invitations' links lead: the secret follows.
pub const INVITATION_PATH: &str = "/your-say/";

/// What every answer through an invitation is recorded by.
pub const RECORDED_BY: &str = "participant via invitation";

/// The longest comment, as the domain allows any long text.
const MAX_COMMENT_CHARS: usize = coprod_domain::validate::MAX_LONG_TEXT_CHARS;

/// The three statements, by form field: the words people see.
const STATEMENTS: [(&str, &str); 3] = [
    ("listened_to", "I was listened to"),
    ("could_influence", "I could influence decisions"),
    ("paid_or_thanked_fairly", "I was paid or thanked fairly"),
];

/// The form's value for `secret`: only a server holding this database's master key makes it.
fn form_value(state: &AppState, secret: &str) -> String {
    let key = state
        .store
        .derived_secret("invitation form")
        .unwrap_or_else(|| {
            // Never `coprod serve` (which always has the master key): a key of this process.
            static PROCESS_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
            *PROCESS_KEY.get_or_init(|| {
                let mut key = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                key
            })
        });
    hex::encode(hmac_sha256(
        &key,
        &[b"coprod invitation form v1\0", secret.as_bytes()],
    ))
}

/// A rung in the words people taking part would use, highest first on the page.
fn rung_words(rung: LadderRung) -> (&'static str, &'static str) {
    match rung {
        LadderRung::CoProduction => (
            "Doing it together",
            "We shared the power from start to finish: we planned it, made the big decisions and ran it together with staff.",
        ),
        LadderRung::CoDesign => (
            "Designing it together",
            "We helped make some of the big decisions about how it would work, but not about everything.",
        ),
        LadderRung::Engagement => (
            "Talking it through",
            "We talked things through with staff, but staff made the big decisions.",
        ),
        LadderRung::Consultation => (
            "Being asked",
            "We were asked what we thought, for example in a survey or an interview, but other people decided.",
        ),
        LadderRung::Informing => ("Being told", "We were told what was happening."),
        LadderRung::Educating => ("Being taught", "We were taught about services."),
        LadderRung::Coercion => (
            "Being made to take part",
            "We had to take part and had no say.",
        ),
    }
}

/// What the form sent, as text: every field may be missing or wrong.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf: String,
    placement: Option<String>,
    listened_to: Option<String>,
    could_influence: Option<String>,
    paid_or_thanked_fairly: Option<String>,
    accessible_format: Option<String>,
    #[serde(default)]
    comment: String,
}

impl AnswerForm {
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "placement" => self.placement.as_deref(),
            "listened_to" => self.listened_to.as_deref(),
            "could_influence" => self.could_influence.as_deref(),
            "paid_or_thanked_fairly" => self.paid_or_thanked_fairly.as_deref(),
            "accessible_format" => self.accessible_format.as_deref(),
            _ => None,
        }
    }

    /// The answer, or each field in error (field id, message) in the order of the page.
    fn read(&self) -> Result<ParticipantView, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let placement = LadderRung::ALL
            .into_iter()
            .find(|r| self.placement.as_deref() == Some(r.as_str()));
        if placement.is_none() {
            errors.push((
                "placement",
                "Choose where you would place the project".to_string(),
            ));
        }
        let mut agreements = Vec::new();
        for (field, statement) in STATEMENTS {
            let answer = Agreement::ALL
                .into_iter()
                .find(|a| self.field(field) == Some(a.as_str()));
            if answer.is_none() {
                errors.push((
                    field,
                    format!("Choose how far you agree with \u{201c}{statement}\u{201d}"),
                ));
            }
            agreements.push(answer);
        }
        let accessible_format = match self.accessible_format.as_deref() {
            Some("no") => Some(None),
            chosen => AccessibleFormat::ALL
                .into_iter()
                .find(|f| chosen == Some(f.as_str()))
                .map(Some),
        };
        if accessible_format.is_none() {
            errors.push((
                "accessible_format",
                "Choose whether you need another format".to_string(),
            ));
        }
        let comment = self.comment.trim();
        if comment.chars().count() > MAX_COMMENT_CHARS {
            errors.push((
                "comment",
                format!("Your comments must be {MAX_COMMENT_CHARS} characters or fewer"),
            ));
        } else if coprod_domain::validate::text_problem(comment, true).is_some() {
            errors.push((
                "comment",
                "Your comments contain characters that cannot be kept. Remove any special or invisible characters"
                    .to_string(),
            ));
        }
        match (placement, agreements.as_slice(), accessible_format) {
            (
                Some(placement),
                [Some(listened_to), Some(could_influence), Some(paid)],
                Some(format),
            ) if errors.is_empty() => Ok(ParticipantView {
                placement,
                listened_to: *listened_to,
                could_influence: *could_influence,
                paid_or_thanked_fairly: *paid,
                comment: (!comment.is_empty()).then(|| comment.to_string()),
                accessible_format: format,
            }),
            _ => Err(errors),
        }
    }
}

/// `GET /your-say/{secret}`: the questions, or why the link does not work.
pub async fn page_for(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    match state.store.invitation(&secret).await {
        Ok(InvitationState::Open(invitation)) => match project_title(&state, &invitation).await {
            Ok(Some(title)) => form_page(
                &state,
                &secret,
                &title,
                &AnswerForm::default(),
                &[],
                StatusCode::OK,
            ),
            Ok(None) => no_longer_usable(),
            Err(error) => fault(error),
        },
        Ok(other) => not_usable(&other),
        Err(error) => fault(error.into()),
    }
}

/// `POST /your-say/{secret}`: records the answer once, and thanks them.
pub async fn answer(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_origin(&headers) {
        return PageError::new(
            StatusCode::FORBIDDEN,
            "This form came from another website",
            html! {
                p class="govuk-body" {
                    "Your answers can only be sent from this website's own page. Nothing was recorded."
                }
                p class="govuk-body" { "Open the link you were given again to answer." }
            },
        )
        .into_response();
    }
    let invitation = match state.store.invitation(&secret).await {
        Ok(InvitationState::Open(invitation)) => invitation,
        Ok(other) => return not_usable(&other),
        Err(error) => return fault(error.into()),
    };
    let form: AnswerForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let title = match project_title(&state, &invitation).await {
        Ok(Some(title)) => title,
        Ok(None) => return no_longer_usable(),
        Err(error) => return fault(error),
    };
    if !same_secret(&form.csrf, &form_value(&state, &secret)) {
        let errors = [(
            "placement",
            "The page was out of date. Check your answers and send them again".to_string(),
        )];
        return form_page(
            &state,
            &secret,
            &title,
            &form,
            &errors,
            StatusCode::BAD_REQUEST,
        );
    }
    let view = match form.read() {
        Ok(view) => view,
        Err(errors) => {
            return form_page(
                &state,
                &secret,
                &title,
                &form,
                &errors,
                StatusCode::BAD_REQUEST,
            )
        }
    };
    // Claimed before recording, so that two answers sent at once cannot both be recorded.
    let invitation = match state.store.claim_invitation(&secret).await {
        Ok(InvitationState::Open(invitation)) => invitation,
        Ok(other) => return not_usable(&other),
        Err(error) => return fault(error.into()),
    };
    let context = CommandContext {
        recorded_by: RECORDED_BY.to_string(),
        recorded_at: to_stored_precision(state.now()),
    };
    let command = ProjectCommand::Answer {
        answer: ParticipantAnswered {
            participant_id: invitation.participant_id.clone(),
            answer: view.into(),
            occurred_on: context.today(),
        },
        context,
    };
    match state.store.execute(invitation.project_id, command).await {
        Ok(receipt) => {
            if let Err(error) = state
                .store
                .invitation_answered(&secret, receipt.last_sequence)
                .await
            {
                // The answer is recorded and the link is used: only the note of which entry is
                // missing.
                log_fault(&error.into());
            }
            thanks(&title)
        }
        Err(refused) => {
            if let Err(error) = state.store.release_invitation(&secret).await {
                log_fault(&error.into());
            }
            match refused {
                ExecuteError::Domain(_) => no_longer_usable(),
                other => fault(AppError::internal("recording an answer", other)),
            }
        }
    }
}

/// The project's title, if the participant may still answer (they joined and their data is not
/// erased); `None` if they may not.
async fn project_title(
    state: &AppState,
    invitation: &crate::store::Invitation,
) -> Result<Option<String>, AppError> {
    let events = state.store.recorded_events(invitation.project_id).await?;
    let title = events
        .iter()
        .find_map(|e| match &e.event {
            ProjectEvent::ProjectRegistered(r) => Some(r.title.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut project = coprod_domain::Project::default();
    for entry in events {
        cqrs_es::Aggregate::apply(&mut project, entry.event);
    }
    Ok(project
        .may_answer(&invitation.participant_id)
        .is_ok()
        .then_some(title))
}

fn radios(
    name: &str,
    legend: Markup,
    hint: Option<&str>,
    options: &[(&str, &str, Option<&str>)],
    chosen: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let hint_id = format!("{name}-hint");
    let error_id = format!("{name}-error");
    let described = match (hint.is_some(), error.is_some()) {
        (true, true) => Some(format!("{hint_id} {error_id}")),
        (true, false) => Some(hint_id.clone()),
        (false, true) => Some(error_id.clone()),
        (false, false) => None,
    };
    html! {
        div class={ "govuk-form-group" @if error.is_some() { " govuk-form-group--error" } } {
            fieldset class="govuk-fieldset" aria-describedby=[described] {
                legend class="govuk-fieldset__legend govuk-fieldset__legend--m" { (legend) }
                @if let Some(hint) = hint {
                    div class="govuk-hint" id=(hint_id) { (hint) }
                }
                (field_error(name, error))
                div class="govuk-radios" {
                    @for (i, (value, label, item_hint)) in options.iter().enumerate() {
                        @let id = if i == 0 { name.to_string() } else { format!("{name}-{}", i + 1) };
                        @let item_hint_id = format!("{id}-item-hint");
                        div class="govuk-radios__item" {
                            input class="govuk-radios__input" id=(id) name=(name) type="radio"
                                value=(value) checked[chosen == Some(*value)]
                                aria-describedby=[item_hint.map(|_| item_hint_id.clone())];
                            label class="govuk-label govuk-radios__label" for=(id) { (label) }
                            @if let Some(item_hint) = item_hint {
                                div class="govuk-hint govuk-radios__hint" id=(item_hint_id) { (item_hint) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn form_page(
    state: &AppState,
    secret: &str,
    title: &str,
    form: &AnswerForm,
    errors: &[(&str, String)],
    status: StatusCode,
) -> Response {
    let error_for = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, message)| message.as_str())
    };
    let rungs: Vec<(&str, &str, Option<&str>)> = LadderRung::ALL
        .into_iter()
        .rev()
        .map(|r| {
            let (label, hint) = rung_words(r);
            (r.as_str(), label, Some(hint))
        })
        .collect();
    let agreements: Vec<(&str, &str, Option<&str>)> = Agreement::ALL
        .into_iter()
        .map(|a| (a.as_str(), super::words::agreement(a), None))
        .collect();
    let mut formats: Vec<(&str, &str, Option<&str>)> = vec![("no", "No", None)];
    formats.extend(AccessibleFormat::ALL.into_iter().map(|f| {
        let hint =
            (f == AccessibleFormat::Other).then_some("You can tell us which in your comments.");
        (f.as_str(), super::words::accessible_format(f), hint)
    }));
    let comment_error = error_for("comment");
    let page_title = if errors.is_empty() {
        "Tell us what you think"
    } else {
        "Error: Tell us what you think"
    };
    let action = format!("{INVITATION_PATH}{secret}");
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                (error_summary(errors))
                span class="govuk-caption-l" { (title) }
                h1 class="govuk-heading-l" { "Tell us what you think" }
                p class="govuk-body" {
                    "You took part in this project. We want to know what it was like for you. "
                    "It takes about 5 minutes."
                }
                p class="govuk-body" {
                    "Staff will only see how many people gave each answer, never who said what. "
                    "Nobody sees any answers until at least 5 people have answered."
                }
                p class="govuk-body" { "You can use this page once." }
                form method="post" action=(action) novalidate {
                    input type="hidden" name="csrf" value=(form_value(state, secret));
                    (radios(
                        "placement",
                        html! { "How much say did people like you have in this project?" },
                        Some("Choose the one that is closest to what happened."),
                        &rungs,
                        form.placement.as_deref(),
                        error_for("placement"),
                    ))
                    @for (field, statement) in STATEMENTS {
                        (radios(
                            field,
                            html! { "\u{201c}" (statement) "\u{201d}" },
                            Some("How far do you agree?"),
                            &agreements,
                            form.field(field),
                            error_for(field),
                        ))
                    }
                    div class={ "govuk-form-group" @if comment_error.is_some() { " govuk-form-group--error" } } {
                        h2 class="govuk-label-wrapper" {
                            label class="govuk-label govuk-label--m" for="comment" { "Is there anything else you want to tell us? (optional)" }
                        }
                        div class="govuk-hint" id="comment-hint" {
                            "Please do not include your name or anything that would show who you are."
                        }
                        (field_error("comment", comment_error))
                        textarea class={ "govuk-textarea" @if comment_error.is_some() { " govuk-textarea--error" } }
                            id="comment" name="comment" rows="5"
                            aria-describedby={ "comment-hint" @if comment_error.is_some() { " comment-error" } } {
                            (form.comment)
                        }
                    }
                    (radios(
                        "accessible_format",
                        html! { "Do you need information about this project in another format?" },
                        None,
                        &formats,
                        form.accessible_format.as_deref(),
                        error_for("accessible_format"),
                    ))
                    button type="submit" class="govuk-button" { "Send my answers" }
                }
            }
        }
    };
    html_response(status, page(page_title, None, body))
}

fn thanks(title: &str) -> Response {
    let body = html! {
        div class="govuk-grid-row" {
            div class="govuk-grid-column-two-thirds" {
                div class="govuk-panel govuk-panel--confirmation" {
                    h1 class="govuk-panel__title" { "Thank you" }
                    div class="govuk-panel__body" { "We have your answers" }
                }
                p class="govuk-body" {
                    "What you told us about " strong { (title) } " is now part of the project's record."
                }
                p class="govuk-body" {
                    "Staff will only see how many people gave each answer, never who said what."
                }
                p class="govuk-body" {
                    "If you want to see or remove what you said, ask the person who gave you the link."
                }
                p class="govuk-body" { "You can now close this page." }
            }
        }
    };
    html_response(StatusCode::OK, page("Thank you", None, body))
}

/// Whom to ask, on every page about a link that does not work.
fn whom_to_ask() -> Markup {
    html! {
        p class="govuk-body" {
            "If you still want to tell us what you think, ask the person who gave you the link for a new one."
        }
    }
}

fn not_usable(state: &InvitationState) -> Response {
    let (status, title, why) = match state {
        InvitationState::Used => (
            StatusCode::GONE,
            "This link has already been used",
            "Each link can only be used once, and answers have already been sent with this one. Nothing new was recorded.",
        ),
        InvitationState::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Links only work for a set time, and this one has run out. Nothing was recorded.",
        ),
        InvitationState::Unknown | InvitationState::Open(_) => (
            StatusCode::NOT_FOUND,
            "This link does not work",
            "Check that you typed the whole link, or scanned the whole code. Nothing was recorded.",
        ),
    };
    PageError::new(
        status,
        title,
        html! {
            p class="govuk-body" { (why) }
            (whom_to_ask())
        },
    )
    .into_response()
}

/// The participant can no longer answer (their data was erased, or their joining withdrawn).
fn no_longer_usable() -> Response {
    PageError::new(
        StatusCode::GONE,
        "This link can no longer be used",
        html! {
            p class="govuk-body" { "Your answers could not be recorded for this project. Nothing was recorded." }
            (whom_to_ask())
        },
    )
    .into_response()
}

fn fault(error: AppError) -> Response {
    log_fault(&error);
    PageError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sorry, there is a problem with the service",
        html! {
            p class="govuk-body" { "Nothing was recorded. Try again later with the same link." }
        },
    )
    .into_response()
}
