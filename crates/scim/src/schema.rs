//! SCIM schemas (RFC 7643 §2, §7): attribute definitions, the core User and Group schemas, the
//! enterprise User extension, resource types, and extension schemas loaded from JSON.

use serde_json::{json, Map, Value};

use crate::error::{Result, ScimError};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// `type` of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
    fn parse(s: &str) -> Option<AttrType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "datetime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            _ => return None,
        })
    }
}

/// `mutability` of an attribute (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
    fn parse(s: &str) -> Option<Mutability> {
        Some(match s.to_ascii_lowercase().as_str() {
            "readonly" => Mutability::ReadOnly,
            "readwrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeonly" => Mutability::WriteOnly,
            _ => return None,
        })
    }
}

/// `returned` of an attribute (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
    fn parse(s: &str) -> Option<Returned> {
        Some(match s.to_ascii_lowercase().as_str() {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            _ => return None,
        })
    }
}

/// `uniqueness` of an attribute (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
    fn parse(s: &str) -> Option<Uniqueness> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            _ => return None,
        })
    }
}

/// One attribute of a schema, with its sub-attributes when complex.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    pub name: String,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    fn new(name: &str, attr_type: AttrType) -> Self {
        AttributeDef {
            name: name.to_string(),
            attr_type,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }
    fn string(name: &str) -> Self {
        Self::new(name, AttrType::String)
    }
    fn boolean(name: &str) -> Self {
        Self::new(name, AttrType::Boolean)
    }
    fn reference(name: &str, types: &[&str]) -> Self {
        let mut a = Self::new(name, AttrType::Reference);
        a.reference_types = types.iter().map(|s| s.to_string()).collect();
        a
    }
    fn complex(name: &str, subs: Vec<AttributeDef>) -> Self {
        let mut a = Self::new(name, AttrType::Complex);
        a.sub_attributes = subs;
        a
    }
    fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    fn unique(mut self) -> Self {
        self.uniqueness = Uniqueness::Server;
        self
    }
    fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }
    fn describe(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }

    /// The sub-attribute called `name`, in any letter case.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The attribute definition in the JSON form of RFC 7643 §7.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.attr_type.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if self.attr_type != AttrType::Complex {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        if self.attr_type != AttrType::Complex {
            m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub_attributes.is_empty() {
            m.insert(
                "subAttributes".into(),
                Value::Array(self.sub_attributes.iter().map(|a| a.to_json()).collect()),
            );
        }
        Value::Object(m)
    }

    /// Reads an attribute definition from the JSON form of RFC 7643 §7.
    pub fn from_json(v: &Value, at: &str) -> Result<AttributeDef> {
        let obj = v.as_object().ok_or_else(|| {
            ScimError::invalid_syntax(format!("{at}: an attribute must be an object"))
        })?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_syntax(format!("{at}: attribute without a \"name\""))
            })?;
        let at = format!("{at}.{name}");
        let text = |key: &str| obj.get(key).and_then(Value::as_str);
        let flag = |key: &str| obj.get(key).and_then(Value::as_bool).unwrap_or(false);
        let attr_type = match text("type") {
            Some(t) => AttrType::parse(t)
                .ok_or_else(|| ScimError::invalid_syntax(format!("{at}: unknown type \"{t}\"")))?,
            None => AttrType::String,
        };
        let mut a = AttributeDef::new(name, attr_type);
        a.multi_valued = flag("multiValued");
        a.required = flag("required");
        a.case_exact = flag("caseExact");
        a.description = text("description").unwrap_or_default().to_string();
        if let Some(m) = text("mutability") {
            a.mutability = Mutability::parse(m).ok_or_else(|| {
                ScimError::invalid_syntax(format!("{at}: unknown mutability \"{m}\""))
            })?;
        }
        if let Some(r) = text("returned") {
            a.returned = Returned::parse(r).ok_or_else(|| {
                ScimError::invalid_syntax(format!("{at}: unknown returned \"{r}\""))
            })?;
        }
        if let Some(u) = text("uniqueness") {
            a.uniqueness = Uniqueness::parse(u).ok_or_else(|| {
                ScimError::invalid_syntax(format!("{at}: unknown uniqueness \"{u}\""))
            })?;
        }
        let strings = |key: &str| -> Vec<String> {
            obj.get(key)
                .and_then(Value::as_array)
                .map(|xs| {
                    xs.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        a.canonical_values = strings("canonicalValues");
        a.reference_types = strings("referenceTypes");
        if let Some(subs) = obj.get("subAttributes").and_then(Value::as_array) {
            for sub in subs {
                a.sub_attributes.push(AttributeDef::from_json(sub, &at)?);
            }
        }
        if a.attr_type == AttrType::Complex && a.sub_attributes.is_empty() {
            return Err(ScimError::invalid_syntax(format!(
                "{at}: a complex attribute needs subAttributes"
            )));
        }
        Ok(a)
    }
}

/// A schema: an id (URN), a name, and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The attribute called `name`, in any letter case.
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema resource of RFC 7643 §7, as served by `/Schemas/{id}`.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base_url}/Schemas/{}", self.id),
            },
        })
    }

    /// Reads a schema from the JSON form of RFC 7643 §7 (e.g. a custom extension's file).
    pub fn from_json(v: &Value) -> Result<Schema> {
        let obj = v
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a schema must be a JSON object"))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| id.to_ascii_lowercase().starts_with("urn:"))
            .ok_or_else(|| ScimError::invalid_syntax("a schema needs an \"id\" that is a URN"))?;
        let attrs = obj
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ScimError::invalid_syntax(format!("schema {id}: \"attributes\" must be an array"))
            })?;
        let mut attributes = Vec::with_capacity(attrs.len());
        for a in attrs {
            let def = AttributeDef::from_json(a, id)?;
            if attributes
                .iter()
                .any(|x: &AttributeDef| x.name.eq_ignore_ascii_case(&def.name))
            {
                return Err(ScimError::invalid_syntax(format!(
                    "schema {id}: attribute \"{}\" is defined twice",
                    def.name
                )));
            }
            attributes.push(def);
        }
        Ok(Schema {
            id: id.to_string(),
            name: obj
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string(),
            description: obj
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            attributes,
        })
    }
}

fn multi_valued_simple(name: &str, types: &[&str], value_type: AttributeDef) -> AttributeDef {
    AttributeDef::complex(
        name,
        vec![
            value_type,
            AttributeDef::string("display"),
            AttributeDef::string("type").canonical(types),
            AttributeDef::boolean("primary"),
        ],
    )
    .multi()
}

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    use AttributeDef as A;
    let name = A::complex(
        "name",
        vec![
            A::string("formatted"),
            A::string("familyName"),
            A::string("givenName"),
            A::string("middleName"),
            A::string("honorificPrefix"),
            A::string("honorificSuffix"),
        ],
    )
    .describe("The components of the user's real name.");
    let addresses = A::complex(
        "addresses",
        vec![
            A::string("formatted"),
            A::string("streetAddress"),
            A::string("locality"),
            A::string("region"),
            A::string("postalCode"),
            A::string("country"),
            A::string("type").canonical(&["work", "home", "other"]),
            A::boolean("primary"),
        ],
    )
    .multi();
    let groups = A::complex(
        "groups",
        vec![
            A::string("value").mutability(Mutability::ReadOnly),
            A::reference("$ref", &["User", "Group"]).mutability(Mutability::ReadOnly),
            A::string("display").mutability(Mutability::ReadOnly),
            A::string("type")
                .canonical(&["direct", "indirect"])
                .mutability(Mutability::ReadOnly),
        ],
    )
    .multi()
    .mutability(Mutability::ReadOnly)
    .describe("Groups the user belongs to, computed by the service provider.");
    Schema {
        id: USER_SCHEMA.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            A::string("userName")
                .required()
                .unique()
                .describe("Unique identifier for the User, case-insensitive."),
            name,
            A::string("displayName"),
            A::string("nickName"),
            A::reference("profileUrl", &["external"]),
            A::string("title"),
            A::string("userType"),
            A::string("preferredLanguage"),
            A::string("locale"),
            A::string("timezone"),
            A::boolean("active"),
            A::string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            multi_valued_simple("emails", &["work", "home", "other"], A::string("value")),
            multi_valued_simple(
                "phoneNumbers",
                &["work", "home", "mobile", "fax", "pager", "other"],
                A::string("value"),
            ),
            multi_valued_simple(
                "ims",
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                A::string("value"),
            ),
            multi_valued_simple(
                "photos",
                &["photo", "thumbnail"],
                A::reference("value", &["external"]),
            ),
            addresses,
            groups,
            multi_valued_simple("entitlements", &[], A::string("value")),
            multi_valued_simple("roles", &[], A::string("value")),
            multi_valued_simple("x509Certificates", &[], A::new("value", AttrType::Binary)),
        ],
    }
}

/// The core Group schema (RFC 7643 §4.2).
pub fn group_schema() -> Schema {
    use AttributeDef as A;
    Schema {
        id: GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            A::string("displayName").required(),
            A::complex(
                "members",
                vec![
                    A::string("value").mutability(Mutability::Immutable),
                    A::reference("$ref", &["User", "Group"]).mutability(Mutability::Immutable),
                    A::string("display").mutability(Mutability::ReadOnly),
                    A::string("type")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable),
                ],
            )
            .multi()
            .describe("A list of members of the Group."),
        ],
    }
}

/// The enterprise User extension (RFC 7643 §4.3).
pub fn enterprise_user_schema() -> Schema {
    use AttributeDef as A;
    Schema {
        id: ENTERPRISE_USER_SCHEMA.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            A::string("employeeNumber"),
            A::string("costCenter"),
            A::string("organization"),
            A::string("division"),
            A::string("department"),
            A::complex(
                "manager",
                vec![
                    A::string("value"),
                    A::reference("$ref", &["User"]),
                    A::string("displayName").mutability(Mutability::ReadOnly),
                ],
            ),
        ],
    }
}

/// The attributes every resource has (RFC 7643 §3.1), outside any schema's attribute list.
pub fn common_attributes() -> Vec<AttributeDef> {
    use AttributeDef as A;
    vec![
        A::string("id")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .unique(),
        A::string("externalId").case_exact(),
        A::complex(
            "meta",
            vec![
                A::string("resourceType")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
                A::new("created", AttrType::DateTime).mutability(Mutability::ReadOnly),
                A::new("lastModified", AttrType::DateTime).mutability(Mutability::ReadOnly),
                A::reference("location", &["uri"]).mutability(Mutability::ReadOnly),
                A::string("version")
                    .case_exact()
                    .mutability(Mutability::ReadOnly),
            ],
        )
        .mutability(Mutability::ReadOnly),
    ]
}

/// A resource type (RFC 7643 §6): an endpoint, a core schema and its extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub description: String,
    pub schema: Schema,
    /// Extension schemas and whether each is required.
    pub extensions: Vec<(Schema, bool)>,
    common: Vec<AttributeDef>,
}

impl ResourceType {
    pub fn new(
        name: &str,
        endpoint: &str,
        schema: Schema,
        extensions: Vec<(Schema, bool)>,
    ) -> Self {
        ResourceType {
            id: name.to_string(),
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            description: name.to_string(),
            schema,
            extensions,
            common: common_attributes(),
        }
    }

    /// The User resource type with the enterprise extension and any further extensions.
    pub fn user(extra_extensions: Vec<Schema>) -> Self {
        let mut ext = vec![(enterprise_user_schema(), false)];
        ext.extend(extra_extensions.into_iter().map(|s| (s, false)));
        ResourceType::new("User", "/Users", user_schema(), ext)
    }

    /// The Group resource type, with any extensions.
    pub fn group(extensions: Vec<Schema>) -> Self {
        ResourceType::new(
            "Group",
            "/Groups",
            group_schema(),
            extensions.into_iter().map(|s| (s, false)).collect(),
        )
    }

    /// The extension schema whose id is `urn`, in any letter case.
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .map(|(s, _)| s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` names this type's core schema or one of its extensions.
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.schema.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// A top-level attribute of the core schema or a common attribute (`id`, `externalId`, `meta`).
    pub fn core_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.schema.attribute(name).or_else(|| {
            self.common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    /// Looks up an attribute by optional schema URN, name and optional sub-attribute.
    /// Returns the attribute and, when `sub` is given, the sub-attribute.
    pub fn lookup(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<(&AttributeDef, Option<&AttributeDef>)> {
        let attr = match urn {
            None => self.core_attribute(name)?,
            Some(u) if self.schema.id.eq_ignore_ascii_case(u) => self.core_attribute(name)?,
            Some(u) => self.extension(u)?.attribute(name)?,
        };
        match sub {
            None => Some((attr, None)),
            Some(s) => Some((attr, Some(attr.sub_attribute(s)?))),
        }
    }

    /// The resource type in the JSON form of RFC 7643 §6, as served by `/ResourceTypes`.
    pub fn to_json(&self, base_url: &str) -> Value {
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "schemaExtensions": self.extensions.iter().map(|(s, required)| json!({
                "schema": s.id, "required": required
            })).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{base_url}/ResourceTypes/{}", self.id),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_round_trip_through_their_json_form() {
        for schema in [user_schema(), group_schema(), enterprise_user_schema()] {
            let json = schema.to_json("http://x/scim/v2");
            let back = Schema::from_json(&json).expect("a served schema parses back");
            assert_eq!(back, schema);
        }
    }

    #[test]
    fn lookups_ignore_letter_case_and_honour_urns() {
        let users = ResourceType::user(vec![]);
        assert!(users.lookup(None, "USERNAME", None).is_some());
        assert!(users.lookup(None, "name", Some("FamilyName")).is_some());
        assert!(users
            .lookup(Some(USER_SCHEMA), "emails", Some("value"))
            .is_some());
        let (manager, sub) = users
            .lookup(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value"))
            .expect("enterprise manager.value");
        assert_eq!(manager.name, "manager");
        assert_eq!(sub.map(|s| s.name.as_str()), Some("value"));
        assert!(users.lookup(None, "employeeNumber", None).is_none());
        assert!(users.lookup(None, "meta", Some("lastModified")).is_some());
        assert!(users.lookup(Some("urn:unknown"), "x", None).is_none());
    }

    #[test]
    fn bad_schema_files_are_refused_with_the_reason() {
        let cases = [
            (json!([]), "must be a JSON object"),
            (json!({"id": "x", "attributes": []}), "URN"),
            (json!({"id": "urn:x", "attributes": {}}), "must be an array"),
            (
                json!({"id": "urn:x", "attributes": [{"type": "string"}]}),
                "without a \"name\"",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "type": "str"}]}),
                "unknown type",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "type": "complex"}]}),
                "subAttributes",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a"}, {"name": "A"}]}),
                "defined twice",
            ),
        ];
        for (input, expected) in cases {
            let err = Schema::from_json(&input).expect_err("invalid schema");
            assert!(err.detail.contains(expected), "{input}: {}", err.detail);
        }
    }
}
