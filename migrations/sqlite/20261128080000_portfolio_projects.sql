-- One row per registered project, for the portfolio (issue 8): what selects a project
-- (organisation, service area) and when its registration was recorded, so that a portfolio as of
-- a moment reads only the projects registered by then. A cache like project_views: written with
-- it, dropped and rebuilt with it (`coprod rebuild`); the registration never changes.
CREATE TABLE portfolio_projects
(
    project_id    text PRIMARY KEY,
    organisation  text NOT NULL,
    service_area  text NOT NULL,
    registered_at text NOT NULL
) STRICT;

CREATE INDEX portfolio_projects_scope ON portfolio_projects (organisation, service_area, registered_at);

-- Projects registered before this table existed.
INSERT INTO portfolio_projects (project_id, organisation, service_area, registered_at)
SELECT aggregate_id,
       json_extract(payload, '$.organisation'),
       json_extract(payload, '$.service_area'),
       recorded_at
FROM events
WHERE aggregate_type = 'project'
  AND sequence = 1
  AND json_extract(payload, '$.type') = 'project_registered'
  AND json_extract(payload, '$.organisation') IS NOT NULL
  AND json_extract(payload, '$.service_area') IS NOT NULL
  AND recorded_at IS NOT NULL
ON CONFLICT (project_id) DO NOTHING;
