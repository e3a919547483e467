//! The parser: expression text to an [`Expr`] tree, or the first error with its span and
//! what was expected there. It never panics, caps the text at [`MAX_LENGTH`] characters and
//! the nesting of calls at [`MAX_DEPTH`].

use crate::ast::{CompareOp, Expr, Span};

/// Entra rejects expressions longer than this many characters.
pub const MAX_LENGTH: usize = 10_000;
/// Nesting cap for function calls, so that deep input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// A syntax error: what was expected, where (byte span and 1-based character column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    pub column: usize,
}

/// 1-based character column of byte offset `at` in `text`.
pub fn column_of(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |prefix| prefix.chars().count()) + 1
}

/// Parses a whole expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser {
        src: text,
        pos: 0,
        depth: 0,
    };
    if let Some((at, _)) = text.char_indices().nth(MAX_LENGTH) {
        let length = text.chars().count();
        return Err(parser.error_at(
            at,
            format!("expected at most 10,000 characters in an expression, found {length}"),
        ));
    }
    parser.skip_ws();
    let expr = parser.operand(&|| {
        "expected a function call, an [attribute], a \"string\" or a number".to_string()
    })?;
    parser.skip_ws();
    if parser.pos < text.len() {
        return Err(parser.error_here("expected the end of the expression".to_string()));
    }
    Ok(expr)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error_at(&self, at: usize, message: String) -> ParseError {
        let end = at
            + self
                .src
                .get(at..)
                .and_then(|r| r.chars().next())
                .map_or(0, char::len_utf8);
        ParseError {
            message,
            span: at..end,
            column: column_of(self.src, at),
        }
    }

    fn error_here(&self, message: String) -> ParseError {
        self.error_at(self.pos, message)
    }

    /// A primary, optionally followed by a comparison operator and a second primary.
    fn operand(&mut self, expected: &dyn Fn() -> String) -> Result<Expr, ParseError> {
        let left = self.primary(expected)?;
        let before_ws = self.pos;
        self.skip_ws();
        let rest = self.rest();
        let op = ["<>", "<=", ">=", "=", "<", ">"]
            .into_iter()
            .find(|symbol| rest.starts_with(symbol));
        let Some(symbol) = op else {
            self.pos = before_ws;
            return Ok(left);
        };
        self.pos += symbol.len();
        self.skip_ws();
        let right = self.primary(&|| format!("expected a value after \"{symbol}\""))?;
        let span = left.span().start..right.span().end;
        Ok(Expr::Compare {
            op: CompareOp::from_symbol(symbol).unwrap_or(CompareOp::Eq),
            left: Box::new(left),
            right: Box::new(right),
            span,
        })
    }

    fn primary(&mut self, expected: &dyn Fn() -> String) -> Result<Expr, ParseError> {
        match self.peek() {
            Some('[') => self.attribute(),
            Some('"') => self.string(),
            Some(c) if c.is_ascii_digit() || c == '-' => self.number(),
            Some('&') => self.hex(),
            Some(c) if c.is_alphabetic() || c == '_' => self.call(),
            _ => Err(self.error_here(expected())),
        }
    }

    fn attribute(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.bump();
        let name_start = self.pos;
        loop {
            match self.peek() {
                Some(']') => break,
                Some(c) if c != '[' && !c.is_control() => {
                    self.bump();
                }
                _ => {
                    return Err(self.error_here(format!(
                        "expected \"]\" to close the attribute name opened at column {}",
                        column_of(self.src, start)
                    )))
                }
            }
        }
        let name = self.src.get(name_start..self.pos).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(self.error_here("expected an attribute name after \"[\"".to_string()));
        }
        self.bump();
        Ok(Expr::Attribute {
            name,
            span: start..self.pos,
        })
    }

    fn string(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                Some('"') => break,
                Some('\\') => match self.peek() {
                    Some(c @ ('"' | '\\')) => {
                        self.bump();
                        value.push(c);
                    }
                    // Entra keeps a backslash before any other character as it is.
                    _ => value.push('\\'),
                },
                Some(c) => value.push(c),
                None => {
                    return Err(self.error_here(format!(
                        "expected '\"' to close the string opened at column {}",
                        column_of(self.src, start)
                    )))
                }
            }
        }
        Ok(Expr::Str {
            value,
            span: start..self.pos,
        })
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        if self.peek() == Some('-') {
            self.bump();
        }
        let digits_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits_start {
            return Err(self.error_here("expected a digit after \"-\"".to_string()));
        }
        let text = self.src.get(start..self.pos).unwrap_or("").to_string();
        let Ok(value) = text.parse::<i64>() else {
            return Err(self.error_at(start, "expected a number that fits in 64 bits".to_string()));
        };
        Ok(Expr::Number {
            text,
            value,
            span: start..self.pos,
        })
    }

    fn hex(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.bump();
        if !matches!(self.peek(), Some('H' | 'h')) {
            return Err(self.error_here("expected \"H\" after \"&\" in a hex number".to_string()));
        }
        self.bump();
        let digits_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
            self.bump();
        }
        let digits = self.src.get(digits_start..self.pos).unwrap_or("");
        if digits.is_empty() {
            return Err(self.error_here("expected a hex digit after \"&H\"".to_string()));
        }
        let Ok(value) = u64::from_str_radix(digits, 16) else {
            return Err(self.error_at(start, "expected a number that fits in 64 bits".to_string()));
        };
        Ok(Expr::Number {
            text: self.src.get(start..self.pos).unwrap_or("").to_string(),
            // Like VBA, &HFFFFFFFFFFFFFFFF is -1: the bits are what BitAnd looks at.
            value: value as i64,
            span: start..self.pos,
        })
    }

    fn call(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.bump();
        }
        let name = self.src.get(start..self.pos).unwrap_or("").to_string();
        let after_name = self.pos;
        self.skip_ws();
        if self.peek() != Some('(') && matches!(name.as_str(), "vbBinaryCompare" | "vbTextCompare")
        {
            // InStr's compare mode is written bare in Microsoft's examples: a string constant.
            self.pos = after_name;
            return Ok(Expr::Str {
                value: name,
                span: start..after_name,
            });
        }
        if self.peek() != Some('(') {
            return Err(self.error_here(format!("expected \"(\" after function name {name}")));
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(
                start,
                format!("expected at most {MAX_DEPTH} nested function calls"),
            ));
        }
        self.bump();
        self.depth += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.bump();
        } else {
            loop {
                let index = args.len() + 1;
                self.skip_ws();
                if matches!(self.peek(), Some(',' | ')')) {
                    args.push(Expr::Empty {
                        span: self.pos..self.pos,
                    });
                } else {
                    let arg = self.operand(&|| format!("expected argument {index} of {name}"))?;
                    args.push(arg);
                }
                self.skip_ws();
                match self.peek() {
                    Some(',') => {
                        self.bump();
                    }
                    Some(')') => {
                        self.bump();
                        break;
                    }
                    _ => {
                        return Err(self.error_here(format!(
                            "expected \",\" or \")\" after argument {index} of {name}"
                        )))
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(Expr::Call {
            name,
            args,
            span: start..self.pos,
        })
    }
}
