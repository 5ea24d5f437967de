//! Datetimes as clients send them. Python's `datetime.isoformat()`, which the SDK uses for
//! every datetime in a request, leaves out the offset of a naive datetime
//! (`2025-10-31T10:00:00`); Pydantic reads those as they are, and so does Ferry, taking them
//! as UTC.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, Unexpected};

/// Reads an RFC 3339 datetime, or an ISO 8601 one without offset (taken as UTC).
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc())
}

/// `deserialize_with` for an optional datetime field.
pub fn option_utc<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    parse_datetime(&text)
        .map(Some)
        .ok_or_else(|| de::Error::invalid_value(Unexpected::Str(&text), &"an ISO 8601 datetime"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_and_offset_forms() {
        let utc = parse_datetime("2025-10-31T10:00:00Z").unwrap();
        assert_eq!(parse_datetime("2025-10-31T10:00:00").unwrap(), utc);
        assert_eq!(parse_datetime("2025-10-31T12:00:00+02:00").unwrap(), utc);
        assert_eq!(parse_datetime("2025-10-31 10:00:00.000").unwrap(), utc);
        assert!(parse_datetime("yesterday").is_none());
    }
}
