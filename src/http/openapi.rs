//! The OpenAPI 3.1 document, generated from the handlers and types.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{assessments, checkpoints, events, participants, portfolio, projects, service};

#[derive(OpenApi)]
#[openapi(
    info(title = "Coprod", description = "Audit trail and six-point co-production assessments for adult social care projects. See docs/api.md."),
    paths(
        projects::register, projects::list, projects::summary,
        events::post, events::trail_page, events::verify,
        assessments::get, assessments::seal, assessments::seals, assessments::verify_seal, assessments::rubrics, assessments::rubric_definition,
        portfolio::portfolio, portfolio::trend, portfolio::comparison,
        participants::erase, participants::subject_access, participants::invite,
        checkpoints::list, checkpoints::latest, checkpoints::one, checkpoints::head_proof, checkpoints::consistency,
        service::healthz, service::readyz, service::metrics,
    ),
    components(schemas(
        coprod_domain::Fact, coprod_domain::ProjectEvent, coprod_domain::Stage,
        coprod_domain::assessment::Assessment,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
