//! [`Invalid`]: the caller's own mistake, found before anything was sent.
//!
//! One type for a bad configuration (a base URL, a key, a timeout) and a bad argument (an order
//! id, an amount): a list of `field → message` problems. Every provider crate's
//! `Error::Invalid` carries it, and [`crate::HttpClientBuilder::build`] returns it.
//!
//! A message names what is wrong and what is expected; it never quotes a secret (a builder that
//! checks a key says "must be 32 bytes", not the key).
//!
//! ```
//! use payments_core::Invalid;
//!
//! let e = Invalid::new("order_id", "must not be empty").with("amount", "must be positive");
//! assert_eq!(e.to_string(), "invalid order_id: must not be empty; invalid amount: must be positive");
//! assert!(e.is_about("amount"));
//! assert_eq!(e.problems().count(), 2);
//! ```

use std::borrow::Cow;
use std::fmt;

/// One problem: the field (or setting) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Problem {
    /// The field or setting, as the caller knows it (`order_id`, `base_url`, `timeouts.total`).
    pub field: Cow<'static, str>,
    /// What is wrong, in words, without the value when it could be a secret.
    pub message: Cow<'static, str>,
}

/// The caller's own mistake: one or more `field → message` problems. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Invalid {
    // Never empty: built from a first problem.
    problems: Vec<Problem>,
}

impl Invalid {
    /// One problem.
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Invalid {
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// Adds a problem.
    pub fn with(
        mut self,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.push(field, message);
        self
    }

    /// Adds a problem in place.
    pub fn push(
        &mut self,
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Adds every problem of `other`.
    pub fn merge(mut self, other: Invalid) -> Self {
        self.problems.extend(other.problems);
        self
    }

    /// Joins the problems of two results: `Ok` only when neither has any.
    pub fn collect(results: impl IntoIterator<Item = Result<(), Invalid>>) -> Result<(), Invalid> {
        results
            .into_iter()
            .filter_map(Result::err)
            .reduce(Invalid::merge)
            .map_or(Ok(()), Err)
    }

    /// The problems, in the order they were found (never empty).
    pub fn problems(&self) -> impl ExactSizeIterator<Item = &Problem> {
        self.problems.iter()
    }

    /// Whether one of the problems is about `field`.
    pub fn is_about(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.field == field)
    }

    /// A configuration error of core ([`crate::ErrorKind::Config`]) as a problem of `field`.
    pub fn from_config(field: impl Into<Cow<'static, str>>, error: &crate::Error) -> Self {
        let message = match error.kind() {
            crate::ErrorKind::Config(m) => m.clone(),
            _ => error.to_string(),
        };
        Invalid::new(field, message)
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "invalid {}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_keeps_every_problem_in_order() {
        let r = Invalid::collect([
            Ok(()),
            Err(Invalid::new("a", "x")),
            Err(Invalid::new("b", "y").with("c", "z")),
        ]);
        let e = r.unwrap_err();
        let fields: Vec<_> = e.problems().map(|p| p.field.as_ref()).collect();
        assert_eq!(fields, ["a", "b", "c"]);
        assert!(Invalid::collect([Ok(()), Ok(())]).is_ok());
    }

    #[test]
    fn a_core_config_error_keeps_its_words() {
        let e = Invalid::from_config("base_url", &crate::Error::config("no host"));
        assert_eq!(e.to_string(), "invalid base_url: no host");
    }
}
