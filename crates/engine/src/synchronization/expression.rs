//! `POST …/schema/parseExpression`: an expression parsed into Graph's
//! `attributeMappingSource` and, given a test object, evaluated over it
//! (`microsoftgraph/microsoft-graph-docs-contrib`,
//! `api-reference/beta/api/synchronization-synchronizationschema-parseexpression.md`).
//!
//! The answer is always `200` with `parsingSucceeded` / `evaluationSucceeded` and the
//! `error` that stopped either; a request without `testInputObject` is parsed only.
//! Unknown functions and wrong arities count as parse failures, since a mapping with them
//! could not be saved either.

use provisio_expr::{FixedEnvironment, Outcome, Program};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseExpressionRequest {
    pub expression: String,
    #[serde(default)]
    pub test_input_object: Option<ExpressionInputObject>,
    /// Accepted and not used: the result is written as the expression yields it.
    #[serde(default)]
    pub target_attribute_definition: Option<Value>,
}

/// `expressionInputObject`: the source object's properties as key/value pairs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ExpressionInputObject {
    #[serde(default)]
    pub definition: Option<Value>,
    #[serde(default)]
    pub properties: Vec<InputProperty>,
}

/// One `stringKeyObjectValuePair` of the test object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InputProperty {
    pub key: String,
    #[serde(default)]
    pub value: Value,
}

/// `publicError`'s code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpressionError {
    pub code: &'static str,
    pub message: String,
}

/// `parseExpressionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseExpressionResponse {
    pub error: Option<ExpressionError>,
    pub evaluation_succeeded: bool,
    pub evaluation_result: Option<Vec<String>>,
    pub parsed_expression: Option<Value>,
    pub parsing_succeeded: bool,
}

/// Parses `request.expression` and evaluates it over the test object, if one is given,
/// with `now` as the clock of `Now()` and friends.
pub fn parse_expression(
    request: &ParseExpressionRequest,
    now: OffsetDateTime,
) -> ParseExpressionResponse {
    let failed = |code, message: String| ParseExpressionResponse {
        error: Some(ExpressionError { code, message }),
        evaluation_succeeded: false,
        evaluation_result: None,
        parsed_expression: None,
        parsing_succeeded: false,
    };
    let tree = match provisio_expr::parse_expression(&request.expression) {
        Ok(tree) => tree,
        Err(e) => return failed("ExpressionParsingFailed", e.to_string()),
    };
    let program = match Program::compile(&request.expression) {
        Ok(program) => program,
        Err(e) => return failed("ExpressionParsingFailed", e.to_string()),
    };
    let mut response = ParseExpressionResponse {
        error: None,
        evaluation_succeeded: false,
        evaluation_result: None,
        parsed_expression: Some(tree),
        parsing_succeeded: true,
    };
    let Some(input) = &request.test_input_object else {
        return response;
    };
    let object: Map<String, Value> = input
        .properties
        .iter()
        .map(|p| (p.key.clone(), p.value.clone()))
        .collect();
    let env = FixedEnvironment::new(now, 0);
    match program.evaluate(&object, &env) {
        Ok(Outcome::Value(value)) => {
            response.evaluation_succeeded = true;
            response.evaluation_result = Some(texts(value.to_json()));
        }
        Ok(Outcome::Ignored) => {
            response.evaluation_succeeded = true;
            response.evaluation_result = Some(Vec::new());
        }
        Err(e) => {
            response.error = Some(ExpressionError {
                code: "ExpressionEvaluationFailed",
                message: e.to_string(),
            });
        }
    }
    response
}

/// `evaluationResult` is a list of strings: one per value, none for null.
fn texts(value: Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(values) => values.into_iter().flat_map(texts).collect(),
        other => vec![other.to_string()],
    }
}
