//! Scoping filters: an object mapping's `scope.groups` evaluated over a source object.
//!
//! From Microsoft's pages (MicrosoftDocs/entra-docs,
//! `docs/identity/app-provisioning/define-conditional-rules-for-provisioning-user-accounts.md`,
//! and microsoftgraph/microsoft-graph-docs-contrib,
//! `api-reference/beta/api/synchronization-synchronizationschema-filteroperators.md`):
//! - the clauses of a group are ANDed, the groups ORed; no groups means no filter;
//! - a null or empty attribute makes a clause false, except `IS NULL` (true on empty), and
//!   `NOT REGEX MATCH` is named false on null explicitly;
//! - `EQUALS`, `NOT EQUALS`, `Includes`, `ENDS_WITH` and `REGEX MATCH` compare case-sensitively;
//! - `Greater_Than` and `Greater_Than_OR_EQUALS` compare integers.
//!
//! Where the pages are silent, provisio chooses:
//! - Only `EQUALS` is seen on the wire in Microsoft's samples; the other names are the admin
//!   center's labels, written as listed (`Greater_Than`, `ENDS_WITH`, `&`), matched in any
//!   letter case.
//! - A clause with several target values is true when any value satisfies it (`EQUALS`,
//!   `REGEX MATCH`, `&`, `Includes`, `ENDS_WITH`, `Greater_Than…`) and, for the negative
//!   operators (`NOT EQUALS`, `NOT REGEX MATCH`, `!&`), when no value does.
//! - A multi-valued attribute is compared value by value and every value must satisfy the
//!   clause, as `multivaluedComparisonType: All` says; the pages say such attributes are not
//!   filterable, so that is the least surprising reading.
//! - Regular expressions use .NET's `IsMatch` semantics (a match anywhere, no implicit
//!   anchors).

use regex::{Regex, RegexBuilder};
use serde_json::Value as Json;

use crate::model::{
    AttributeType, Filter, FilterClause, FilterOperatorSchema, OperatorArity,
    ScopeOperatorMultiValuedComparisonType,
};
use crate::source::SourceObject;

/// A regular expression in a scoping filter may not compile to more than this (the regex
/// crate's measure), so that a filter cannot make every cycle slow.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A scoping operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeOperator {
    /// `&`: the attribute occurs in the value.
    ContainedIn,
    /// `!&`: the attribute does not occur in the value.
    NotContainedIn,
    EndsWith,
    Equals,
    GreaterThan,
    GreaterThanOrEquals,
    /// `Includes`: the value occurs in the attribute.
    Includes,
    IsFalse,
    IsNotNull,
    IsNull,
    IsTrue,
    NotEquals,
    NotRegexMatch,
    RegexMatch,
}

impl ScopeOperator {
    /// Every operator, in the order of the admin center's list.
    pub const ALL: [ScopeOperator; 14] = [
        ScopeOperator::ContainedIn,
        ScopeOperator::NotContainedIn,
        ScopeOperator::EndsWith,
        ScopeOperator::Equals,
        ScopeOperator::GreaterThan,
        ScopeOperator::GreaterThanOrEquals,
        ScopeOperator::Includes,
        ScopeOperator::IsFalse,
        ScopeOperator::IsNotNull,
        ScopeOperator::IsNull,
        ScopeOperator::IsTrue,
        ScopeOperator::NotEquals,
        ScopeOperator::NotRegexMatch,
        ScopeOperator::RegexMatch,
    ];

    /// The operator's name in `filterClause.operatorName`.
    pub fn name(self) -> &'static str {
        match self {
            ScopeOperator::ContainedIn => "&",
            ScopeOperator::NotContainedIn => "!&",
            ScopeOperator::EndsWith => "ENDS_WITH",
            ScopeOperator::Equals => "EQUALS",
            ScopeOperator::GreaterThan => "Greater_Than",
            ScopeOperator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            ScopeOperator::Includes => "Includes",
            ScopeOperator::IsFalse => "IS FALSE",
            ScopeOperator::IsNotNull => "IS NOT NULL",
            ScopeOperator::IsNull => "IS NULL",
            ScopeOperator::IsTrue => "IS TRUE",
            ScopeOperator::NotEquals => "NOT EQUALS",
            ScopeOperator::NotRegexMatch => "NOT REGEX MATCH",
            ScopeOperator::RegexMatch => "REGEX MATCH",
        }
    }

    /// The operator called `name`, in any letter case.
    pub fn from_name(name: &str) -> Option<ScopeOperator> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(name))
    }

    fn is_unary(self) -> bool {
        matches!(
            self,
            ScopeOperator::IsFalse
                | ScopeOperator::IsNotNull
                | ScopeOperator::IsNull
                | ScopeOperator::IsTrue
        )
    }

    fn supported_attribute_types(self) -> Vec<AttributeType> {
        use AttributeType::*;
        match self {
            ScopeOperator::IsTrue | ScopeOperator::IsFalse => vec![Boolean],
            ScopeOperator::IsNull | ScopeOperator::IsNotNull => {
                vec![Integer, String, Binary, Boolean]
            }
            ScopeOperator::GreaterThan | ScopeOperator::GreaterThanOrEquals => vec![Integer],
            _ => vec![Integer, String],
        }
    }

    /// This operator's entry of `schema/filterOperators`.
    pub fn schema(self) -> FilterOperatorSchema {
        FilterOperatorSchema {
            name: self.name().to_string(),
            arity: if self.is_unary() {
                OperatorArity::Unary
            } else {
                OperatorArity::Binary
            },
            multivalued_comparison_type: ScopeOperatorMultiValuedComparisonType::All,
            supported_attribute_types: self.supported_attribute_types(),
        }
    }
}

/// `GET …/schema/filterOperators`. The eight operators of Microsoft's sample response come
/// first, exactly as it lists them; the admin center's six others, which the sample leaves
/// out but the scoping page documents, follow.
pub fn filter_operators() -> Vec<FilterOperatorSchema> {
    use ScopeOperator::*;
    [
        Equals,
        IsFalse,
        IsNotNull,
        IsNull,
        IsTrue,
        NotEquals,
        NotRegexMatch,
        RegexMatch,
        ContainedIn,
        NotContainedIn,
        EndsWith,
        GreaterThan,
        GreaterThanOrEquals,
        Includes,
    ]
    .into_iter()
    .map(ScopeOperator::schema)
    .collect()
}

/// Why a scoping filter cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopingError {
    #[error("scoping filter group {group}, clause {clause}: unknown operator \"{operator}\"")]
    UnknownOperator {
        group: usize,
        clause: usize,
        operator: String,
    },
    #[error(
        "scoping filter group {group}, clause {clause}: {operator} needs at least one target value"
    )]
    MissingValue {
        group: usize,
        clause: usize,
        operator: &'static str,
    },
    #[error(
        "scoping filter group {group}, clause {clause}: {operator} compares integers, \
         and \"{value}\" is not one"
    )]
    NotAnInteger {
        group: usize,
        clause: usize,
        operator: &'static str,
        value: String,
    },
    #[error("scoping filter group {group}, clause {clause}: invalid regular expression \"{pattern}\": {message}")]
    InvalidRegex {
        group: usize,
        clause: usize,
        pattern: String,
        message: String,
    },
    #[error("scoping filter group {group}, clause {clause}: the source attribute name is empty")]
    MissingAttribute { group: usize, clause: usize },
}

#[derive(Debug)]
enum Operand {
    None,
    Texts(Vec<String>),
    Integers(Vec<i64>),
    Regexes(Vec<Regex>),
}

#[derive(Debug)]
struct CompiledClause {
    attribute: String,
    operator: ScopeOperator,
    operand: Operand,
}

/// A scoping filter's `groups`, checked and compiled once (regular expressions, integers).
#[derive(Debug, Default)]
pub struct ScopingFilter {
    groups: Vec<Vec<CompiledClause>>,
}

impl ScopingFilter {
    /// Compiles `filter.groups`. Groups and clauses are numbered from 1 in errors, as an
    /// admin counts them.
    pub fn compile(filter: &Filter) -> Result<ScopingFilter, ScopingError> {
        let mut groups = Vec::with_capacity(filter.groups.len());
        for (g, group) in filter.groups.iter().enumerate() {
            let mut clauses = Vec::with_capacity(group.clauses.len());
            for (c, clause) in group.clauses.iter().enumerate() {
                clauses.push(compile_clause(clause, g + 1, c + 1)?);
            }
            groups.push(clauses);
        }
        Ok(ScopingFilter { groups })
    }

    /// Whether `source` is in scope: no groups, or any group whose clauses all hold.
    pub fn matches(&self, source: &SourceObject) -> bool {
        self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|clauses| clauses.iter().all(|clause| clause.holds(source)))
    }
}

fn compile_clause(
    clause: &FilterClause,
    group: usize,
    index: usize,
) -> Result<CompiledClause, ScopingError> {
    let operator = ScopeOperator::from_name(&clause.operator_name).ok_or_else(|| {
        ScopingError::UnknownOperator {
            group,
            clause: index,
            operator: clause.operator_name.clone(),
        }
    })?;
    let attribute = clause.source_operand_name.trim();
    if attribute.is_empty() {
        return Err(ScopingError::MissingAttribute {
            group,
            clause: index,
        });
    }
    let values: Vec<String> = clause
        .target_operand
        .as_ref()
        .map(|operand| operand.values.clone())
        .unwrap_or_default();
    let operand =
        if operator.is_unary() {
            Operand::None
        } else {
            if values.is_empty() {
                return Err(ScopingError::MissingValue {
                    group,
                    clause: index,
                    operator: operator.name(),
                });
            }
            match operator {
                ScopeOperator::GreaterThan | ScopeOperator::GreaterThanOrEquals => {
                    let mut integers = Vec::with_capacity(values.len());
                    for value in values {
                        let integer = value.trim().parse::<i64>().map_err(|_| {
                            ScopingError::NotAnInteger {
                                group,
                                clause: index,
                                operator: operator.name(),
                                value: value.clone(),
                            }
                        })?;
                        integers.push(integer);
                    }
                    Operand::Integers(integers)
                }
                ScopeOperator::RegexMatch | ScopeOperator::NotRegexMatch => {
                    let mut regexes = Vec::with_capacity(values.len());
                    for pattern in values {
                        let regex = RegexBuilder::new(&pattern)
                            .size_limit(REGEX_SIZE_LIMIT)
                            .build()
                            .map_err(|error| ScopingError::InvalidRegex {
                                group,
                                clause: index,
                                pattern: pattern.clone(),
                                message: error.to_string(),
                            })?;
                        regexes.push(regex);
                    }
                    Operand::Regexes(regexes)
                }
                _ => Operand::Texts(values),
            }
        };
    Ok(CompiledClause {
        attribute: attribute.to_string(),
        operator,
        operand,
    })
}

/// One value of an attribute, as the clause sees it.
enum Scalar<'a> {
    Text(&'a str),
    Bool(bool),
    Number(&'a serde_json::Number),
}

impl Scalar<'_> {
    fn text(&self) -> String {
        match self {
            Scalar::Text(text) => (*text).to_string(),
            // As Entra's .NET engine writes booleans.
            Scalar::Bool(true) => "True".to_string(),
            Scalar::Bool(false) => "False".to_string(),
            Scalar::Number(number) => number.to_string(),
        }
    }

    fn integer(&self) -> Option<i64> {
        match self {
            Scalar::Number(number) => number.as_i64(),
            Scalar::Text(text) => text.trim().parse().ok(),
            Scalar::Bool(_) => None,
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::Text(text) if text.eq_ignore_ascii_case("true") => Some(true),
            Scalar::Text(text) if text.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

/// The attribute's non-empty values; complex values are not filterable and count as absent.
fn scalars(value: Option<&Json>) -> Vec<Scalar<'_>> {
    fn one(value: &Json) -> Option<Scalar<'_>> {
        match value {
            Json::String(text) if !text.is_empty() => Some(Scalar::Text(text)),
            Json::Bool(b) => Some(Scalar::Bool(*b)),
            Json::Number(number) => Some(Scalar::Number(number)),
            _ => None,
        }
    }
    match value {
        Some(Json::Array(items)) => items.iter().filter_map(one).collect(),
        Some(value) => one(value).into_iter().collect(),
        None => Vec::new(),
    }
}

impl CompiledClause {
    fn holds(&self, source: &SourceObject) -> bool {
        let values = scalars(source.get(&self.attribute));
        if values.is_empty() {
            return self.operator == ScopeOperator::IsNull;
        }
        values.iter().all(|value| self.holds_for(value))
    }

    fn holds_for(&self, value: &Scalar<'_>) -> bool {
        let texts = || match &self.operand {
            Operand::Texts(texts) => texts.as_slice(),
            _ => &[],
        };
        match self.operator {
            ScopeOperator::IsNull => false,
            ScopeOperator::IsNotNull => true,
            ScopeOperator::IsTrue => value.boolean() == Some(true),
            ScopeOperator::IsFalse => value.boolean() == Some(false),
            ScopeOperator::Equals => {
                let text = value.text();
                texts().contains(&text)
            }
            ScopeOperator::NotEquals => {
                let text = value.text();
                !texts().contains(&text)
            }
            ScopeOperator::ContainedIn => {
                let text = value.text();
                texts().iter().any(|target| target.contains(text.as_str()))
            }
            ScopeOperator::NotContainedIn => {
                let text = value.text();
                !texts().iter().any(|target| target.contains(text.as_str()))
            }
            ScopeOperator::Includes => {
                let text = value.text();
                texts().iter().any(|target| text.contains(target.as_str()))
            }
            ScopeOperator::EndsWith => {
                let text = value.text();
                texts().iter().any(|target| text.ends_with(target.as_str()))
            }
            ScopeOperator::GreaterThan | ScopeOperator::GreaterThanOrEquals => {
                let (Some(integer), Operand::Integers(targets)) = (value.integer(), &self.operand)
                else {
                    return false;
                };
                targets.iter().any(|target| {
                    if self.operator == ScopeOperator::GreaterThan {
                        integer > *target
                    } else {
                        integer >= *target
                    }
                })
            }
            ScopeOperator::RegexMatch | ScopeOperator::NotRegexMatch => {
                let Operand::Regexes(regexes) = &self.operand else {
                    return false;
                };
                let text = value.text();
                let matched = regexes.iter().any(|regex| regex.is_match(&text));
                matched == (self.operator == ScopeOperator::RegexMatch)
            }
        }
    }
}
