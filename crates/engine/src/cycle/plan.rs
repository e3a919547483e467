//! The object mappings of a job's schema, compiled once per cycle.

use std::collections::BTreeMap;

use provisio_directory::ObjectKind;

use super::CycleError;
use crate::mapping::CompiledObjectMapping;
use crate::model::{AttributeType, FlowTypes, SynchronizationSchema};
use crate::scoping::ScopingFilter;
use crate::target::TargetKind;

/// One object mapping, compiled for the cycle.
pub(super) struct Plan {
    pub(super) kind: ObjectKind,
    pub(super) target_kind: TargetKind,
    pub(super) object_type: String,
    pub(super) mapping: CompiledObjectMapping,
    pub(super) scoping: ScopingFilter,
    pub(super) flow_types: FlowTypes,
    /// Target attributes that are references (`members`, `…:manager`), with multi-valuedness.
    pub(super) references: Vec<(String, bool)>,
    /// Matching target attribute (lower case) → the source attribute or expression.
    pub(super) matching_sources: BTreeMap<String, String>,
    pub(super) redacted: Vec<String>,
}

impl Plan {
    pub(super) fn is_redacted(&self, property: &str) -> bool {
        self.redacted.iter().any(|target| {
            let target = target.to_ascii_lowercase();
            let property = property.to_ascii_lowercase();
            target == property
                || target
                    .strip_prefix(&property)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

pub(super) fn compile_plans(schema: &SynchronizationSchema) -> Result<Vec<Plan>, CycleError> {
    let rule = schema
        .synchronization_rules
        .iter()
        .min_by_key(|rule| rule.priority.unwrap_or(i32::MAX))
        .ok_or(CycleError::NoRule)?;
    let mut plans = Vec::new();
    for mapping in rule.object_mappings.iter().filter(|m| m.enabled) {
        let kind = if mapping.source_object_name.eq_ignore_ascii_case("User") {
            ObjectKind::User
        } else if mapping.source_object_name.eq_ignore_ascii_case("Group") {
            ObjectKind::Group
        } else {
            continue;
        };
        let target_kind = if mapping.target_object_name.eq_ignore_ascii_case("Group") {
            TargetKind::Group
        } else {
            TargetKind::User
        };
        let compiled = CompiledObjectMapping::compile_in(schema, rule, mapping)?;
        let scoping = match &mapping.scope {
            Some(filter) => ScopingFilter::compile(filter)?,
            None => ScopingFilter::default(),
        };
        let target_definition = schema
            .directory(&rule.target_directory_name)
            .and_then(|d| d.object(&mapping.target_object_name));
        let references = mapping
            .attribute_mappings
            .iter()
            .filter_map(|a| {
                let definition = target_definition?.attribute(&a.target_attribute_name)?;
                (definition.attribute_type == AttributeType::Reference)
                    .then(|| (a.target_attribute_name.clone(), definition.multivalued))
            })
            .collect();
        let matching_sources = mapping
            .attribute_mappings
            .iter()
            .filter(|a| a.matching_priority > 0)
            .map(|a| {
                let source = a.source.as_ref().and_then(|s| {
                    s.name
                        .clone()
                        .filter(|_| s.parameters.is_empty())
                        .or_else(|| s.expression.clone())
                });
                (
                    a.target_attribute_name.to_ascii_lowercase(),
                    source.unwrap_or_default(),
                )
            })
            .collect();
        let redacted = compiled.redacted_targets().map(str::to_string).collect();
        plans.push(Plan {
            kind,
            target_kind,
            object_type: mapping.source_object_name.clone(),
            mapping: compiled,
            scoping,
            flow_types: mapping.flow_types,
            references,
            matching_sources,
            redacted,
        });
    }
    Ok(plans)
}
