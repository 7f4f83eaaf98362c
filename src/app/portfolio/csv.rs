//! The portfolio's tables as CSV, one figure a row, each row led by where and when it was
//! taken (organisation, service area, period, as of).

use super::figures::Figures;
use super::{Comparison, Portfolio, Trend};
use crate::app::answer::csv_bytes;
use crate::app::AppError;

/// The CSV columns of every portfolio table: one figure a row.
pub const CSV_HEADER: [&str; 12] = [
    "organisation",
    "service_area",
    "period",
    "as_of",
    "figure",
    "criterion",
    "key",
    "status",
    "rating",
    "count",
    "per_cent",
    "of_projects",
];

/// The rows of `figures`, each led by (organisation, service area, period, as_of).
pub fn figure_rows(lead: [&str; 4], figures: &Figures) -> Vec<Vec<String>> {
    let total = figures.projects.total.to_string();
    let row = |figure: &str,
               criterion: &str,
               key: &str,
               status: &str,
               rating: &str,
               count: u64,
               per_cent: Option<u64>| {
        let mut row: Vec<String> = lead.iter().map(|s| s.to_string()).collect();
        row.extend(
            [figure, criterion, key, status, rating]
                .iter()
                .map(|s| s.to_string()),
        );
        row.push(count.to_string());
        row.push(per_cent.map(|p| p.to_string()).unwrap_or_default());
        row.push(total.clone());
        row
    };
    let p = &figures.projects;
    let mut rows = vec![
        row("projects", "", "total", "", "", p.total, None),
        row("projects", "", "open", "open", "", p.open, None),
        row("projects", "", "closed", "closed", "", p.closed, None),
    ];
    for stage in &p.by_stage {
        rows.push(row("stage", "", &stage.stage, "open", "", stage.open, None));
        rows.push(row(
            "stage",
            "",
            &stage.stage,
            "closed",
            "",
            stage.closed,
            None,
        ));
    }
    for c in &figures.criteria {
        // Version 2's figures (absent under version 1) follow version 1's.
        let ratings = [
            ("met", Some(c.met)),
            ("partly_met", Some(c.partly_met)),
            ("not_met", Some(c.not_met)),
            ("insufficient_evidence", c.insufficient_evidence),
        ];
        for (rating, share) in ratings {
            if let Some(share) = share {
                rows.push(row(
                    "criterion",
                    &c.key,
                    "",
                    "",
                    rating,
                    share.count,
                    share.per_cent,
                ));
            }
        }
        for i in &c.indicators {
            let states = [
                ("met", Some(i.met)),
                ("not_met", i.not_met),
                ("not_applicable", i.not_applicable),
                ("not_recorded", i.not_recorded),
                ("not_shown", i.not_shown),
            ];
            for (state, share) in states {
                if let Some(share) = share {
                    rows.push(row(
                        "indicator",
                        &c.key,
                        &i.key,
                        "",
                        state,
                        share.count,
                        share.per_cent,
                    ));
                }
            }
        }
    }
    let a = &figures.attention;
    for (key, share) in [
        ("involvement_started_late", a.involvement_started_late),
        ("rewards_missing", a.rewards_missing),
    ] {
        rows.push(row(
            "attention",
            "",
            key,
            "",
            "",
            share.count,
            share.per_cent,
        ));
    }
    rows
}

impl Portfolio {
    pub fn csv(&self) -> Result<Vec<u8>, AppError> {
        let as_of = self.as_of.clone().unwrap_or_default();
        let service_area = self.service_area.clone().unwrap_or_default();
        let rows = figure_rows(
            [&self.organisation, &service_area, "", &as_of],
            &self.figures,
        );
        csv_bytes(&CSV_HEADER, &rows)
    }
}

impl Trend {
    pub fn csv(&self) -> Result<Vec<u8>, AppError> {
        let service_area = self.service_area.clone().unwrap_or_default();
        let mut rows = Vec::new();
        for period in &self.periods {
            let as_of = period.as_of.clone().unwrap_or_default();
            rows.extend(figure_rows(
                [&self.organisation, &service_area, &period.period, &as_of],
                &period.figures,
            ));
        }
        csv_bytes(&CSV_HEADER, &rows)
    }
}

impl Comparison {
    pub fn csv(&self) -> Result<Vec<u8>, AppError> {
        let service_area = self.service_area.clone().unwrap_or_default();
        let as_of = self.as_of.clone().unwrap_or_default();
        let mut rows = Vec::new();
        for organisation in &self.organisations {
            let lead = [
                organisation.organisation.as_str(),
                &service_area,
                "",
                &as_of,
            ];
            match &organisation.figures {
                Some(figures) => rows.extend(figure_rows(lead, figures)),
                None => {
                    let mut row: Vec<String> = lead.iter().map(|s| s.to_string()).collect();
                    row.extend(
                        ["too_few_to_compare", "", "total", "", ""]
                            .iter()
                            .map(|s| s.to_string()),
                    );
                    row.push(organisation.projects.to_string());
                    row.push(String::new());
                    row.push(organisation.projects.to_string());
                    rows.push(row);
                }
            }
        }
        csv_bytes(&CSV_HEADER, &rows)
    }
}
