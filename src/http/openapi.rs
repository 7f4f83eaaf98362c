//! The OpenAPI 3.1 document, generated from the handlers and types.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    assessments, checkpoints, events, imports, participants, portfolio, projects, service, tokens,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Coprod", description = "Audit trail and six-point co-production assessments for adult social care projects. See docs/api.md."),
    paths(
        projects::register, projects::list, projects::summary,
        events::post, events::trail_page, events::verify,
        imports::import, imports::template,
        assessments::get, assessments::seal, assessments::seals, assessments::verify_seal, assessments::rubrics, assessments::rubric_definition,
        portfolio::portfolio, portfolio::trend, portfolio::comparison,
        participants::erase, participants::subject_access, participants::invite,
        checkpoints::list, checkpoints::latest, checkpoints::one, checkpoints::head_proof, checkpoints::consistency,
        tokens::list, tokens::create, tokens::one, tokens::revoke,
        service::healthz, service::readyz, service::metrics,
    ),
    components(schemas(
        coprod_domain::Fact, coprod_domain::ProjectEvent, coprod_domain::Stage,
        coprod_domain::assessment::Assessment,
    )),
    modifiers(&BearerAuth, &ReadConsistency),
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

/// What every read takes to ask for at least a receipt's sequence (see `crate::read_routing`,
/// which reads them before any handler): `Coprod-Min-Sequence` on every read the replica may
/// answer, and `min_sequence` on those of one project.
struct ReadConsistency;

impl Modify for ReadConsistency {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::Required;
        let header = ParameterBuilder::new()
            .name("Coprod-Min-Sequence")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "PROJECT_ID:SEQUENCE pairs, separated by commas (at most 100), as receipts give \
                 them: the answer is from a database holding at least each of these entries (the \
                 primary when the read replica has not replayed one yet), never older.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build();
        let query = ParameterBuilder::new()
            .name(crate::read_routing::MIN_SEQUENCE_PARAM)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(
                "The receipt's last_sequence: the answer is from a database holding at least \
                 this entry of the project (the primary when the read replica has not replayed \
                 it yet), never older.",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            ))
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(get) = item.get.as_mut() else {
                continue;
            };
            if !crate::read_routing::may_read_replica(&axum::http::Method::GET, path) {
                continue;
            }
            let parameters = get.parameters.get_or_insert_with(Vec::new);
            if path.starts_with("/api/v1/projects/{id}") {
                parameters.push(query.clone());
            }
            parameters.push(header.clone());
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
