//! The attribute-mapping expression language of Microsoft Entra ID provisioning: parser,
//! checker, compiler, interpreter and function catalogue. No IO.
//!
//! ```
//! use provisio_expr::{FixedEnvironment, Outcome, Program, Value};
//! let program = Program::compile(r#"Join(" ", [givenName], [surname])"#).unwrap();
//! let user = serde_json::json!({"givenName": "Ann", "Surname": "Lee"});
//! let env = FixedEnvironment::new(time::OffsetDateTime::UNIX_EPOCH, 1);
//! assert_eq!(program.evaluate(&user, &env).unwrap(), Outcome::Value(Value::string("Ann Lee")));
//! ```
//!
//! - [`parse()`] turns text into an [`Expr`] (spans on every node) or a [`ParseError`] that says
//!   what was expected and at which column; [`Expr`]'s `Display` prints it back.
//! - [`check()`] finds unknown functions and attributes (with "did you mean"), wrong arities and
//!   missing required arguments.
//! - [`Program::compile`] resolves functions to [`Func`] and attribute names to their lower
//!   case once; [`Program::evaluate`] runs over any [`Source`] (a JSON object, attribute names
//!   case-insensitive) with an injected [`Environment`] (clock, randomness, default domain,
//!   SelectUniqueValue's uniqueness probe).
//! - [`catalogue`] is the function list as data, and [`function_schemas_json`] its Graph
//!   `schema/functions` rendering; [`to_graph`] / [`from_graph`] convert to and from Graph's
//!   `attributeMappingSource`.
//!
//! # Semantics, checked against Microsoft's reference
//!
//! "The reference" is Microsoft's function reference, `MicrosoftDocs/entra-docs`,
//! `docs/identity/app-provisioning/functions-for-customizing-application-data.md`; every
//! example on it is a test row in `tests/functions.rs`.
//!
//! - Values are typed (String, Boolean, Integer, DateTime, Reference, Binary, complex, null,
//!   multi-valued). Where a function wants text, booleans read `True`/`False`, DateTimes read
//!   as `M/d/yyyy h:mm:ss tt` in UTC, which is also how [`Value::to_json`] writes a result
//!   (the reference: CDate, DateAdd and Now return that string). A DateTime stays typed
//!   inside the interpreter, so date functions take it without parsing it again, and
//!   [`Value::to_json_iso8601`] writes it as ISO 8601 for a SCIM `dateTime` attribute.
//! - String functions applied to a multi-valued value map over its values (`ToLower([proxyAddresses])`);
//!   given null they return null, except `Left` and `Word` (the reference: `""`), `Not`
//!   (the reference: True unless the source is True), and `Join`, `Coalesce`, `Switch`, the
//!   `Is…` tests, `Count` and `CBool` (False).
//! - **Join** skips null and empty values (the reference's `Join(", ", "", [surname],
//!   [givenName])` is `Doe, John`); **Split** trims each part (its example splits
//!   `PermissionSetOne, PermissionSetTwo` at `,` into `PermissionSetOne` and
//!   `PermissionSetTwo`).
//! - **PCase** without separators lowers words written in capitals too (`PABLO GONSALVES
//!   (SECOND)` → `Pablo Gonsalves (Second)`), as the reference's examples show, although it
//!   says PCase calls .NET's `ToTitleCase`, which leaves such words alone.
//! - **NormalizeDiacritics** maps every character of the reference's table as it says (`ø`,
//!   `ø̄`, `œ̄` → `oe`, `Ø` → `OE`, `ß` → `ss`, `æ` → `ae`, `ł` → `l`), precomposed or
//!   decomposed.
//! - **Redact** returns its argument; [`Program::redacts`] tells logs to show `[Redact]`.
//!
//! # Where provisio differs from the reference on purpose
//!
//! - **Switch**: the reference warns that Switch yields null when only another attribute of
//!   the object changed (Entra evaluates from the delta). provisio always evaluates from the
//!   whole source object, so the result depends only on the expression and the object.
//! - **IIF on null**: the reference says the condition check fails when the attribute it
//!   reads is null or empty, and lists `IIF([country]="","Other",[country])` as unsupported.
//!   provisio compares null as the empty string (so that expression gives `Other`), and a
//!   null condition is false.
//! - **Coalesce** skips empty strings as well as nulls (the reference: "the first source
//!   value that isn't NULL"), because an empty string never flows in SCIM; when nothing
//!   qualifies, a last argument of `""` (the reference's empty defaultValue) is returned.
//! - **SelectUniqueValue**: the reference supports it only towards on-premises Active
//!   Directory and escrows the entry when every candidate is taken. provisio asks the target
//!   through [`Environment::is_unique`] whatever it is, and fails the evaluation naming the
//!   candidates. As the reference says, it must be the outermost function.
//! - Functions the reference does not list: `ConvertFromBase64`, `DefaultDomain`, `Error`
//!   and `AssertiveAppRoleAssignmentsComplex`; DateAdd and DateDiff also take VBA's `q`
//!   (quarter), `y` and `w` (day) intervals besides the reference's seven.
//!
//! # Where the reference is silent, and what provisio does
//!
//! - **SingleAppRoleAssignment** with several roles "isn't supported"; provisio returns the
//!   first role's value.
//! - **AppRoleAssignmentsComplex** and **AssertiveAppRoleAssignmentsComplex** evaluate to the
//!   same roles; whether the target's other roles are kept (add-only) or replaced is the
//!   engine's concern when it diffs, not the expression's.
//! - **IgnoreFlowIfNullOrEmpty** suppresses the whole attribute's flow wherever it appears in
//!   the expression (the reference's examples use it outermost).
//! - **NormalizeDiacritics** takes apart any Latin letter with marks, beyond the table
//!   (`ǿ` → `oe`, `ẞ` → `SS`, `þ` → `th`, `đ` → `d`, `ĳ` → `ij`); other scripts keep their
//!   marks (`が`, `й`).
//! - **FormatDateTime**: `dateTimeStyles` names are validated but change nothing, because
//!   every time is UTC (as .NET's local time is on Entra's servers).
//! - Comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`) are allowed in any argument, not only in
//!   IIF's condition where the reference lists them (its own `CBool([attribute1] =
//!   [attribute2])` example needs that).
//!
//! # Examples of the reference whose output provisio does not give
//!
//! - `Replace([mobile], , "[()\\s-]+", , "", , )` over `+1 (999) 888-7777`: the reference
//!   says `19998887777`, but the pattern does not match `+` (in .NET either); provisio gives
//!   `+19998887777`.
//! - `Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))`: the
//!   reference's output was computed from another object ID than the
//!   `00aa00aa-bb11-cc22-dd33-44ee44ee44ee` it shows; provisio gives the result for that ID.
//! - `Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]), …)`
//!   has no output on the page, and the reference's Switch caution says not to use IsPresent
//!   as the source. provisio evaluates it as written: it compares `True`/`False`, so with
//!   both managers present it gives `[skiplevelManager]`, not the first present manager.

pub mod ast;
pub mod catalogue;
pub mod check;
pub mod datetime;
pub mod eval;
pub mod graph;
pub mod parse;
pub mod text;
pub mod value;

pub use ast::{CompareOp, Expr, Span};
pub use catalogue::{function_schemas_json, Func, FunctionDef, FUNCTIONS};
pub use check::{check, CheckError};
pub use eval::{
    CompileError, Environment, EvalError, FixedEnvironment, Outcome, Program, Source,
    SystemEnvironment,
};
pub use graph::{from_graph, graph_to_text, parse_expression, to_graph, MappingSourceError};
pub use parse::{parse, ParseError, MAX_DEPTH, MAX_LENGTH};
pub use value::Value;
