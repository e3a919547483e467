//! `schedule.interval`: an ISO 8601 duration, as Graph writes it (`PT40M`,
//! `P10675199DT2H48M5.4775807S`).
//!
//! Years and months are refused: their length depends on the calendar, and Microsoft's
//! schedule reference got `PT1M` wrong as "one month" for that very reason.

use time::Duration;

/// What a never-started job shows: .NET's `TimeSpan.MaxValue`.
pub const NEVER: &str = "P10675199DT2H48M5.4775807S";
/// The interval a job runs at once started, unless it was set: Entra's cadence. provisio
/// pushes changes as they happen, so the scheduled cycle is the safety net that catches
/// what a push missed, and Entra's 40 minutes keep its load where Entra's would be.
pub const DEFAULT: &str = "PT40M";
/// The shortest interval a job may be given: a cycle every minute at most.
pub const MINIMUM: Duration = Duration::MINUTE;

/// Why an interval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error(
        "'{0}' is not an ISO 8601 duration such as PT40M, PT1H30M or P1D \
         (weeks, days, hours, minutes and seconds; years and months are not accepted)"
    )]
    Malformed(String),
    #[error("the interval '{0}' is shorter than the minimum of PT1M")]
    TooShort(String),
}

/// Reads an ISO 8601 duration of weeks, days, hours, minutes and (fractional) seconds.
pub fn parse(text: &str) -> Result<Duration, IntervalError> {
    let malformed = || IntervalError::Malformed(text.to_string());
    let rest = text.strip_prefix('P').ok_or_else(malformed)?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return Err(malformed()),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(malformed());
    }
    let mut total = Duration::ZERO;
    for (part, units) in [(date, "WD"), (time.unwrap_or(""), "HMS")] {
        let mut number = String::new();
        let mut seen = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || (c == '.' && units == "HMS") {
                number.push(c);
                continue;
            }
            // Units appear at most once, in order.
            let position = units.find(c).ok_or_else(malformed)?;
            if number.is_empty() || seen.chars().any(|s| units.find(s) >= Some(position)) {
                return Err(malformed());
            }
            if number.contains('.') && c != 'S' {
                return Err(malformed());
            }
            let value: f64 = number.parse().map_err(|_| malformed())?;
            let seconds = match c {
                'W' => 7.0 * 86_400.0,
                'D' => 86_400.0,
                'H' => 3_600.0,
                'M' => 60.0,
                _ => 1.0,
            };
            total = total
                .checked_add(Duration::checked_seconds_f64(value * seconds).ok_or_else(malformed)?)
                .ok_or_else(malformed)?;
            seen.push(c);
            number.clear();
        }
        if !number.is_empty() {
            return Err(malformed());
        }
    }
    Ok(total)
}

/// Checks an interval a client sets: a duration of at least [`MINIMUM`].
pub fn validate(text: &str) -> Result<Duration, IntervalError> {
    let duration = parse(text)?;
    if duration < MINIMUM {
        return Err(IntervalError::TooShort(text.to_string()));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_iso_8601() {
        let ok = [
            ("PT40M", Duration::minutes(40)),
            ("PT1M", Duration::MINUTE),
            ("PT1H30M", Duration::minutes(90)),
            ("P1D", Duration::DAY),
            ("P1W", Duration::WEEK),
            ("P1DT12H", Duration::hours(36)),
            ("PT90S", Duration::seconds(90)),
            ("PT1.5S", Duration::milliseconds(1500)),
        ];
        for (text, expected) in ok {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
        let never = parse(NEVER).expect("TimeSpan.MaxValue reads");
        assert!(never > Duration::days(10_675_199), "{never}");
        for text in [
            "", "P", "PT", "40M", "PT40", "P1M", "P1Y", "PT1M1H", "PTM", "P1.5D", "PT1.5M",
            "PT40m", "PT4 0M", "PT1M1M",
        ] {
            assert_eq!(
                parse(text),
                Err(IntervalError::Malformed(text.to_string())),
                "{text}"
            );
        }
    }

    #[test]
    fn intervals_below_a_minute_are_refused() {
        assert_eq!(validate("PT1M"), Ok(Duration::MINUTE));
        assert_eq!(
            validate("PT59S"),
            Err(IntervalError::TooShort("PT59S".to_string()))
        );
        assert_eq!(validate(DEFAULT), Ok(Duration::minutes(40)));
    }
}
