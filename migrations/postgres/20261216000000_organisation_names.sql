-- How people know each organisation ("Oxfordshire County Council"), as a registration names it:
-- the pages show it beside the organisation's slug. A cache like the rest of portfolio_projects,
-- rebuilt with it; registrations recorded before the field existed name no organisation.
ALTER TABLE portfolio_projects ADD COLUMN organisation_name text;
