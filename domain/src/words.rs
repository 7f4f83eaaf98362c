//! The one plural rule of Coprod's words, for the assessment's explanations, the pages and the
//! command line alike: "1 entry", "3 entries", "0 entries", never "entry(s)".
//!
//! Version 1's explanations are frozen as they were published and keep their own wording.

/// The noun for `n` things: `noun(1, "entry", "entries")` is "entry".
pub fn noun<'a>(n: usize, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 {
        singular
    } else {
        plural
    }
}

/// `n` things in figures: "1 entry", "3 entries", "0 entries".
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", noun(n, singular, plural))
}

/// The verb that agrees with `n` things: `agrees(1, "was", "were")` is "was".
pub fn agrees<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    noun(n, one, many)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(2, "person", "people"), "2 people");
        assert_eq!(agrees(1, "was", "were"), "was");
        assert_eq!(agrees(4, "was", "were"), "were");
    }
}
