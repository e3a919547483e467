//! The synchronization schema: directories with their object and attribute definitions, and
//! the rules that map one directory's objects onto another's (`synchronizationSchema`,
//! `directoryDefinition`, `objectDefinition`, `attributeDefinition`, `synchronizationRule`,
//! `objectMapping`, `attributeMapping`, `attributeMappingSource`, `filter`, `filterGroup`,
//! `filterClause`, `filterOperand`, `filterOperatorSchema`).

use serde::{Deserialize, Serialize};

use super::flags::FlowTypes;
use super::job::StringKeyStringValuePair;
use super::wire_enum;

/// `synchronizationSchema`: what a job or template synchronises, and how.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationSchema {
    #[serde(default)]
    pub directories: Vec<DirectoryDefinition>,
    #[serde(default)]
    pub synchronization_rules: Vec<SynchronizationRule>,
    /// Bumped by the service on every change; read-only.
    #[serde(default)]
    pub version: Option<String>,
}

impl SynchronizationSchema {
    /// The directory called `name` (Graph compares directory names case-insensitively).
    pub fn directory(&self, name: &str) -> Option<&DirectoryDefinition> {
        self.directories
            .iter()
            .find(|directory| directory.name.eq_ignore_ascii_case(name))
    }
}

/// `directoryDefinition`: one side of a synchronization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryDefinition {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub objects: Vec<ObjectDefinition>,
    #[serde(default)]
    pub read_only: Option<bool>,
    /// Null until the directory has been discovered.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub discovery_date_time: Option<String>,
    /// Flags `None, AttributeNames, AttributeDataTypes, AttributeReadOnly,
    /// ReferenceAttributes, UnknownFutureValue`, kept as written.
    #[serde(default)]
    pub discoverabilities: Option<String>,
}

impl DirectoryDefinition {
    /// The object called `name`, in any letter case.
    pub fn object(&self, name: &str) -> Option<&ObjectDefinition> {
        self.objects
            .iter()
            .find(|object| object.name.eq_ignore_ascii_case(name))
    }
}

/// `objectDefinition`: an object type of a directory (`User`, `Group`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDefinition {
    pub name: String,
    #[serde(default)]
    pub attributes: Vec<AttributeDefinition>,
    #[serde(default)]
    pub metadata: Vec<StringKeyStringValuePair>,
    #[serde(default)]
    pub supported_apis: Vec<String>,
}

impl ObjectDefinition {
    /// The attribute called `name`, in any letter case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDefinition> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
    }
}

wire_enum! {
    /// `attributeType`.
    AttributeType {
        String = "String",
        Integer = "Integer",
        Reference = "Reference",
        Binary = "Binary",
        Boolean = "Boolean",
        DateTime = "DateTime",
    }
}

wire_enum! {
    /// `mutability` of an attribute definition.
    Mutability {
        ReadWrite = "ReadWrite",
        ReadOnly = "ReadOnly",
        Immutable = "Immutable",
        WriteOnly = "WriteOnly",
    }
}

/// `attributeDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDefinition {
    pub name: String,
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    /// The one attribute that identifies an object of this type for good (`objectId` for
    /// Entra users).
    #[serde(default)]
    pub anchor: bool,
    #[serde(default)]
    pub api_expressions: Vec<StringKeyStringValuePair>,
    #[serde(default)]
    pub case_exact: bool,
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub flow_null_values: bool,
    #[serde(default)]
    pub metadata: Vec<StringKeyStringValuePair>,
    #[serde(default)]
    pub multivalued: bool,
    #[serde(default = "read_write")]
    pub mutability: Mutability,
    #[serde(default)]
    pub referenced_objects: Vec<ReferencedObject>,
    #[serde(default)]
    pub required: bool,
}

fn read_write() -> Mutability {
    Mutability::ReadWrite
}

impl AttributeDefinition {
    /// A single-valued, read-write attribute of type `attribute_type`.
    pub fn new(name: &str, attribute_type: AttributeType) -> Self {
        AttributeDefinition {
            name: name.to_string(),
            attribute_type,
            anchor: false,
            api_expressions: Vec::new(),
            case_exact: false,
            default_value: None,
            flow_null_values: false,
            metadata: Vec::new(),
            multivalued: false,
            mutability: Mutability::ReadWrite,
            referenced_objects: Vec::new(),
            required: false,
        }
    }
}

/// `referencedObject`: what a `Reference` attribute points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferencedObject {
    pub referenced_object_name: String,
    #[serde(default)]
    pub referenced_property: Option<String>,
}

/// `synchronizationRule`: one direction of synchronization between two directories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SynchronizationRule {
    /// Known to the engine, set by the template.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub editable: Option<bool>,
    /// Rules run lowest priority first.
    #[serde(default)]
    pub priority: Option<i32>,
    pub source_directory_name: String,
    pub target_directory_name: String,
    #[serde(default)]
    pub object_mappings: Vec<ObjectMapping>,
    #[serde(default)]
    pub metadata: Vec<StringKeyStringValuePair>,
}

/// `objectMapping`: how objects of one type become objects of another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMapping {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The admin center's "Target object actions"; Graph's default is all three.
    #[serde(default)]
    pub flow_types: FlowTypes,
    pub source_object_name: String,
    pub target_object_name: String,
    #[serde(default)]
    pub scope: Option<Filter>,
    #[serde(default)]
    pub attribute_mappings: Vec<AttributeMapping>,
    #[serde(default)]
    pub metadata: Vec<StringKeyStringValuePair>,
}

fn enabled() -> bool {
    true
}

wire_enum! {
    /// `attributeFlowType`: when a mapping flows.
    AttributeFlowType default Always {
        /// On create and on update (the admin center's "Always").
        Always = "Always",
        /// On create only ("Only during object creation").
        ObjectAddOnly = "ObjectAddOnly",
        /// Adds values to a multi-valued attribute, never removes them.
        MultiValueAddOnly = "MultiValueAddOnly",
        /// Adds values, never removes them.
        ValueAddOnly = "ValueAddOnly",
        /// Only when the target attribute is empty.
        AttributeAddOnly = "AttributeAddOnly",
    }
}

wire_enum! {
    /// `attributeFlowBehavior`.
    AttributeFlowBehavior default FlowWhenChanged {
        FlowWhenChanged = "FlowWhenChanged",
        FlowAlways = "FlowAlways",
    }
}

/// `attributeMapping`: one target attribute and where its value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub export_missing_references: bool,
    #[serde(default)]
    pub flow_behavior: AttributeFlowBehavior,
    #[serde(default)]
    pub flow_type: AttributeFlowType,
    /// 0: not used for matching; above 0: a matching attribute, lowest tried first.
    #[serde(default)]
    pub matching_priority: i32,
    /// Null for a mapping that only supplies a default value (the admin center's "None").
    #[serde(default)]
    pub source: Option<AttributeMappingSource>,
    pub target_attribute_name: String,
}

wire_enum! {
    /// `attributeMappingSourceType`.
    AttributeMappingSourceType {
        Attribute = "Attribute",
        Constant = "Constant",
        Function = "Function",
    }
}

/// `attributeMappingSource`: an expression as a tree (`type`, `name`, `parameters`) with its
/// text (`expression`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMappingSource {
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parameters: Vec<AttributeMappingParameter>,
    #[serde(rename = "type", default)]
    pub source_type: Option<AttributeMappingSourceType>,
}

/// `stringKeyAttributeMappingSourceValuePair`: one parameter of a function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeMappingParameter {
    pub key: String,
    pub value: AttributeMappingSource,
}

/// `filter`: an object mapping's scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// Experimental in Graph; kept, not evaluated.
    #[serde(default)]
    pub category_filter_groups: Vec<FilterGroup>,
    /// The scoping filters: an object that stops matching them is deprovisioned.
    #[serde(default)]
    pub groups: Vec<FilterGroup>,
    /// Experimental in Graph (applied when reading; leaving does not deprovision); kept, not
    /// evaluated yet.
    #[serde(default)]
    pub input_filter_groups: Vec<FilterGroup>,
}

/// `filterGroup`: true when every clause is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterGroup {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub clauses: Vec<FilterClause>,
}

/// `filterClause`: `sourceOperandName operatorName targetOperand`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterClause {
    pub operator_name: String,
    pub source_operand_name: String,
    #[serde(default)]
    pub target_operand: Option<FilterOperand>,
}

/// `filterOperand`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOperand {
    #[serde(default)]
    pub values: Vec<String>,
}

wire_enum! {
    /// `scopeOperatorType`.
    OperatorArity {
        Binary = "Binary",
        Unary = "Unary",
    }
}

wire_enum! {
    /// `scopeOperatorMultiValuedComparisonType`.
    ScopeOperatorMultiValuedComparisonType {
        All = "All",
        Any = "Any",
    }
}

/// `filterOperatorSchema`: one entry of `schema/filterOperators`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOperatorSchema {
    pub name: String,
    pub arity: OperatorArity,
    pub multivalued_comparison_type: ScopeOperatorMultiValuedComparisonType,
    pub supported_attribute_types: Vec<AttributeType>,
}
