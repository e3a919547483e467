//! The checker: unknown functions, wrong numbers of arguments, missing required arguments,
//! misplaced SelectUniqueValue, unknown attributes (given the source object's attribute
//! names), each with a "did you mean" suggestion for near misses.

use std::fmt;

use crate::ast::{Expr, Span};
use crate::catalogue::{self, Func, FUNCTIONS};
use crate::parse::column_of;
use crate::text::suggest;

/// One problem found by the checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    pub message: String,
    pub suggestion: Option<String>,
    pub span: Span,
    pub column: usize,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.message, self.column)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, ". Did you mean \"{suggestion}\"?")?;
        }
        Ok(())
    }
}

impl std::error::Error for CheckError {}

/// Checks a parsed expression. `text` is the source the spans point into (columns come from
/// it); `attributes` is the source object definition (names compared case-insensitively),
/// `None` to skip the attribute check.
pub fn check(expr: &Expr, text: &str, attributes: Option<&[&str]>) -> Vec<CheckError> {
    let mut checker = Checker {
        text,
        attributes,
        errors: Vec::new(),
    };
    checker.visit(expr, true);
    checker.errors
}

struct Checker<'a> {
    text: &'a str,
    attributes: Option<&'a [&'a str]>,
    errors: Vec<CheckError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Span, message: String, suggestion: Option<&str>) {
        self.errors.push(CheckError {
            message,
            suggestion: suggestion.map(str::to_string),
            column: column_of(self.text, span.start),
            span,
        });
    }

    fn visit(&mut self, expr: &Expr, top_level: bool) {
        match expr {
            Expr::Call { name, args, span } => {
                self.call(name, args, span.clone(), top_level);
                for arg in args {
                    self.visit(arg, false);
                }
            }
            Expr::Attribute { name, span } => {
                let Some(attributes) = self.attributes else {
                    return;
                };
                let known = attributes.iter().any(|a| {
                    a.eq_ignore_ascii_case(name) || a.to_lowercase() == name.to_lowercase()
                });
                if !known {
                    let suggestion = suggest(name, attributes.iter().copied());
                    self.error(
                        span.clone(),
                        format!("unknown attribute \"{name}\""),
                        suggestion,
                    );
                }
            }
            Expr::Compare { left, right, .. } => {
                self.visit(left, false);
                self.visit(right, false);
            }
            Expr::Str { .. } | Expr::Number { .. } | Expr::Empty { .. } => {}
        }
    }

    fn call(&mut self, name: &str, args: &[Expr], span: Span, top_level: bool) {
        let Some(def) = catalogue::lookup(name) else {
            let suggestion = suggest(name, FUNCTIONS.iter().map(|def| def.name));
            self.error(span, format!("unknown function \"{name}\""), suggestion);
            return;
        };
        if !def.accepts_arity(args.len()) {
            self.error(
                span,
                format!(
                    "{name} takes {} arguments, got {}",
                    def.arity_text(),
                    args.len()
                ),
                None,
            );
            return;
        }
        for (i, arg) in args.iter().enumerate() {
            let Some(param) = def.param_for_slot(i) else {
                continue;
            };
            if param.required && matches!(arg, Expr::Empty { .. }) {
                self.error(
                    arg.span(),
                    format!("argument {} ({}) of {name} is required", i + 1, param.name),
                    None,
                );
            }
        }
        if def.func == Func::SelectUniqueValue && !top_level {
            self.error(
                span.clone(),
                "SelectUniqueValue must be the outermost function of the expression".to_string(),
                None,
            );
        }
        if def.func == Func::Replace {
            let present = |i: usize| {
                args.get(i)
                    .is_some_and(|a| !matches!(a, Expr::Empty { .. }))
            };
            let (old, pattern, group, replacement, attribute, template) = (
                present(1),
                present(2),
                present(3),
                present(4),
                present(5),
                present(6),
            );
            let valid = (old && (replacement || template))
                || (pattern && (replacement || (group && attribute)));
            if !valid {
                self.error(
                    span,
                    "Replace needs oldValue with replacementValue or template, or regexPattern with replacementValue, or regexPattern and regexGroupName with replacementAttributeName".to_string(),
                    None,
                );
            }
        }
    }
}
