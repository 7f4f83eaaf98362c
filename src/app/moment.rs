//! Moments in questions. A date given where an instant is asked for means the end of that day
//! (UTC); a moment later than now is refused, since what was recorded by then could still change.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::AppError;

/// The last microsecond of `day` (UTC): what a date means as an "as of".
pub fn end_of_day(day: NaiveDate) -> DateTime<Utc> {
    let last = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(NaiveTime::MIN);
    day.and_time(last).and_utc()
}

/// The first instant of `day` (UTC).
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// `text` as an RFC 3339 instant, or a date meaning the end of that day (UTC).
pub fn parse_as_of(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Some(instant.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(end_of_day)
}

/// A query parameter `name` that means a moment "as of" which something is asked: an RFC 3339
/// instant, or a date meaning the end of that day (UTC); later than `now` is refused, since its
/// answer could still change.
pub fn past_instant(name: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, AppError> {
    let instant = parse_as_of(text).ok_or_else(|| {
        AppError::malformed(
            "validation_failed",
            format!(
                "{name} must be an instant like 2025-03-01T09:30:00Z or a date like 2025-03-01."
            ),
        )
        .at(name, "does not parse")
    })?;
    if instant > now {
        return Err(AppError::unanswerable(
            "validation_failed",
            format!("{name} is in the future; an assessment can only be given as of a moment that has passed."),
        )
        .at(name, "in the future"));
    }
    Ok(instant)
}

/// A query parameter `name` that names a day by which things had happened: a date
/// (`YYYY-MM-DD`) not after `today`, since what happens later could still change the answer.
pub fn past_day(name: &str, text: &str, today: NaiveDate) -> Result<NaiveDate, AppError> {
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        AppError::malformed(
            "validation_failed",
            format!("{name} must be a date like 2025-03-01 (write dates as YYYY-MM-DD)."),
        )
        .at(name, "does not parse")
    })?;
    if day > today {
        return Err(AppError::unanswerable(
            "validation_failed",
            format!("{name} is in the future; an assessment can only say what had happened by a day that has passed."),
        )
        .at(name, "in the future"));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_as_of_means_the_last_microsecond_of_that_day() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        assert_eq!(
            parse_as_of("2025-03-01"),
            Some(
                day.and_hms_micro_opt(23, 59, 59, 999_999)
                    .unwrap()
                    .and_utc()
            )
        );
        assert_eq!(
            parse_as_of("2025-03-01T09:30:00+01:00"),
            Some(day.and_hms_opt(8, 30, 0).unwrap().and_utc())
        );
        assert_eq!(parse_as_of("1 March"), None);
    }
}
