//! Graph's `attributeMappingSource` form of an expression (what `schema/parseExpression`
//! returns and `attributeMapping.source` holds), both ways.
//!
//! `{"type": "Function"|"Attribute"|"Constant", "name": …, "expression": …,
//!   "parameters": [{"key": "<parameter name>", "value": attributeMappingSource}]}`
//!
//! Parameter keys are the catalogue's parameter names; a repeatable parameter repeats its key;
//! skipped optional slots are left out. Two provisio choices where Graph documents nothing:
//! a number keeps its literal (`expression` `8` or `&HF`, not `"8"`), so it prints back as
//! written; an IIF comparison is a `Function` named by its operator (`=`, `<>`, …) with the
//! keys `left` and `right`.

use serde_json::{json, Value as Json};

use crate::ast::{CompareOp, Expr};
use crate::catalogue;
use crate::parse::parse;

/// Why a JSON document is not an `attributeMappingSource`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid attributeMappingSource at {path}: {message}")]
pub struct MappingSourceError {
    /// Where in the document, as a JSON pointer.
    pub path: String,
    pub message: String,
}

/// The tree in Graph's `attributeMappingSource` shape.
pub fn to_graph(expr: &Expr) -> Json {
    let (kind, name, parameters): (&str, String, Vec<Json>) = match expr {
        Expr::Call { name, args, .. } => {
            let def = catalogue::lookup(name);
            let mut cursor = 0;
            let mut parameters = Vec::new();
            for (i, arg) in args.iter().enumerate() {
                if matches!(arg, Expr::Empty { .. }) {
                    continue;
                }
                // The parameter's name, unless reading it back would place it in an earlier
                // slot (a repeated parameter after a skipped one): then its position.
                let key = def
                    .and_then(|def| def.param_for_slot(i))
                    .filter(|param| named_slot(name, param.name, cursor) == Some(i))
                    .map_or_else(|| format!("arg{}", i + 1), |param| param.name.to_string());
                parameters.push(json!({ "key": key, "value": to_graph(arg) }));
                cursor = i + 1;
            }
            ("Function", name.clone(), parameters)
        }
        Expr::Attribute { name, .. } => ("Attribute", name.clone(), Vec::new()),
        Expr::Str { value, .. } => ("Constant", value.clone(), Vec::new()),
        Expr::Number { text, .. } => ("Constant", text.clone(), Vec::new()),
        Expr::Compare {
            op, left, right, ..
        } => (
            "Function",
            op.symbol().to_string(),
            vec![
                json!({ "key": "left", "value": to_graph(left) }),
                json!({ "key": "right", "value": to_graph(right) }),
            ],
        ),
        Expr::Empty { .. } => ("Constant", String::new(), Vec::new()),
    };
    json!({
        "type": kind,
        "name": name,
        "expression": expr.to_string(),
        "parameters": parameters,
    })
}

/// Reads an `attributeMappingSource` back into a tree. `expression` is not trusted: the tree
/// is rebuilt from `type`, `name` and `parameters`.
pub fn from_graph(json: &Json) -> Result<Expr, MappingSourceError> {
    read(json, "", 0)
}

/// Prints an `attributeMappingSource` as expression text.
pub fn graph_to_text(json: &Json) -> Result<String, MappingSourceError> {
    Ok(from_graph(json)?.to_string())
}

fn error(path: &str, message: impl Into<String>) -> MappingSourceError {
    MappingSourceError {
        path: if path.is_empty() {
            "/".to_string()
        } else {
            path.to_string()
        },
        message: message.into(),
    }
}

fn read(json: &Json, path: &str, depth: usize) -> Result<Expr, MappingSourceError> {
    if depth > crate::parse::MAX_DEPTH {
        return Err(error(path, "nested too deeply"));
    }
    let object = json
        .as_object()
        .ok_or_else(|| error(path, "expected an object"))?;
    let kind = object.get("type").and_then(Json::as_str).ok_or_else(|| {
        error(
            path,
            "expected \"type\": \"Function\", \"Attribute\" or \"Constant\"",
        )
    })?;
    let name = object
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| error(path, "expected a string \"name\""))?;
    let empty = Vec::new();
    let parameters = match object.get("parameters") {
        None | Some(Json::Null) => &empty,
        Some(Json::Array(items)) => items,
        Some(_) => return Err(error(path, "expected \"parameters\" to be an array")),
    };
    match kind {
        "Attribute" => {
            if name.is_empty() || name.contains(['[', ']']) || name.chars().any(char::is_control) {
                return Err(error(path, format!("invalid attribute name \"{name}\"")));
            }
            Ok(Expr::attribute(name))
        }
        "Constant" => {
            // A number literal is kept as such when its expression is unquoted.
            let expression = object.get("expression").and_then(Json::as_str);
            if expression == Some(name) {
                if let Ok(number @ Expr::Number { .. }) = parse(name) {
                    return Ok(number);
                }
            }
            Ok(Expr::string(name))
        }
        "Function" => {
            let mut params = Vec::with_capacity(parameters.len());
            for (i, parameter) in parameters.iter().enumerate() {
                let here = format!("{path}/parameters/{i}");
                let key = parameter
                    .get("key")
                    .and_then(Json::as_str)
                    .ok_or_else(|| error(&here, "expected a string \"key\""))?;
                let value = parameter
                    .get("value")
                    .ok_or_else(|| error(&here, "expected a \"value\""))?;
                params.push((key, read(value, &format!("{here}/value"), depth + 1)?));
            }
            if let Some(op) = CompareOp::from_symbol(name) {
                return compare(op, params, path);
            }
            call(name, params, path)
        }
        other => Err(error(path, format!("unknown type \"{other}\""))),
    }
}

fn compare(
    op: CompareOp,
    params: Vec<(&str, Expr)>,
    path: &str,
) -> Result<Expr, MappingSourceError> {
    let mut left = None;
    let mut right = None;
    for (key, value) in params {
        if matches!(value, Expr::Compare { .. }) {
            return Err(error(path, "a comparison cannot compare comparisons"));
        }
        match key {
            "left" if left.is_none() => left = Some(value),
            "right" if right.is_none() => right = Some(value),
            other => {
                return Err(error(
                    path,
                    format!("unexpected key \"{other}\" of a comparison"),
                ))
            }
        }
    }
    match (left, right) {
        (Some(left), Some(right)) => Ok(Expr::Compare {
            op,
            left: Box::new(left),
            right: Box::new(right),
            span: 0..0,
        }),
        _ => Err(error(path, "a comparison needs \"left\" and \"right\"")),
    }
}

/// The first slot from `cursor` on that function `name`'s parameter `key` fills.
fn named_slot(name: &str, key: &str, cursor: usize) -> Option<usize> {
    let def = catalogue::lookup(name)?;
    let window = def.params.len() + 1;
    (cursor..cursor + window).find(|&slot| def.param_for_slot(slot).is_some_and(|p| p.name == key))
}

fn call(name: &str, params: Vec<(&str, Expr)>, path: &str) -> Result<Expr, MappingSourceError> {
    if name.is_empty()
        || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_numeric())
    {
        return Err(error(path, format!("invalid function name \"{name}\"")));
    }
    let mut args: Vec<Expr> = Vec::new();
    for (key, value) in params {
        let cursor = args.len();
        let slot = match key
            .strip_prefix("arg")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) if n > cursor => Some(n - 1),
            _ => named_slot(name, key, cursor),
        };
        let Some(slot) = slot.filter(|&s| s < cursor + 10_000) else {
            return Err(error(
                path,
                format!("unexpected parameter key \"{key}\" of {name}"),
            ));
        };
        args.resize_with(slot, Expr::empty);
        args.push(value);
    }
    Ok(Expr::call(name, args))
}

/// What Graph's `schema/parseExpression` puts in `parsedExpression`: the text parsed into an
/// `attributeMappingSource`, or the parse error.
pub fn parse_expression(text: &str) -> Result<Json, crate::parse::ParseError> {
    Ok(to_graph(&parse(text)?))
}
