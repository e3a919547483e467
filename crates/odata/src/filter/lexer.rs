//! Tokens of the `$filter` grammar, with their byte positions.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok<'a> {
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
    Ident(&'a str),
    /// `$count` and friends: the name after the `$`.
    Dollar(&'a str),
    Str(String),
    Int(i64),
    Decimal(&'a str, f64),
    Guid(&'a str),
    DateTime(&'a str, OffsetDateTime),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token<'a> {
    pub tok: Tok<'a>,
    pub pos: usize,
}

pub(super) fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(super) fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_delimiter(b: Option<u8>) -> bool {
    match b {
        None => true,
        Some(b) => is_ws(b) || matches!(b, b')' | b',' | b'('),
    }
}

/// Splits `s` into tokens; the last one is always `End`. Errors are (message, position).
pub(super) fn tokenize(s: &str) -> Result<Vec<Token<'_>>, (String, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).copied().is_some_and(is_ws) {
            i += 1;
        }
        let start = i;
        let Some(&c) = b.get(i) else {
            out.push(Token {
                tok: Tok::End,
                pos: i,
            });
            return Ok(out);
        };
        let single = match c {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            b'/' => Some(Tok::Slash),
            _ => None,
        };
        let tok = if let Some(tok) = single {
            i += 1;
            tok
        } else if c == b'\'' {
            let (text, end) = string_literal(s, i)?;
            i = end;
            Tok::Str(text)
        } else if let Some(end) = guid_end(b, i) {
            i = end;
            Tok::Guid(slice(s, start, end))
        } else if looks_like_datetime(b, i) {
            let mut end = i;
            while b.get(end).is_some_and(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'+' | b'-')
            }) {
                end += 1;
            }
            let text = slice(s, start, end);
            let instant = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                (
                    format!("Unrecognized 'Edm.DateTimeOffset' literal '{text}'"),
                    start,
                )
            })?;
            i = end;
            Tok::DateTime(text, instant)
        } else if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (tok, end) = number(s, i)?;
            i = end;
            tok
        } else if is_ident_start(c) {
            let end = ident_end(b, i);
            i = end;
            Tok::Ident(slice(s, start, end))
        } else if c == b'$' && b.get(i + 1).copied().is_some_and(is_ident_start) {
            let end = ident_end(b, i + 1);
            i = end;
            Tok::Dollar(slice(s, start + 1, end))
        } else {
            let ch = s.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err((
                format!("Syntax error: character '{ch}' is not valid"),
                start,
            ));
        };
        out.push(Token { tok, pos: start });
    }
}

fn slice(s: &str, start: usize, end: usize) -> &str {
    s.get(start..end).unwrap_or("")
}

fn ident_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).copied().is_some_and(is_ident_byte) {
        i += 1;
    }
    i
}

/// A single-quoted string starting at `open`; `''` is a quote. Returns the text and the
/// position after the closing quote.
fn string_literal(s: &str, open: usize) -> Result<(String, usize), (String, usize)> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = open + 1;
    loop {
        let run_end = b
            .get(i..)
            .and_then(|rest| rest.iter().position(|c| *c == b'\''))
            .map(|p| i + p);
        let Some(quote) = run_end else {
            return Err(("Unterminated string literal".to_string(), open));
        };
        out.push_str(slice(s, i, quote));
        if b.get(quote + 1) == Some(&b'\'') {
            out.push('\'');
            i = quote + 2;
        } else {
            return Ok((out, quote + 1));
        }
    }
}

/// The end of a GUID (`8-4-4-4-12` hex digits) at `i`, if there is one.
fn guid_end(b: &[u8], i: usize) -> Option<usize> {
    let candidate = b.get(i..i + 36)?;
    let shape_ok = candidate.iter().enumerate().all(|(k, c)| match k {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    let next = b.get(i + 36).copied();
    (shape_ok && !next.is_some_and(|c| is_ident_byte(c) || c == b'-')).then_some(i + 36)
}

/// `dddd-dd-ddT`: the start of a DateTimeOffset.
fn looks_like_datetime(b: &[u8], i: usize) -> bool {
    let Some(head) = b.get(i..i + 11) else {
        return false;
    };
    head.iter().enumerate().all(|(k, c)| match k {
        4 | 7 => *c == b'-',
        10 => *c == b'T' || *c == b't',
        _ => c.is_ascii_digit(),
    })
}

/// `-?digits(.digits)?([eE][+-]?digits)?`, which must end at a delimiter.
fn number(s: &str, start: usize) -> Result<(Tok<'_>, usize), (String, usize)> {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = digits(i);
    let mut decimal = false;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        decimal = true;
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            decimal = true;
            i = digits(j);
        }
    }
    if !is_delimiter(b.get(i).copied()) {
        return Err(("Syntax error".to_string(), i));
    }
    let text = slice(s, start, i);
    let tok = if decimal {
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Tok::Decimal(text, v),
            _ => return Err((format!("Number '{text}' is out of range"), start)),
        }
    } else {
        match text.parse::<i64>() {
            Ok(v) => Tok::Int(v),
            Err(_) => return Err((format!("Number '{text}' is out of range"), start)),
        }
    };
    Ok((tok, i))
}
