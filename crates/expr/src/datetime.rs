//! Dates: .NET custom and standard format strings (parse and format), the general parser of
//! CDate, calendar arithmetic for DateAdd / DateDiff, and Active Directory FILETIME numbers.
//! Every DateTime is in UTC; Entra's servers run in UTC, so .NET's "local" is UTC too.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// 100 ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i128 = 116_444_736_000_000_000;

/// `2012-01-01T23:00:00Z`, with a fraction only when there is one.
pub fn iso8601(dt: OffsetDateTime) -> String {
    let pattern = if dt.nanosecond() == 0 {
        "yyyy-MM-ddTHH:mm:ssZ"
    } else {
        "yyyy-MM-ddTHH:mm:ss.FFFFFFFZ"
    };
    format(dt, pattern)
}

/// .NET's invariant `DateTime.ToString()`: `3/23/2012 7:00:00 AM`.
pub fn general_string(dt: OffsetDateTime) -> String {
    format(dt, "M/d/yyyy h:mm:ss tt")
}

pub fn from_filetime(ticks: i64) -> Option<OffsetDateTime> {
    let nanos = (i128::from(ticks) - FILETIME_UNIX_OFFSET) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

pub fn to_filetime(dt: OffsetDateTime) -> Option<i64> {
    i64::try_from(dt.unix_timestamp_nanos() / 100 + FILETIME_UNIX_OFFSET).ok()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Year(usize),
    Month(usize),
    Day(usize),
    Hour24(usize),
    Hour12(usize),
    Minute(usize),
    Second(usize),
    /// `f` (exact digits) or `F` (trailing zeros dropped).
    Fraction(usize, bool),
    AmPm(usize),
    Offset(usize),
    /// `K`: `Z` for UTC.
    Kind,
    Literal(String),
}

/// Expands .NET's one-letter standard formats to their invariant-culture custom patterns.
fn standard_pattern(format: &str) -> &str {
    match format {
        "d" => "MM/dd/yyyy",
        "D" => "dddd, dd MMMM yyyy",
        "f" => "dddd, dd MMMM yyyy HH:mm",
        "F" => "dddd, dd MMMM yyyy HH:mm:ss",
        "g" => "MM/dd/yyyy HH:mm",
        "G" => "MM/dd/yyyy HH:mm:ss",
        "M" | "m" => "MMMM dd",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "t" => "HH:mm",
        "T" => "HH:mm:ss",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "y" | "Y" => "yyyy MMMM",
        other => other,
    }
}

fn tokenize(format: &str) -> Vec<Token> {
    let chars: Vec<char> = standard_pattern(format).chars().collect();
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let token = match c {
            'y' => Some(Token::Year(run)),
            'M' => Some(Token::Month(run)),
            'd' => Some(Token::Day(run)),
            'H' => Some(Token::Hour24(run)),
            'h' => Some(Token::Hour12(run)),
            'm' => Some(Token::Minute(run)),
            's' => Some(Token::Second(run)),
            'f' => Some(Token::Fraction(run.min(7), false)),
            'F' => Some(Token::Fraction(run.min(7), true)),
            't' => Some(Token::AmPm(run)),
            'z' => Some(Token::Offset(run)),
            'K' => Some(Token::Kind),
            _ => None,
        };
        if let Some(token) = token {
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            tokens.push(token);
            i += run;
            continue;
        }
        match c {
            '\'' | '"' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    literal.push(chars[i]);
                    i += 1;
                }
                i += 1;
            }
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    literal.push(next);
                }
                i += 2;
            }
            '%' => i += 1,
            other => {
                literal.push(other);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    tokens
}

/// Writes `dt` with a .NET custom or standard format string (invariant culture).
pub fn format(dt: OffsetDateTime, pattern: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for token in tokenize(pattern) {
        let _ = match token {
            Token::Year(1) => write!(out, "{}", dt.year() % 100),
            Token::Year(2) => write!(out, "{:02}", dt.year() % 100),
            Token::Year(n) => write!(out, "{:0n$}", dt.year()),
            Token::Month(n @ (1 | 2)) => write!(out, "{:0n$}", u8::from(dt.month())),
            Token::Month(3) => out.write_str(&MONTHS[usize::from(u8::from(dt.month())) - 1][..3]),
            Token::Month(_) => out.write_str(MONTHS[usize::from(u8::from(dt.month())) - 1]),
            Token::Day(n @ (1 | 2)) => write!(out, "{:0n$}", dt.day()),
            Token::Day(3) => {
                out.write_str(&DAYS[usize::from(dt.weekday().number_days_from_monday())][..3])
            }
            Token::Day(_) => {
                out.write_str(DAYS[usize::from(dt.weekday().number_days_from_monday())])
            }
            Token::Hour24(n) => write!(out, "{:0w$}", dt.hour(), w = n.min(2)),
            Token::Hour12(n) => {
                let h = match dt.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                write!(out, "{h:0w$}", w = n.min(2))
            }
            Token::Minute(n) => write!(out, "{:0w$}", dt.minute(), w = n.min(2)),
            Token::Second(n) => write!(out, "{:0w$}", dt.second(), w = n.min(2)),
            Token::Fraction(n, trim) => {
                let digits = format!("{:09}", dt.nanosecond());
                let mut digits = digits.get(..n).unwrap_or("").to_string();
                if trim {
                    while digits.ends_with('0') {
                        digits.pop();
                    }
                    if digits.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.write_str(&digits)
            }
            Token::AmPm(n) => {
                let text = if dt.hour() < 12 { "AM" } else { "PM" };
                out.write_str(if n == 1 { &text[..1] } else { text })
            }
            Token::Offset(n) => {
                let (h, m, _) = dt.offset().as_hms();
                let sign = if h < 0 || m < 0 { '-' } else { '+' };
                let (h, m) = (h.unsigned_abs(), m.unsigned_abs());
                match n {
                    1 => write!(out, "{sign}{h}"),
                    2 => write!(out, "{sign}{h:02}"),
                    _ => write!(out, "{sign}{h:02}:{m:02}"),
                }
            }
            Token::Kind => {
                if dt.offset().is_utc() {
                    out.write_str("Z")
                } else {
                    out.write_str(&format(dt, "zzz"))
                }
            }
            Token::Literal(text) => out.write_str(&text),
        };
    }
    out
}

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u8>,
    day: Option<u8>,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    pm: Option<bool>,
    offset_seconds: i32,
}

struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let count = self
            .rest
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if count < min {
            return None;
        }
        let (digits, rest) = self.rest.split_at(count);
        self.rest = rest;
        digits.parse().ok()
    }

    fn name(&mut self, names: &[&str], abbreviated: bool) -> Option<usize> {
        for (i, name) in names.iter().enumerate() {
            let name = if abbreviated { &name[..3] } else { name };
            if let Some(prefix) = self.rest.get(..name.len()) {
                if prefix.eq_ignore_ascii_case(name) {
                    self.rest = &self.rest[name.len()..];
                    return Some(i);
                }
            }
        }
        None
    }

    fn literal(&mut self, text: &str) -> Option<()> {
        let prefix = self.rest.get(..text.len())?;
        prefix.eq_ignore_ascii_case(text).then(|| {
            self.rest = &self.rest[text.len()..];
        })
    }

    fn offset(&mut self) -> Option<i32> {
        if self.literal("Z").is_some() {
            return Some(0);
        }
        let sign = match self.rest.chars().next()? {
            '+' => 1,
            '-' => -1,
            _ => return None,
        };
        self.rest = &self.rest[1..];
        let hours = self.digits(1, 2)?;
        let minutes = if self.literal(":").is_some() {
            self.digits(2, 2)?
        } else {
            self.digits(0, 2).unwrap_or(0)
        };
        i32::try_from(hours * 3600 + minutes * 60)
            .ok()
            .map(|s| sign * s)
    }
}

/// Parses `text` with a .NET custom or standard format string (case-insensitive literals).
pub fn parse_exact(text: &str, pattern: &str) -> Option<OffsetDateTime> {
    let mut fields = Fields::default();
    let mut cursor = Cursor { rest: text.trim() };
    for token in tokenize(pattern) {
        match token {
            Token::Year(n) => {
                let year = match n {
                    1 | 2 => {
                        let yy = cursor.digits(n, 2)? as i32;
                        if yy < 50 {
                            2000 + yy
                        } else {
                            1900 + yy
                        }
                    }
                    _ => cursor.digits(n, n.max(4))? as i32,
                };
                fields.year = Some(year);
            }
            Token::Month(n @ (1 | 2)) => fields.month = Some(cursor.digits(n, 2)? as u8),
            Token::Month(n) => fields.month = Some(cursor.name(&MONTHS, n == 3)? as u8 + 1),
            Token::Day(n @ (1 | 2)) => fields.day = Some(cursor.digits(n, 2)? as u8),
            Token::Day(n) => {
                cursor.name(&DAYS, n == 3)?;
            }
            Token::Hour24(n) | Token::Hour12(n) => fields.hour = cursor.digits(n.min(2), 2)? as u8,
            Token::Minute(n) => fields.minute = cursor.digits(n.min(2), 2)? as u8,
            Token::Second(n) => fields.second = cursor.digits(n.min(2), 2)? as u8,
            Token::Fraction(n, optional) => {
                let before = cursor.rest.len();
                let value = cursor.digits(if optional { 0 } else { n }, n).unwrap_or(0);
                let read = before - cursor.rest.len();
                fields.nanos = value * 10u32.pow(9 - read as u32);
            }
            Token::AmPm(n) => {
                let names: [&str; 2] = if n == 1 { ["A", "P"] } else { ["AM", "PM"] };
                fields.pm = Some(cursor.name(&names, false)? == 1);
            }
            Token::Offset(_) | Token::Kind => fields.offset_seconds = cursor.offset()?,
            Token::Literal(text) => {
                if text.trim().is_empty() {
                    cursor.rest = cursor.rest.trim_start();
                } else {
                    cursor.literal(&text)?;
                }
            }
        }
    }
    if !cursor.rest.is_empty() {
        return None;
    }
    build(&fields)
}

fn build(fields: &Fields) -> Option<OffsetDateTime> {
    let mut hour = fields.hour;
    match fields.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let date = Date::from_calendar_date(
        fields.year.unwrap_or(1),
        Month::try_from(fields.month.unwrap_or(1)).ok()?,
        fields.day.unwrap_or(1),
    )
    .ok()?;
    let time = Time::from_hms_nano(hour, fields.minute, fields.second, fields.nanos).ok()?;
    let offset = UtcOffset::from_whole_seconds(fields.offset_seconds).ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

/// CDate's parser: ISO 8601 (with or without time, offset or `Z`, including Workday's
/// `2012-03-16-07:00`), `yyyyMMddHHmmss.fZ` (LDAP generalized time) and the invariant
/// `M/d/yyyy h:mm:ss tt` family.
pub fn parse_general(text: &str) -> Option<OffsetDateTime> {
    const PATTERNS: [&str; 16] = [
        "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
        "yyyy-MM-ddTHH:mm:ssK",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-ddTHH:mm:ss",
        "yyyy-MM-ddTHH:mmK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-ddK",
        "yyyy-MM-dd",
        "yyyyMMddHHmmss.FFFFFFFK",
        "yyyyMMddHHmmssK",
        "M/d/yyyy h:mm:ss tt",
        "M/d/yyyy h:mm tt",
        "M/d/yyyy H:mm:ss",
        "M/d/yyyy",
    ];
    PATTERNS
        .iter()
        .find_map(|pattern| parse_exact(text, pattern))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if time::util::is_leap_year(year) => 29,
        2 => 28,
        _ => 31,
    }
}

fn add_months(dt: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let index =
        (i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1).checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u8::try_from(index.rem_euclid(12) + 1).ok()?;
    let day = dt.day().min(days_in_month(year, month));
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    Some(dt.replace_date(date))
}

/// The intervals of DateAdd and DateDiff.
pub const INTERVALS: [&str; 10] = ["yyyy", "q", "m", "y", "d", "w", "ww", "h", "n", "s"];

/// VBA's DateAdd intervals: yyyy, q, m, y/d/w (days), ww (weeks), h, n, s.
pub fn add(interval: &str, amount: i64, dt: OffsetDateTime) -> Option<OffsetDateTime> {
    let seconds = |unit: i64| amount.checked_mul(unit).map(time::Duration::seconds);
    match interval {
        "yyyy" => add_months(dt, amount.checked_mul(12)?),
        "q" => add_months(dt, amount.checked_mul(3)?),
        "m" => add_months(dt, amount),
        "y" | "d" | "w" => dt.checked_add(seconds(86_400)?),
        "ww" => dt.checked_add(seconds(7 * 86_400)?),
        "h" => dt.checked_add(seconds(3_600)?),
        "n" => dt.checked_add(seconds(60)?),
        "s" => dt.checked_add(seconds(1)?),
        _ => None,
    }
}

/// VBA's DateDiff: calendar boundaries for yyyy, q, m and ww; whole elapsed units otherwise.
pub fn diff(interval: &str, from: OffsetDateTime, to: OffsetDateTime) -> Option<i64> {
    let months = |dt: OffsetDateTime| i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month()));
    let elapsed = to - from;
    // Weeks start on Sunday: count the Sundays crossed.
    let week_index = |dt: OffsetDateTime| (i64::from(dt.date().to_julian_day()) + 1).div_euclid(7);
    Some(match interval {
        "yyyy" => i64::from(to.year()) - i64::from(from.year()),
        "q" => (months(to) - 1).div_euclid(3) - (months(from) - 1).div_euclid(3),
        "m" => months(to) - months(from),
        "y" | "d" => elapsed.whole_days(),
        "w" => elapsed.whole_weeks(),
        "ww" => week_index(to) - week_index(from),
        "h" => elapsed.whole_hours(),
        "n" => elapsed.whole_minutes(),
        "s" => elapsed.whole_seconds(),
        _ => return None,
    })
}
