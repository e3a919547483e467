//! Attribute mapping: an `objectMapping` compiled once, then evaluated over source objects
//! into the SCIM resource the target should hold, the references still to resolve, and the
//! values to match the target by.
//!
//! Behaviour taken from MicrosoftDocs/entra-docs, `docs/identity/app-provisioning/`:
//! - `customize-application-attributes.md`: "Always" flows on create and update, "Only during
//!   creation" (`ObjectAddOnly`) on create only; the default value "is only provisioned when a
//!   user is created" and is used when the source is null; Entra "doesn't support
//!   provisioning null values"; matching attributes are tried in matching precedence order.
//! - `use-scim-to-provision-users-and-groups.md`: the POST body (`active` a JSON boolean, the
//!   work e-mail marked `"primary": true`, `schemas` and `meta.resourceType`); groups are
//!   created without members, which are added by PATCH once their ids are known.
//! - `functions-for-customizing-application-data.md`: `IgnoreFlowIfNullOrEmpty` leaves the
//!   attribute out.
//!
//! Where they are silent, provisio chooses:
//! - A value is shaped by the target attribute's type: Boolean takes `true`/`false` or the text
//!   `True`/`False`; DateTime is written as ISO 8601 in UTC (RFC 7643 §2.3.5), from a typed
//!   DateTime, an ISO 8601 text or Entra's `M/d/yyyy h:mm:ss tt`; Integer takes numbers and
//!   their text. A value that does not fit fails the object rather than sending the target
//!   something it would reject.
//! - Reference attributes (`manager`, `members`) yield the source ids they name, to be turned
//!   into target ids through links; they never appear in the resource itself.
//! - Attribute names take the SCIM schema's spelling where it has the attribute
//!   (`addresses[type eq "other"].Formatted` writes `formatted`).
//! - A mapping without a source (the admin center's "None") flows its default value on
//!   create; on update it needs the target's current value, which the diff step has.

use provisio_expr::{
    check, from_graph, parse, CheckError, CompileError, Environment, EvalError, Expr,
    MappingSourceError, Outcome, ParseError, Program, Value,
};
use provisio_scim::filter::{CompValue, CompareOp, Filter as ScimFilter};
use provisio_scim::path::{PatchPath, PathError};
use provisio_scim::schema::{AttrType, ResourceType, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value as Json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::model::{
    AttributeFlowType, AttributeMapping, AttributeType, FlowTypes, ObjectDefinition, ObjectMapping,
    SynchronizationRule, SynchronizationSchema,
};
use crate::source::SourceObject;
use crate::template::scim_resource_schemas;

/// Multi-valued elements Entra marks primary when it creates them: the work e-mail (the SCIM
/// page's POST body).
const PRIMARY_ELEMENTS: &[(&str, &str)] = &[("emails", "work")];

/// Why an object mapping cannot be compiled or evaluated. Each names the target attribute
/// of the mapping at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    #[error("the schema has no object \"{object}\" in directory \"{directory}\"")]
    UnknownObject { directory: String, object: String },
    #[error("mapping to \"{target}\": {error}")]
    Source {
        target: String,
        error: MappingSourceError,
    },
    #[error("mapping to \"{target}\": {error}")]
    Parse { target: String, error: ParseError },
    #[error("mapping to \"{target}\": {error} in {expression}")]
    Check {
        target: String,
        expression: String,
        error: CheckError,
    },
    #[error("mapping to \"{target}\": {error}")]
    Compile { target: String, error: CompileError },
    #[error("mapping to \"{target}\" has neither a source nor a default value")]
    NothingToFlow { target: String },
    #[error("target attribute \"{target}\": {error}")]
    TargetPath { target: String, error: PathError },
    #[error("target attribute \"{target}\": {reason}")]
    UnsupportedTarget {
        target: String,
        reason: &'static str,
    },
    #[error("target attribute \"{target}\" overlaps the target of another mapping")]
    Overlap { target: String },
    #[error("mapping to \"{target}\": {error}")]
    Evaluate { target: String, error: EvalError },
    #[error("mapping to \"{target}\": \"{value}\" is not {expected}")]
    WrongType {
        target: String,
        expected: &'static str,
        value: String,
    },
}

/// Create (every mapping flows) or update (`ObjectAddOnly` mappings are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// A reference attribute's value: source object ids, to become target ids through links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredReference {
    /// The target attribute as the mapping names it (`members`,
    /// `urn:…:enterprise:2.0:User:manager`).
    pub target_attribute: String,
    pub source_ids: Vec<String>,
}

/// What the target should hold for one source object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// The SCIM resource's attributes in canonical form, without `schemas`, `meta` and
    /// references.
    pub attributes: Map<String, Json>,
    /// References, resolved in a later pass.
    pub references: Vec<DesiredReference>,
}

impl Desired {
    /// The body of `POST /Users` or `POST /Groups`: `schemas`, the attributes, and
    /// `meta.resourceType`, as the SCIM page shows Entra's requests.
    pub fn post_body(&self, target_object: &str) -> Json {
        let mut body = Map::new();
        body.insert(
            "schemas".to_string(),
            Json::from(scim_resource_schemas(target_object).to_vec()),
        );
        body.extend(self.attributes.clone());
        let resource_type = if target_object.eq_ignore_ascii_case("Group") {
            "Group"
        } else {
            "User"
        };
        body.insert(
            "meta".to_string(),
            serde_json::json!({ "resourceType": resource_type }),
        );
        Json::Object(body)
    }
}

/// One value to look the target object up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchingValue {
    pub priority: i32,
    /// The target attribute to filter on (`userName eq "…"`).
    pub target_attribute: String,
    pub value: String,
}

/// The result of evaluating a mapping over one source object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub desired: Desired,
    /// Matching attributes with a value, lowest priority first. Empty means the object
    /// cannot be matched (Entra skips it).
    pub matching: Vec<MatchingValue>,
}

/// Where a target attribute's value goes in the resource.
#[derive(Debug, Clone, PartialEq)]
enum Placement {
    /// `userName`, `name.givenName`, `urn:…:User:employeeNumber`.
    Plain {
        extension: Option<String>,
        name: String,
        sub: Option<String>,
    },
    /// `emails[type eq "work"].value`: the element whose `selector` attributes equal these.
    Element {
        extension: Option<String>,
        name: String,
        selector: Vec<(String, Json)>,
        sub: String,
    },
}

#[derive(Debug)]
struct CompiledAttribute {
    target: String,
    placement: Placement,
    value_type: AttributeType,
    multivalued: bool,
    program: Option<Program>,
    default_value: Option<String>,
    flow_type: AttributeFlowType,
    matching_priority: i32,
}

/// An object mapping ready to evaluate: expressions compiled, target paths resolved.
#[derive(Debug)]
pub struct CompiledObjectMapping {
    pub source_object_name: String,
    pub target_object_name: String,
    pub flow_types: FlowTypes,
    attributes: Vec<CompiledAttribute>,
}

impl CompiledObjectMapping {
    /// Compiles `mapping`, one of `rule`'s, against the object definitions `schema` holds.
    pub fn compile_in(
        schema: &SynchronizationSchema,
        rule: &SynchronizationRule,
        mapping: &ObjectMapping,
    ) -> Result<CompiledObjectMapping, MappingError> {
        let definition = |directory: &str, object: &str| {
            schema
                .directory(directory)
                .and_then(|d| d.object(object))
                .ok_or_else(|| MappingError::UnknownObject {
                    directory: directory.to_string(),
                    object: object.to_string(),
                })
        };
        let source = definition(&rule.source_directory_name, &mapping.source_object_name)?;
        let target = definition(&rule.target_directory_name, &mapping.target_object_name)?;
        CompiledObjectMapping::compile(mapping, Some(source), target)
    }

    /// Compiles `mapping`. With `source`, attribute names in expressions are checked against
    /// it; `target` gives each target attribute's type.
    pub fn compile(
        mapping: &ObjectMapping,
        source: Option<&ObjectDefinition>,
        target: &ObjectDefinition,
    ) -> Result<CompiledObjectMapping, MappingError> {
        let resource_type = if mapping.target_object_name.eq_ignore_ascii_case("Group") {
            ResourceType::group(Vec::new())
        } else {
            ResourceType::user(Vec::new())
        };
        let source_names: Option<Vec<&str>> =
            source.map(|d| d.attributes.iter().map(|a| a.name.as_str()).collect());
        let mut attributes = Vec::with_capacity(mapping.attribute_mappings.len());
        for attribute in &mapping.attribute_mappings {
            attributes.push(compile_attribute(
                attribute,
                source_names.as_deref(),
                target,
                &resource_type,
            )?);
        }
        Ok(CompiledObjectMapping {
            source_object_name: mapping.source_object_name.clone(),
            target_object_name: mapping.target_object_name.clone(),
            flow_types: mapping.flow_types,
            attributes,
        })
    }

    /// The target attributes whose mapping calls `Redact`: provisioning logs show
    /// `[Redact]` instead of their values.
    pub fn redacted_targets(&self) -> impl Iterator<Item = &str> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.program.as_ref().is_some_and(Program::redacts))
            .map(|attribute| attribute.target.as_str())
    }

    /// Puts a resolved single-valued reference (a manager's account id) where the mapping of
    /// `target` places it, as `{"value": id}`: a create can carry the reference when the
    /// account it names exists already.
    pub fn place_reference(
        &self,
        attributes: &mut Map<String, Json>,
        target: &str,
        target_id: &str,
    ) -> Result<(), MappingError> {
        match self
            .attributes
            .iter()
            .find(|attribute| attribute.target.eq_ignore_ascii_case(target))
        {
            Some(attribute) => place(
                attributes,
                attribute,
                serde_json::json!({ "value": target_id }),
            ),
            None => Err(MappingError::UnsupportedTarget {
                target: target.to_string(),
                reason: "no attribute mapping targets it",
            }),
        }
    }

    /// Evaluates the mapping over `source` for `operation`.
    pub fn evaluate(
        &self,
        source: &SourceObject,
        operation: Operation,
        env: &dyn Environment,
    ) -> Result<Evaluation, MappingError> {
        let mut evaluation = Evaluation::default();
        for attribute in &self.attributes {
            let flows = operation == Operation::Create
                || attribute.flow_type != AttributeFlowType::ObjectAddOnly;
            if !flows && attribute.matching_priority <= 0 {
                continue;
            }
            let outcome = match &attribute.program {
                Some(program) => {
                    program
                        .evaluate(source, env)
                        .map_err(|error| MappingError::Evaluate {
                            target: attribute.target.clone(),
                            error,
                        })?
                }
                None => Outcome::Value(Value::Null),
            };
            let Outcome::Value(mut value) = outcome else {
                continue;
            };
            if is_empty(&value) {
                match (&attribute.default_value, operation) {
                    (Some(default), Operation::Create) => value = Value::string(default.as_str()),
                    _ => continue,
                }
            }
            if attribute.matching_priority > 0 {
                if let Some(text) = value.as_text().filter(|text| !text.is_empty()) {
                    evaluation.matching.push(MatchingValue {
                        priority: attribute.matching_priority,
                        target_attribute: attribute.target.clone(),
                        value: text.into_owned(),
                    });
                }
            }
            if !flows {
                continue;
            }
            if attribute.value_type == AttributeType::Reference {
                let source_ids = reference_ids(&value);
                if !source_ids.is_empty() {
                    evaluation.desired.references.push(DesiredReference {
                        target_attribute: attribute.target.clone(),
                        source_ids,
                    });
                }
                continue;
            }
            let json = attribute.to_json(&value)?;
            place(&mut evaluation.desired.attributes, attribute, json)?;
        }
        evaluation
            .matching
            .sort_by_key(|matching| matching.priority);
        Ok(evaluation)
    }
}

fn compile_attribute(
    mapping: &AttributeMapping,
    source_names: Option<&[&str]>,
    target: &ObjectDefinition,
    resource_type: &ResourceType,
) -> Result<CompiledAttribute, MappingError> {
    let name = mapping.target_attribute_name.as_str();
    let (placement, scim_type) = placement(name, resource_type)?;
    let definition = target.attribute(name);
    let value_type = match definition {
        Some(definition) => definition.attribute_type.clone(),
        None => match scim_type {
            Some(AttrType::Boolean) => AttributeType::Boolean,
            Some(AttrType::DateTime) => AttributeType::DateTime,
            Some(AttrType::Integer) => AttributeType::Integer,
            Some(AttrType::Reference) => AttributeType::Reference,
            Some(AttrType::Binary) => AttributeType::Binary,
            _ => AttributeType::String,
        },
    };
    let program = match &mapping.source {
        Some(source) => Some(compile_source(name, source, source_names)?),
        None => None,
    };
    let default_value = mapping.default_value.clone().filter(|d| !d.is_empty());
    if program.is_none() && default_value.is_none() {
        return Err(MappingError::NothingToFlow {
            target: name.to_string(),
        });
    }
    Ok(CompiledAttribute {
        target: name.to_string(),
        placement,
        value_type,
        multivalued: definition.is_some_and(|d| d.multivalued),
        program,
        default_value,
        flow_type: mapping.flow_type.clone(),
        matching_priority: mapping.matching_priority,
    })
}

/// The source as a tree: Graph's form when it has one (a `name`; `type` defaults to
/// `Attribute`, as Graph's attributeMappingSource page says), else its `expression` text.
fn compile_source(
    target: &str,
    source: &crate::model::AttributeMappingSource,
    source_names: Option<&[&str]>,
) -> Result<Program, MappingError> {
    let expr: Expr = match (&source.expression, &source.name) {
        (Some(text), None) => parse(text).map_err(|error| MappingError::Parse {
            target: target.to_string(),
            error,
        })?,
        _ => {
            let mut json = serde_json::to_value(source).map_err(|error| MappingError::Source {
                target: target.to_string(),
                error: MappingSourceError {
                    path: "/".to_string(),
                    message: error.to_string(),
                },
            })?;
            if json.get("type").is_none_or(Json::is_null) {
                json["type"] = Json::from("Attribute");
            }
            from_graph(&json).map_err(|error| MappingError::Source {
                target: target.to_string(),
                error,
            })?
        }
    };
    let text = expr.to_string();
    // Checked against the printed text so that columns in messages point into it.
    let expr = parse(&text).map_err(|error| MappingError::Parse {
        target: target.to_string(),
        error,
    })?;
    if let Some(error) = check(&expr, &text, source_names).into_iter().next() {
        return Err(MappingError::Check {
            target: target.to_string(),
            expression: text,
            error,
        });
    }
    Program::from_expr(&expr, &text).map_err(|error| MappingError::Compile {
        target: target.to_string(),
        error,
    })
}

/// Resolves a target attribute name into where its value goes, with the SCIM schema's type
/// of the attribute when the schema knows it.
fn placement(
    target: &str,
    resource_type: &ResourceType,
) -> Result<(Placement, Option<AttrType>), MappingError> {
    let unsupported = |reason| MappingError::UnsupportedTarget {
        target: target.to_string(),
        reason,
    };
    let path = PatchPath::parse(target).map_err(|error| MappingError::TargetPath {
        target: target.to_string(),
        error,
    })?;
    let extension = path.attr.urn.clone().filter(|urn| {
        !urn.eq_ignore_ascii_case(USER_SCHEMA) && !urn.eq_ignore_ascii_case(GROUP_SCHEMA)
    });
    let urn = path.attr.urn.as_deref();
    let known = resource_type
        .lookup(urn, &path.attr.name, None)
        .map(|(a, _)| a);
    let name = known.map_or(path.attr.name.clone(), |a| a.name.clone());
    let sub_name = |sub: &str| {
        known
            .and_then(|a| a.sub_attribute(sub))
            .map_or(sub.to_string(), |s| s.name.clone())
    };
    let sub_type = |sub: &str| {
        known
            .and_then(|a| a.sub_attribute(sub))
            .map(|s| s.attr_type)
    };
    match (&path.filter, &path.sub_after_filter) {
        (None, _) => {
            let sub = path.attr.sub.as_deref();
            let scim_type = match sub {
                Some(sub) => sub_type(sub),
                None => known.map(|a| a.attr_type),
            };
            Ok((
                Placement::Plain {
                    extension,
                    name,
                    sub: sub.map(sub_name),
                },
                scim_type,
            ))
        }
        (Some(_), None) => Err(unsupported(
            "a value filter must be followed by the sub-attribute it sets",
        )),
        (Some(filter), Some(sub)) => {
            let mut selector = Vec::new();
            collect_selector(filter, &mut selector).ok_or_else(|| {
                unsupported("only `eq` comparisons joined by `and` can select an element")
            })?;
            let selector = selector
                .into_iter()
                .map(|(field, value)| {
                    let value = match value {
                        // `roles[primary eq "True"]`: Entra writes booleans as text in paths.
                        Json::String(text) if sub_type(&field) == Some(AttrType::Boolean) => {
                            match text.to_ascii_lowercase().as_str() {
                                "true" => Json::Bool(true),
                                "false" => Json::Bool(false),
                                _ => Json::String(text),
                            }
                        }
                        other => other,
                    };
                    (sub_name(&field), value)
                })
                .collect();
            Ok((
                Placement::Element {
                    extension,
                    name,
                    selector,
                    sub: sub_name(sub),
                },
                sub_type(sub),
            ))
        }
    }
}

fn collect_selector(filter: &ScimFilter, into: &mut Vec<(String, Json)>) -> Option<()> {
    match filter {
        ScimFilter::And(left, right) => {
            collect_selector(left, into)?;
            collect_selector(right, into)
        }
        ScimFilter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub.is_none() => {
            let value = match value {
                CompValue::Str(text) => Json::String(text.clone()),
                CompValue::Bool(b) => Json::Bool(*b),
                CompValue::Num(number) => Json::Number(number.clone()),
                CompValue::Null => return None,
            };
            into.push((path.name.clone(), value));
            Some(())
        }
        _ => None,
    }
}

/// Null, empty text, or values that are all empty: Entra sends nothing for these.
fn is_empty(value: &Value<'_>) -> bool {
    match value {
        Value::MultiValued(items) => items.iter().all(is_empty),
        other => other.is_null_or_empty(),
    }
}

/// The object ids a reference value names: ids as text, or objects carrying `id`,
/// `objectId` or `value`.
fn reference_ids(value: &Value<'_>) -> Vec<String> {
    value
        .values()
        .iter()
        .filter_map(|item| match item {
            Value::String(id) | Value::Reference(id) if !id.is_empty() => Some(id.to_string()),
            Value::Complex(map) => ["id", "objectId", "value"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Json::as_str))
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            _ => None,
        })
        .collect()
}

impl CompiledAttribute {
    fn wrong_type(&self, expected: &'static str, value: &Value<'_>) -> MappingError {
        MappingError::WrongType {
            target: self.target.clone(),
            expected,
            value: value
                .as_text()
                .map_or_else(|| value.to_json().to_string(), |t| t.into_owned()),
        }
    }

    fn to_json(&self, value: &Value<'_>) -> Result<Json, MappingError> {
        if self.multivalued {
            let mut items = Vec::new();
            for item in value.values() {
                if !is_empty(item) {
                    items.push(self.scalar_json(item)?);
                }
            }
            return Ok(Json::Array(items));
        }
        match value {
            Value::MultiValued(items) => match items.iter().find(|item| !is_empty(item)) {
                Some(first) => self.scalar_json(first),
                None => Ok(Json::Null),
            },
            single => self.scalar_json(single),
        }
    }

    fn scalar_json(&self, value: &Value<'_>) -> Result<Json, MappingError> {
        Ok(match self.value_type {
            AttributeType::Boolean => match value {
                Value::Boolean(b) => Json::Bool(*b),
                other => match other.as_text().as_deref().map(str::trim) {
                    Some(text) if text.eq_ignore_ascii_case("true") => Json::Bool(true),
                    Some(text) if text.eq_ignore_ascii_case("false") => Json::Bool(false),
                    _ => return Err(self.wrong_type("a boolean", value)),
                },
            },
            AttributeType::Integer => match value.as_integer() {
                Some(integer) if !matches!(value, Value::Boolean(_)) => Json::from(integer),
                _ => return Err(self.wrong_type("an integer", value)),
            },
            AttributeType::DateTime => match date_time(value) {
                Some(date) => Json::String(provisio_expr::datetime::iso8601(date)),
                None => return Err(self.wrong_type("a date and time", value)),
            },
            AttributeType::Binary => value.to_json(),
            _ => match value {
                Value::Complex(map) => Json::Object(map.as_ref().clone()),
                other => match other.as_text() {
                    Some(text) => Json::String(text.into_owned()),
                    None => Json::Null,
                },
            },
        })
    }
}

fn date_time(value: &Value<'_>) -> Option<OffsetDateTime> {
    match value {
        Value::DateTime(date) => Some(*date),
        Value::String(text) => {
            let text = text.trim();
            OffsetDateTime::parse(text, &Rfc3339)
                .map(|date| date.to_offset(UtcOffset::UTC))
                .ok()
                .or_else(|| provisio_expr::datetime::parse_general(text))
        }
        _ => None,
    }
}

fn place(
    attributes: &mut Map<String, Json>,
    attribute: &CompiledAttribute,
    json: Json,
) -> Result<(), MappingError> {
    if json.is_null() {
        return Ok(());
    }
    let overlap = || MappingError::Overlap {
        target: attribute.target.clone(),
    };
    let (extension, name) = match &attribute.placement {
        Placement::Plain {
            extension, name, ..
        }
        | Placement::Element {
            extension, name, ..
        } => (extension, name),
    };
    let container = match extension {
        Some(urn) => attributes
            .entry(urn.clone())
            .or_insert_with(|| Json::Object(Map::new()))
            .as_object_mut()
            .ok_or_else(overlap)?,
        None => attributes,
    };
    match &attribute.placement {
        Placement::Plain { sub: None, .. } => {
            container.insert(name.clone(), json);
        }
        Placement::Plain { sub: Some(sub), .. } => {
            container
                .entry(name.clone())
                .or_insert_with(|| Json::Object(Map::new()))
                .as_object_mut()
                .ok_or_else(overlap)?
                .insert(sub.clone(), json);
        }
        Placement::Element { selector, sub, .. } => {
            let elements = container
                .entry(name.clone())
                .or_insert_with(|| Json::Array(Vec::new()))
                .as_array_mut()
                .ok_or_else(overlap)?;
            let found = elements.iter().position(|element| {
                selector
                    .iter()
                    .all(|(field, value)| element.get(field) == Some(value))
            });
            let index = match found {
                Some(index) => index,
                None => {
                    let mut element = Map::new();
                    let primary = PRIMARY_ELEMENTS.iter().any(|(attr, kind)| {
                        name.eq_ignore_ascii_case(attr)
                            && selector.iter().any(|(field, value)| {
                                field == "type" && value.as_str() == Some(*kind)
                            })
                    });
                    if primary {
                        element.insert("primary".to_string(), Json::Bool(true));
                    }
                    for (field, value) in selector {
                        element.insert(field.clone(), value.clone());
                    }
                    elements.push(Json::Object(element));
                    elements.len() - 1
                }
            };
            elements[index]
                .as_object_mut()
                .ok_or_else(overlap)?
                .insert(sub.clone(), json);
        }
    }
    Ok(())
}
