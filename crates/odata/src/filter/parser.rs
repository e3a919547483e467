//! Recursive-descent parser over the token list.

use super::lexer::{tokenize, Tok, Token};
use super::{CompareOp, Filter, Literal, PropertyPath, Quantifier, StringFunction, Text};
use crate::{Clause, ParseError, MAX_FILTER_DEPTH, MAX_OPTION_LEN};

pub(super) fn parse(input: &str) -> Result<Filter, ParseError> {
    if input.len() > MAX_OPTION_LEN {
        return Err(ParseError::too_long(Clause::Filter, input.len()));
    }
    let tokens = tokenize(input)
        .map_err(|(message, pos)| ParseError::new(Clause::Filter, message, pos, input))?;
    let mut p = Parser {
        input,
        tokens,
        i: 0,
        depth: 0,
        variables: Vec::new(),
    };
    let filter = p.parse_or()?;
    match p.peek() {
        Tok::End => Ok(filter),
        _ => Err(p.error_here("Syntax error")),
    }
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    i: usize,
    depth: usize,
    /// Lambda variables in scope, innermost last.
    variables: Vec<String>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok<'a> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Tok<'a> {
        self.tokens
            .get(self.i + ahead)
            .or(self.tokens.last())
            .map_or(&Tok::End, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.tokens
            .get(self.i)
            .or(self.tokens.last())
            .map_or(self.input.len(), |t| t.pos)
    }

    fn bump(&mut self) {
        if self.i + 1 < self.tokens.len() {
            self.i += 1;
        }
    }

    fn error_at(&self, message: impl Into<String>, pos: usize) -> ParseError {
        ParseError::new(Clause::Filter, message, pos, self.input)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(message, self.pos())
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, tok: Tok<'static>, message: &str) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.error_here(message))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self.error_here(format!(
                "The filter nests deeper than {MAX_FILTER_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn parse_or(&mut self) -> Result<Filter, ParseError> {
        let mut items = vec![self.parse_and()?];
        while self.at_keyword("or") {
            self.bump();
            items.push(self.parse_and()?);
        }
        Ok(single_or(items, Filter::Or))
    }

    fn parse_and(&mut self) -> Result<Filter, ParseError> {
        let mut items = vec![self.parse_unary()?];
        while self.at_keyword("and") {
            self.bump();
            items.push(self.parse_unary()?);
        }
        Ok(single_or(items, Filter::And))
    }

    fn parse_unary(&mut self) -> Result<Filter, ParseError> {
        match self.peek().clone() {
            Tok::Ident(w) if w.eq_ignore_ascii_case("not") => {
                self.bump();
                self.enter()?;
                let inner = self.parse_unary()?;
                self.leave();
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.bump();
                self.enter()?;
                let inner = self.parse_or()?;
                self.expect(Tok::RParen, "')' or operator expected")?;
                self.leave();
                Ok(inner)
            }
            Tok::Ident(name) if *self.peek_at(1) == Tok::LParen => self.parse_function(name),
            Tok::Ident(_) => self.parse_condition(),
            _ => Err(self.error_here("Expression expected")),
        }
    }

    fn parse_function(&mut self, name: &str) -> Result<Filter, ParseError> {
        let at = self.pos();
        let Some(function) = StringFunction::from_name(name) else {
            return Err(self.error_at(format!("Unknown function '{name}'"), at));
        };
        self.bump(); // name
        self.bump(); // (
        let path = match self.parse_path()? {
            PathOrLambda::Path(p) if !p.count => p,
            _ => return Err(self.error_at(no_signature(function), at)),
        };
        self.expect(Tok::Comma, "')' or ',' expected")?;
        let value = match self.parse_literal()? {
            Literal::String(t) => t,
            _ => return Err(self.error_at(no_signature(function), at)),
        };
        self.expect(Tok::RParen, "')' expected")?;
        Ok(Filter::Function {
            function,
            path,
            value,
        })
    }

    /// A path, then an operator and literal, `in (…)`, or a lambda.
    fn parse_condition(&mut self) -> Result<Filter, ParseError> {
        let path = match self.parse_path()? {
            PathOrLambda::Path(path) => path,
            PathOrLambda::Lambda(collection, quantifier) => {
                return self.parse_lambda(collection, quantifier)
            }
        };
        let op_at = self.pos();
        let Tok::Ident(word) = *self.peek() else {
            return Err(self.error_here("Syntax error"));
        };
        if word.eq_ignore_ascii_case("in") {
            self.bump();
            if path.count {
                return Err(self.error_at("'$count' can only be compared with an integer", op_at));
            }
            self.expect(Tok::LParen, "'(' expected")?;
            let mut values = vec![self.parse_literal()?];
            loop {
                match self.peek() {
                    Tok::Comma => {
                        self.bump();
                        values.push(self.parse_literal()?);
                    }
                    Tok::RParen => {
                        self.bump();
                        return Ok(Filter::In { path, values });
                    }
                    _ => return Err(self.error_here("')' or ',' expected")),
                }
            }
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(self.error_here("Syntax error"));
        };
        self.bump();
        let value_at = self.pos();
        let value = self.parse_literal()?;
        if path.count && !matches!(value, Literal::Int(_)) {
            return Err(self.error_at("'$count' can only be compared with an integer", value_at));
        }
        Ok(Filter::Compare { path, op, value })
    }

    fn parse_lambda(
        &mut self,
        collection: PropertyPath,
        quantifier: Quantifier,
    ) -> Result<Filter, ParseError> {
        // At the `(` after `any`/`all`.
        self.bump();
        if *self.peek() == Tok::RParen {
            self.bump();
            return Ok(Filter::Lambda {
                collection,
                quantifier,
                variable: String::new(),
                body: None,
            });
        }
        let variable = match *self.peek() {
            Tok::Ident(v) if !is_reserved(v) => v.to_string(),
            _ => return Err(self.error_here("Lambda variable expected")),
        };
        self.bump();
        self.expect(Tok::Colon, "':' expected")?;
        self.enter()?;
        self.variables.push(variable.clone());
        let body = self.parse_or();
        self.variables.pop();
        let body = body?;
        self.expect(Tok::RParen, "')' or operator expected")?;
        self.leave();
        Ok(Filter::Lambda {
            collection,
            quantifier,
            variable,
            body: Some(Box::new(body)),
        })
    }

    /// `name(/name)*` with an optional `/$count`, or a collection path followed by
    /// `/any(` or `/all(` (left at the `(`).
    fn parse_path(&mut self) -> Result<PathOrLambda, ParseError> {
        let Tok::Ident(first) = *self.peek() else {
            return Err(self.error_here("Property name expected"));
        };
        self.bump();
        let mut path = if self.variables.iter().any(|v| v == first) {
            PropertyPath {
                variable: Some(first.to_string()),
                segments: Vec::new(),
                count: false,
            }
        } else {
            PropertyPath::property([first])
        };
        while *self.peek() == Tok::Slash {
            self.bump();
            match *self.peek() {
                Tok::Ident(w) if *self.peek_at(1) == Tok::LParen => {
                    let quantifier = if w.eq_ignore_ascii_case("any") {
                        Quantifier::Any
                    } else if w.eq_ignore_ascii_case("all") {
                        Quantifier::All
                    } else {
                        return Err(self.error_here(format!("Unknown function '{w}'")));
                    };
                    self.bump();
                    return Ok(PathOrLambda::Lambda(path, quantifier));
                }
                Tok::Ident(w) => {
                    path.segments.push(w.to_string());
                    self.bump();
                }
                Tok::Dollar(w) if w.eq_ignore_ascii_case("count") => {
                    path.count = true;
                    self.bump();
                    return Ok(PathOrLambda::Path(path));
                }
                _ => return Err(self.error_here("Property name expected")),
            }
        }
        Ok(PathOrLambda::Path(path))
    }

    fn parse_literal(&mut self) -> Result<Literal, ParseError> {
        let lit = match self.peek().clone() {
            Tok::Str(s) => Literal::String(Text::new(s)),
            Tok::Int(n) => Literal::Int(n),
            Tok::Decimal(text, value) => Literal::Decimal {
                text: text.to_string(),
                value,
            },
            Tok::Guid(g) => Literal::Guid(g.to_string()),
            Tok::DateTime(text, instant) => Literal::DateTimeOffset {
                text: text.to_string(),
                instant,
            },
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return Err(self.error_here("Literal expected")),
        };
        self.bump();
        Ok(lit)
    }
}

enum PathOrLambda {
    Path(PropertyPath),
    Lambda(PropertyPath, Quantifier),
}

fn single_or(mut items: Vec<Filter>, wrap: fn(Vec<Filter>) -> Filter) -> Filter {
    if items.len() == 1 {
        if let Some(only) = items.pop() {
            return only;
        }
    }
    wrap(items)
}

fn no_signature(function: StringFunction) -> String {
    format!(
        "No function signature for the function with name '{}' matches the specified arguments",
        function.as_str()
    )
}

/// Words that cannot name a lambda variable, because the parser reads them as keywords.
pub(super) fn is_reserved(word: &str) -> bool {
    ["not", "and", "or"]
        .iter()
        .any(|kw| kw.eq_ignore_ascii_case(word))
}
