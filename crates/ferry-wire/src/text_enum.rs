//! Enumerations whose wire names are also what the store persists: [`text_enum!`] gives one
//! `as_str`, `ALL`, `Display` and `FromStr` (failing with [`UnknownVariant`]), so a status or
//! a type crosses the store boundary typed and is spelled in one place.
//!
//! Where this sits among the layers: `docs/ARCHITECTURE.md` ("Where each rule lives").

use std::fmt;

/// A text that names no variant of an enumeration (read back from storage or a query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enumeration, e.g. `MigrationStatus`.
    pub enumeration: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' is not a {}", self.value, self.enumeration)
    }
}

impl std::error::Error for UnknownVariant {}

/// `as_str`, `ALL`, `Display` and `FromStr` for an enumeration whose serde names are the
/// texts given here (each use has a test that the two agree).
macro_rules! text_enum {
    ($ty:ident, $n:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in the spec's order.
            pub const ALL: [$ty; $n] = [$($ty::$variant),+];

            /// The wire (and storage) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::text_enum::UnknownVariant;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    _ => Err($crate::text_enum::UnknownVariant {
                        enumeration: stringify!($ty),
                        value: text.to_owned(),
                    }),
                }
            }
        }
    };
}

pub(crate) use text_enum;

/// Checks that every variant's text is its serde name and parses back, and that an unknown
/// text is refused.
#[cfg(test)]
pub(crate) fn check_round_trip<T>(all: &[T])
where
    T: Copy
        + fmt::Debug
        + PartialEq
        + serde::Serialize
        + std::str::FromStr<Err = UnknownVariant>
        + fmt::Display,
{
    for &x in all {
        let text = x.to_string();
        assert_eq!(serde_json::json!(x), serde_json::json!(text));
        assert_eq!(text.parse::<T>().unwrap(), x);
    }
    assert!("nope".parse::<T>().is_err());
}
