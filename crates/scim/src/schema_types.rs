//! Schema knowledge for the filter evaluator: which attributes compare case-exactly and which
//! are dateTimes, read from the resource type's schemas.

use crate::filter::AttributeTypes;
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, ResourceType};

impl ResourceType {
    fn definition(&self, parent: Option<&AttrPath>, path: &AttrPath) -> Option<&AttributeDef> {
        match parent {
            None => {
                let (attr, sub) = self.lookup_path(path)?;
                // `emails co "x"` compares each email's `value`.
                Some(sub.or_else(|| attr.sub_attribute("value")).unwrap_or(attr))
            }
            Some(p) => {
                let (outer, _) = self.lookup_path(p)?;
                let inner = outer.sub_attribute(&path.name)?;
                Some(inner)
            }
        }
    }

    fn lookup_path(&self, path: &AttrPath) -> Option<(&AttributeDef, Option<&AttributeDef>)> {
        if let Some(urn) = path.urn.as_deref() {
            let whole = format!("{urn}:{}", path.name);
            if self.extension(&whole).is_some() {
                return None;
            }
        }
        self.lookup(path.urn.as_deref(), &path.name, path.sub.as_deref())
    }
}

impl AttributeTypes for ResourceType {
    fn case_exact(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
        self.definition(parent, path).is_some_and(|a| a.case_exact)
    }
    fn is_datetime(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
        self.definition(parent, path)
            .is_some_and(|a| a.attr_type == AttrType::DateTime)
    }
}
