//! The syntax tree of an expression, with byte spans into the source text, and its printer.

use std::fmt;
use std::ops::Range;

/// A byte range into the expression text.
pub type Span = Range<usize>;

/// One node of a parsed expression. Equality ignores spans, so a printed and re-parsed tree
/// compares equal to the original.
#[derive(Debug, Clone)]
pub enum Expr {
    /// `Name(arg, , arg)`: a function call. Skipped argument slots are [`Expr::Empty`].
    Call {
        name: String,
        args: Vec<Expr>,
        span: Span,
    },
    /// `[attributeName]`.
    Attribute { name: String, span: Span },
    /// `"text"` with the escapes resolved.
    Str { value: String, span: Span },
    /// `42`, `-3` or `&HF7`: the literal as written and its value.
    Number {
        text: String,
        value: i64,
        span: Span,
    },
    /// `left op right`, as in `IIF([userType]="Member", …)`.
    Compare {
        op: CompareOp,
        left: Box<Expr>,
        right: Box<Expr>,
        span: Span,
    },
    /// A skipped optional argument slot, as in `Replace([x], , "re", , "", , )`.
    Empty { span: Span },
}

/// The comparison operators allowed in IIF conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    pub fn from_symbol(symbol: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.symbol() == symbol)
    }
}

impl Expr {
    pub fn span(&self) -> Span {
        match self {
            Expr::Call { span, .. }
            | Expr::Attribute { span, .. }
            | Expr::Str { span, .. }
            | Expr::Number { span, .. }
            | Expr::Compare { span, .. }
            | Expr::Empty { span } => span.clone(),
        }
    }

    /// Builders with empty spans, for trees made in code (and from Graph JSON).
    pub fn call(name: impl Into<String>, args: Vec<Expr>) -> Expr {
        Expr::Call {
            name: name.into(),
            args,
            span: 0..0,
        }
    }

    pub fn attribute(name: impl Into<String>) -> Expr {
        Expr::Attribute {
            name: name.into(),
            span: 0..0,
        }
    }

    pub fn string(value: impl Into<String>) -> Expr {
        Expr::Str {
            value: value.into(),
            span: 0..0,
        }
    }

    pub fn empty() -> Expr {
        Expr::Empty { span: 0..0 }
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        match (self, other) {
            (
                Expr::Call {
                    name: a, args: x, ..
                },
                Expr::Call {
                    name: b, args: y, ..
                },
            ) => a == b && x == y,
            (Expr::Attribute { name: a, .. }, Expr::Attribute { name: b, .. }) => a == b,
            (Expr::Str { value: a, .. }, Expr::Str { value: b, .. }) => a == b,
            (Expr::Number { text: a, .. }, Expr::Number { text: b, .. }) => a == b,
            (
                Expr::Compare {
                    op: a,
                    left: l1,
                    right: r1,
                    ..
                },
                Expr::Compare {
                    op: b,
                    left: l2,
                    right: r2,
                    ..
                },
            ) => a == b && l1 == l2 && r1 == r2,
            (Expr::Empty { .. }, Expr::Empty { .. }) => true,
            _ => false,
        }
    }
}

/// Writes `value` as a string literal, escaping `\` and `"`.
pub fn write_string_literal(f: &mut impl fmt::Write, value: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

/// Prints the expression in canonical form; the output parses back to an equal tree.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Call { name, args, .. } => {
                write!(f, "{name}(")?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{arg}")?;
                }
                f.write_str(")")
            }
            Expr::Attribute { name, .. } => write!(f, "[{name}]"),
            Expr::Str { value, .. } => write_string_literal(f, value),
            Expr::Number { text, .. } => f.write_str(text),
            Expr::Compare {
                op, left, right, ..
            } => write!(f, "{left} {} {right}", op.symbol()),
            Expr::Empty { .. } => Ok(()),
        }
    }
}
