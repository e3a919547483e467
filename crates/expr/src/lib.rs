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
//! # Semantics, and where provisio differs from Entra on purpose
//!
//! - Values are typed (String, Boolean, Integer, DateTime, Reference, Binary, complex, null,
//!   multi-valued). Where a function wants text, booleans read `True`/`False`, DateTimes read
//!   as `M/d/yyyy h:mm:ss tt` in UTC, which is also how [`Value::to_json`] writes a result
//!   (CDate, DateAdd and Now return that string, Microsoft's reference says). A DateTime stays
//!   typed inside the interpreter, so date functions take it without parsing it again, and
//!   [`Value::to_json_iso8601`] writes it as ISO 8601 for a SCIM `dateTime` attribute.
//! - String functions applied to a multi-valued value map over its values (`ToLower([proxyAddresses])`);
//!   given null they return null, except `Left` and `Word` (documented to give `""`) and
//!   `Join`, `Coalesce`, `Switch`, the `Is…` tests, `Count` and `CBool` (False).
//! - **Switch**: Entra documents that Switch yields null when only another attribute of the
//!   object changed (it evaluates from the delta). provisio always evaluates from the whole
//!   source object, so the result depends only on the expression and the object.
//! - **IIF on null**: Entra fails when the condition reads a null attribute. provisio compares
//!   null as the empty string (so `IIF([x]="", …)` works), and a null condition is false.
//! - **SingleAppRoleAssignment** with several roles is undefined in Entra; provisio returns the
//!   first role's value.
//! - **AppRoleAssignmentsComplex** and **AssertiveAppRoleAssignmentsComplex** evaluate to the
//!   same roles; whether the target's other roles are kept (add-only) or replaced is the
//!   engine's concern when it diffs, not the expression's.
//! - **Coalesce** skips empty strings as well as nulls (an empty string never flows in SCIM).
//! - **NormalizeDiacritics** maps every character of the reference's table as it says (`ø`,
//!   `ø̄`, `œ̄` → `oe`, `Ø` → `OE`, `ß` → `ss`, `æ` → `ae`, `ł` → `l`), precomposed or
//!   decomposed. Beyond the table it takes apart any Latin letter with marks (`ǿ` → `oe`,
//!   `ẞ` → `SS`, `þ` → `th`, `đ` → `d`, `ĳ` → `ij`); the page does not say what Entra does with
//!   those. Other scripts keep their marks (`が`, `й`).
//! - **PCase** without separators lowers words written in capitals too (`NEDA JONES` →
//!   `Neda Jones`, as Microsoft's examples show), unlike .NET's `ToTitleCase`.
//! - **FormatDateTime**: `dateTimeStyles` names are validated but change nothing, because
//!   every time is UTC (as .NET's local time is on Entra's servers).
//! - **IgnoreFlowIfNullOrEmpty** suppresses the whole attribute's flow wherever it appears in
//!   the expression (Entra documents it only as the outermost function).
//! - **Redact** returns its argument; [`Program::redacts`] tells logs to show `[Redact]`.
//! - Comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`) are allowed in any argument, not only in
//!   IIF's condition (Microsoft's own `CBool([a] = [b])` example needs that).

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
