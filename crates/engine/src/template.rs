//! Templates: the preconfigured schema a new job starts from. `scim` is the one every custom
//! ("non-gallery") SCIM application gets: `POST /jobs {"templateId": "scim"}`.
//!
//! Sources, MicrosoftDocs/entra-docs, `docs/identity/app-provisioning/`:
//! - `use-scim-to-provision-users-and-groups.md`: the user and group attribute tables and the
//!   requests Entra sends (the POST body carries `name.formatted` as "givenName familyName",
//!   `active` as a JSON boolean, `externalId`, the work e-mail; groups are matched and queried
//!   by `displayName`).
//! - `customize-application-attributes.md`: matching precedence, `IsSoftDeleted`, flow types.
//! - `application-provisioning-configuration-api.md`: a template is `{id, factoryTag, schema}`
//!   and gallery templates use the application's tag for both (`aws`); custom SCIM jobs are
//!   created from `scim`.
//!
//! Where the pages are silent or disagree, and what provisio ships:
//! - The user table of the SCIM page is "an example"; provisio ships the mappings the admin
//!   center shows for a new custom SCIM application, which agree with it except that
//!   `physicalDeliveryOfficeName` goes to `addresses[type eq "work"].formatted` and
//!   `proxyAddresses` is not mapped (a multi-valued source cannot fill one filtered value).
//!   `preferredLanguage`, `city`, `state`, `country` and `name.formatted` are mapped too.
//! - `active` is `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, the expression
//!   the admin center shows; it yields text, and the target attribute's type (Boolean) makes it
//!   a JSON boolean, as the page's POST body has it.
//! - The target directory is `customappsso` (the admin center calls its attributes
//!   "customappsso Attribute"); the rule id and object mapping names are the admin center's
//!   names, as the pages do not give Graph's.

use provisio_scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

use crate::model::{
    AttributeDefinition, AttributeFlowBehavior, AttributeFlowType, AttributeMapping,
    AttributeMappingSource, AttributeType, DirectoryDefinition, FlowTypes, Mutability,
    ObjectDefinition, ObjectMapping, ReferencedObject, StringKeyStringValuePair,
    SynchronizationRule, SynchronizationSchema, SynchronizationTemplate,
};

/// The id and factory tag of the custom SCIM application's template.
pub const SCIM_TEMPLATE_ID: &str = "scim";
/// Entra's own directory, the source of outbound provisioning.
pub const ENTRA_DIRECTORY: &str = "Azure Active Directory";
/// The target directory of a custom SCIM application.
pub const SCIM_DIRECTORY: &str = "customappsso";
/// The enterprise extension's URN, the prefix of its attributes in mappings.
const ENTERPRISE: &str = ENTERPRISE_USER_SCHEMA;
/// The schema Entra adds to the groups it creates (the SCIM page's POST /Groups).
pub const ADSCIM_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// The `schemas` Entra sends when it creates an object of the target type, from the SCIM
/// page's POST bodies: users always carry the enterprise extension's URN.
pub fn scim_resource_schemas(target_object: &str) -> &'static [&'static str] {
    if target_object.eq_ignore_ascii_case("Group") {
        &[GROUP_SCHEMA, ADSCIM_GROUP_SCHEMA]
    } else {
        &[USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    }
}

/// Every template provisio knows.
pub fn templates() -> Vec<SynchronizationTemplate> {
    vec![scim_template()]
}

/// The template called `id`, in any letter case.
pub fn template(id: &str) -> Option<SynchronizationTemplate> {
    templates()
        .into_iter()
        .find(|template| template.id.eq_ignore_ascii_case(id))
}

/// The custom SCIM application's template.
pub fn scim_template() -> SynchronizationTemplate {
    SynchronizationTemplate {
        id: SCIM_TEMPLATE_ID.to_string(),
        application_id: None,
        default: true,
        description: Some(
            "Provision users and groups from Microsoft Entra ID to a SCIM 2.0 application."
                .to_string(),
        ),
        discoverable: true,
        factory_tag: SCIM_TEMPLATE_ID.to_string(),
        metadata: Vec::new(),
        schema: Some(scim_schema()),
    }
}

/// The default schema of a custom SCIM application.
pub fn scim_schema() -> SynchronizationSchema {
    SynchronizationSchema {
        directories: vec![entra_directory(), scim_directory()],
        synchronization_rules: vec![SynchronizationRule {
            id: Some("AzureADScimOutbound".to_string()),
            name: Some("Provision Microsoft Entra ID users and groups".to_string()),
            editable: Some(true),
            priority: Some(1),
            source_directory_name: ENTRA_DIRECTORY.to_string(),
            target_directory_name: SCIM_DIRECTORY.to_string(),
            object_mappings: vec![user_mapping(), group_mapping()],
            metadata: Vec::new(),
        }],
        version: None,
    }
}

fn attribute(name: &str, attribute_type: AttributeType) -> AttributeDefinition {
    AttributeDefinition::new(name, attribute_type)
}

fn string(name: &str) -> AttributeDefinition {
    attribute(name, AttributeType::String)
}

fn reference(name: &str, to: &[&str], multivalued: bool) -> AttributeDefinition {
    let mut definition = attribute(name, AttributeType::Reference);
    definition.multivalued = multivalued;
    definition.referenced_objects = to
        .iter()
        .map(|object| ReferencedObject {
            referenced_object_name: (*object).to_string(),
            referenced_property: None,
        })
        .collect();
    definition
}

fn anchor(name: &str) -> AttributeDefinition {
    let mut definition = string(name);
    definition.anchor = true;
    definition.mutability = Mutability::ReadOnly;
    definition
}

fn object(name: &str, attributes: Vec<AttributeDefinition>) -> ObjectDefinition {
    ObjectDefinition {
        name: name.to_string(),
        attributes,
        metadata: Vec::new(),
        supported_apis: Vec::new(),
    }
}

/// Entra's users and groups under the provisioning schema's names (see [`crate::source`]).
fn entra_directory() -> DirectoryDefinition {
    use AttributeType::*;
    let mut user_attributes = vec![
        anchor("objectId"),
        attribute("accountEnabled", Boolean),
        attribute("IsSoftDeleted", Boolean),
        string("userPrincipalName"),
        string("displayName"),
        string("givenName"),
        string("surname"),
        string("mail"),
        string("mailNickname"),
        string("jobTitle"),
        string("department"),
        string("companyName"),
        string("employeeId"),
        attribute("employeeHireDate", DateTime),
        string("employeeType"),
        string("preferredLanguage"),
        string("physicalDeliveryOfficeName"),
        string("streetAddress"),
        string("city"),
        string("state"),
        string("postalCode"),
        string("country"),
        string("usageLocation"),
        string("telephoneNumber"),
        string("mobile"),
        string("facsimileTelephoneNumber"),
        string("userType"),
        reference("manager", &["User"], false),
        {
            let mut proxies = string("proxyAddresses");
            proxies.multivalued = true;
            proxies
        },
        {
            let mut roles = string("appRoleAssignments");
            roles.multivalued = true;
            roles
        },
    ];
    user_attributes.extend((1..=15).map(|i| string(&format!("extensionAttribute{i}"))));
    let mut user = object("User", user_attributes);
    // The object definition metadata the reference lists for Entra's users.
    user.metadata = [
        ("IsSoftDeletionSupported", "true"),
        ("IsSynchronizeAllSupported", "true"),
        ("PropertyNameAccountEnabled", "accountEnabled"),
        ("PropertyNameSoftDeleted", "IsSoftDeleted"),
    ]
    .into_iter()
    .map(|(key, value)| StringKeyStringValuePair {
        key: key.to_string(),
        value: Some(value.to_string()),
    })
    .collect();
    let group = object(
        "Group",
        vec![
            anchor("objectId"),
            attribute("IsSoftDeleted", Boolean),
            string("displayName"),
            string("description"),
            string("mail"),
            string("mailNickname"),
            attribute("securityEnabled", Boolean),
            reference("members", &["User", "Group"], true),
        ],
    );
    DirectoryDefinition {
        id: None,
        name: ENTRA_DIRECTORY.to_string(),
        objects: vec![user, group],
        read_only: Some(true),
        version: None,
        discovery_date_time: None,
        discoverabilities: None,
    }
}

/// The SCIM application's users and groups, attribute names as mappings write them.
fn scim_directory() -> DirectoryDefinition {
    use AttributeType::*;
    let enterprise = |name: &str| string(&format!("{ENTERPRISE}:{name}"));
    let mut user_name = string("userName");
    user_name.required = true;
    let user = object(
        "User",
        vec![
            user_name,
            attribute("active", Boolean),
            string("displayName"),
            string("nickName"),
            string("title"),
            string("userType"),
            string("preferredLanguage"),
            string("locale"),
            string("timezone"),
            string("externalId"),
            string("name.givenName"),
            string("name.familyName"),
            string("name.formatted"),
            string("name.middleName"),
            string("name.honorificPrefix"),
            string("name.honorificSuffix"),
            string("emails[type eq \"work\"].value"),
            string("emails[type eq \"other\"].value"),
            string("addresses[type eq \"work\"].formatted"),
            string("addresses[type eq \"work\"].streetAddress"),
            string("addresses[type eq \"work\"].locality"),
            string("addresses[type eq \"work\"].region"),
            string("addresses[type eq \"work\"].postalCode"),
            string("addresses[type eq \"work\"].country"),
            string("addresses[type eq \"other\"].formatted"),
            string("phoneNumbers[type eq \"work\"].value"),
            string("phoneNumbers[type eq \"mobile\"].value"),
            string("phoneNumbers[type eq \"fax\"].value"),
            string("roles[primary eq \"True\"].display"),
            string("roles[primary eq \"True\"].type"),
            string("roles[primary eq \"True\"].value"),
            enterprise("employeeNumber"),
            enterprise("costCenter"),
            enterprise("organization"),
            enterprise("division"),
            enterprise("department"),
            reference(&format!("{ENTERPRISE}:manager"), &["User"], false),
        ],
    );
    let mut display_name = string("displayName");
    display_name.required = true;
    let group = object(
        "Group",
        vec![
            display_name,
            string("externalId"),
            reference("members", &["User", "Group"], true),
        ],
    );
    DirectoryDefinition {
        id: None,
        name: SCIM_DIRECTORY.to_string(),
        objects: vec![user, group],
        read_only: Some(false),
        version: None,
        discovery_date_time: None,
        discoverabilities: None,
    }
}

/// A mapping from an expression; the source is stored in Graph's tree form, as Graph returns
/// it, with its text in `expression`.
fn map(expression: &str, target: &str) -> AttributeMapping {
    // The template's expressions are constants, checked by a test; one that did not parse
    // would leave its mapping without a source, which compiling the mapping reports.
    let source = provisio_expr::parse_expression(expression)
        .ok()
        .and_then(|tree| serde_json::from_value::<AttributeMappingSource>(tree).ok());
    AttributeMapping {
        default_value: None,
        export_missing_references: false,
        flow_behavior: AttributeFlowBehavior::FlowWhenChanged,
        flow_type: AttributeFlowType::Always,
        matching_priority: 0,
        source,
        target_attribute_name: target.to_string(),
    }
}

fn matching(mut mapping: AttributeMapping, priority: i32) -> AttributeMapping {
    mapping.matching_priority = priority;
    mapping
}

/// "Provision Microsoft Entra ID Users".
fn user_mapping() -> ObjectMapping {
    let work_address = |part: &str| format!("addresses[type eq \"work\"].{part}");
    ObjectMapping {
        name: Some("Provision Microsoft Entra ID Users".to_string()),
        enabled: true,
        flow_types: FlowTypes::default(),
        source_object_name: "User".to_string(),
        target_object_name: "User".to_string(),
        scope: None,
        attribute_mappings: vec![
            matching(map("[userPrincipalName]", "userName"), 1),
            map(
                r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
                "active",
            ),
            map("[displayName]", "displayName"),
            map("[jobTitle]", "title"),
            map("[mail]", "emails[type eq \"work\"].value"),
            map("[preferredLanguage]", "preferredLanguage"),
            map("[givenName]", "name.givenName"),
            map("[surname]", "name.familyName"),
            map(r#"Join(" ", [givenName], [surname])"#, "name.formatted"),
            map("[physicalDeliveryOfficeName]", &work_address("formatted")),
            map("[streetAddress]", &work_address("streetAddress")),
            map("[city]", &work_address("locality")),
            map("[state]", &work_address("region")),
            map("[postalCode]", &work_address("postalCode")),
            map("[country]", &work_address("country")),
            map("[telephoneNumber]", "phoneNumbers[type eq \"work\"].value"),
            map("[mobile]", "phoneNumbers[type eq \"mobile\"].value"),
            map(
                "[facsimileTelephoneNumber]",
                "phoneNumbers[type eq \"fax\"].value",
            ),
            map("[mailNickname]", "externalId"),
            map("[employeeId]", &format!("{ENTERPRISE}:employeeNumber")),
            map("[department]", &format!("{ENTERPRISE}:department")),
            map("[manager]", &format!("{ENTERPRISE}:manager")),
        ],
        metadata: Vec::new(),
    }
}

/// "Provision Microsoft Entra ID Groups".
fn group_mapping() -> ObjectMapping {
    ObjectMapping {
        name: Some("Provision Microsoft Entra ID Groups".to_string()),
        enabled: true,
        flow_types: FlowTypes::default(),
        source_object_name: "Group".to_string(),
        target_object_name: "Group".to_string(),
        scope: None,
        attribute_mappings: vec![
            matching(map("[displayName]", "displayName"), 1),
            map("[objectId]", "externalId"),
            map("[members]", "members"),
        ],
        metadata: Vec::new(),
    }
}
