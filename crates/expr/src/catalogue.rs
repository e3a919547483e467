//! The function catalogue: every function's name, parameters, arity and return type, as data.
//! The checker and the compiler read it; the Graph endpoint `schema/functions` serves it in
//! the `attributeMappingFunctionSchema` shape ([`function_schemas_json`]).

use serde_json::{json, Value as Json};

/// The attribute types of Graph's `attributeDefinition.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Integer,
    Boolean,
    DateTime,
    Reference,
    Binary,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "String",
            ValueType::Integer => "Integer",
            ValueType::Boolean => "Boolean",
            ValueType::DateTime => "DateTime",
            ValueType::Reference => "Reference",
            ValueType::Binary => "Binary",
        }
    }
}

/// Every function of the language, resolved from its name once at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    Append,
    AppRoleAssignmentsComplex,
    AssertiveAppRoleAssignmentsComplex,
    BitAnd,
    CBool,
    CDate,
    Coalesce,
    ConvertFromBase64,
    ConvertToBase64,
    ConvertToUtf8Hex,
    Count,
    CStr,
    DateAdd,
    DateDiff,
    DateFromNum,
    DefaultDomain,
    Error,
    FormatDateTime,
    Guid,
    IgnoreFlowIfNullOrEmpty,
    Iif,
    InStr,
    IsNull,
    IsNullOrEmpty,
    IsPresent,
    IsString,
    Item,
    Join,
    Left,
    Mid,
    NormalizeDiacritics,
    Not,
    Now,
    NumFromDate,
    PCase,
    RandomString,
    Redact,
    RemoveDuplicates,
    Replace,
    SelectUniqueValue,
    SingleAppRoleAssignment,
    Split,
    StripSpaces,
    Switch,
    ToLower,
    ToUpper,
    Word,
}

/// One parameter of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub ty: ValueType,
    pub required: bool,
}

/// One function of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionDef {
    pub func: Func,
    pub name: &'static str,
    pub params: &'static [Param],
    /// Parameters from this index on repeat as a group (Join's sources, Switch's key/value).
    pub repeat_from: Option<usize>,
    /// Fewest arguments (slots, empty ones included) a call may have.
    pub min_args: usize,
    pub returns: ValueType,
    /// Whether the result is multi-valued.
    pub multivalued: bool,
    pub description: &'static str,
}

impl FunctionDef {
    /// Whether parameter `index` may occur more than once.
    pub fn repeats(&self, index: usize) -> bool {
        self.repeat_from.is_some_and(|from| index >= from)
    }

    /// The parameter that argument slot `slot` (0-based) fills.
    pub fn param_for_slot(&self, slot: usize) -> Option<&'static Param> {
        match self.repeat_from {
            Some(from) if slot >= from => {
                let group = self.params.len() - from;
                self.params.get(from + (slot - from) % group)
            }
            _ => self.params.get(slot),
        }
    }

    /// Most arguments a call may have; `None` when parameters repeat.
    pub fn max_args(&self) -> Option<usize> {
        match self.repeat_from {
            Some(_) => None,
            None => Some(self.params.len()),
        }
    }

    /// Whether `count` argument slots fit this function (repeat groups must be whole).
    pub fn accepts_arity(&self, count: usize) -> bool {
        if count < self.min_args {
            return false;
        }
        match self.repeat_from {
            None => count <= self.params.len(),
            Some(from) => {
                let group = self.params.len() - from;
                count < from || (count - from) % group == 0
            }
        }
    }

    /// The expected arity in words, for error messages: "3", "2 to 4", "at least 2".
    pub fn arity_text(&self) -> String {
        match self.max_args() {
            Some(max) if max == self.min_args => max.to_string(),
            Some(max) => format!("{} to {max}", self.min_args),
            None => {
                let group = self.params.len() - self.repeat_from.unwrap_or(0);
                if group > 1 {
                    let min = self.min_args;
                    format!("{min}, {}, {}, …", min + group, min + 2 * group)
                } else {
                    format!("at least {}", self.min_args)
                }
            }
        }
    }
}

const fn req(name: &'static str, ty: ValueType) -> Param {
    Param {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: ValueType) -> Param {
    Param {
        name,
        ty,
        required: false,
    }
}

use ValueType::{Boolean as B, DateTime as D, Integer as I, Reference as R, String as S};

#[allow(clippy::too_many_arguments)]
const fn def(
    func: Func,
    name: &'static str,
    params: &'static [Param],
    repeat_from: Option<usize>,
    min_args: usize,
    returns: ValueType,
    multivalued: bool,
    description: &'static str,
) -> FunctionDef {
    FunctionDef {
        func,
        name,
        params,
        repeat_from,
        min_args,
        returns,
        multivalued,
        description,
    }
}

/// The whole catalogue, in alphabetical order.
pub static FUNCTIONS: &[FunctionDef] = &[
    def(Func::Append, "Append", &[req("source", S), req("suffix", S)], None, 2, S, false,
        "Appends the suffix to the source string."),
    def(Func::AppRoleAssignmentsComplex, "AppRoleAssignmentsComplex", &[req("appRoleAssignments", R)], None, 1, S, true,
        "All app role assignments as SCIM roles (complex values); roles are only added, never removed."),
    def(Func::AssertiveAppRoleAssignmentsComplex, "AssertiveAppRoleAssignmentsComplex", &[req("appRoleAssignments", R)], None, 1, S, true,
        "All app role assignments as SCIM roles (complex values); the target's roles are replaced."),
    def(Func::BitAnd, "BitAnd", &[req("value1", I), req("value2", I)], None, 2, I, false,
        "Bitwise AND of two integers (hex literals such as &HF allowed)."),
    def(Func::CBool, "CBool", &[req("expression", S)], None, 1, B, false,
        "True if the expression is true or a non-zero number, else False."),
    def(Func::CDate, "CDate", &[req("expression", S)], None, 1, D, false,
        "Parses a string into a UTC DateTime (as text: M/d/yyyy h:mm:ss tt)."),
    def(Func::Coalesce, "Coalesce", &[req("source", S)], Some(0), 1, S, false,
        "The first argument that is not null (nor an empty string); a last argument of \"\" is the default."),
    def(Func::ConvertFromBase64, "ConvertFromBase64", &[req("source", S), opt("encoding", S)], None, 1, S, false,
        "Decodes Base64 to text; encoding UTF16 (default, as ConvertToBase64 writes) or UTF8."),
    def(Func::ConvertToBase64, "ConvertToBase64", &[req("source", S)], None, 1, S, false,
        "Base64 of the UTF-16LE bytes of the string."),
    def(Func::ConvertToUtf8Hex, "ConvertToUTF8Hex", &[req("source", S)], None, 1, S, false,
        "Upper-case hexadecimal of the UTF-8 bytes of the string."),
    def(Func::Count, "Count", &[req("attribute", S)], None, 1, I, false,
        "The number of values of a multi-valued attribute (0 for null, 1 for a single value)."),
    def(Func::CStr, "CStr", &[req("value", S)], None, 1, S, false,
        "The value as a string."),
    def(Func::DateAdd, "DateAdd", &[req("interval", S), req("value", I), req("dateTime", D)], None, 3, D, false,
        "Adds value intervals (yyyy, q, m, y, d, w, ww, h, n, s) to the date."),
    def(Func::DateDiff, "DateDiff", &[req("interval", S), req("date1", D), req("date2", D)], None, 3, I, false,
        "The number of intervals between date1 and date2 (date2 - date1)."),
    def(Func::DateFromNum, "DateFromNum", &[req("value", I)], None, 1, D, false,
        "An Active Directory FILETIME number (100 ns since 1601-01-01) as a DateTime."),
    def(Func::DefaultDomain, "DefaultDomain", &[], None, 0, S, false,
        "The tenant's default verified domain."),
    def(Func::Error, "Error", &[req("message", S)], None, 1, S, false,
        "Fails the flow with the message."),
    def(Func::FormatDateTime, "FormatDateTime", &[req("source", S), opt("dateTimeStyles", S), req("inputFormat", S), req("outputFormat", S)], None, 4, S, false,
        "Parses the source with a .NET inputFormat and writes it with a .NET outputFormat."),
    def(Func::Guid, "Guid", &[], None, 0, S, false,
        "A new random GUID."),
    def(Func::IgnoreFlowIfNullOrEmpty, "IgnoreFlowIfNullOrEmpty", &[req("expression", S)], None, 1, S, false,
        "The value, or no flow at all (the attribute is left out) when it is null or empty."),
    def(Func::Iif, "IIF", &[req("condition", B), req("valueIfTrue", S), req("valueIfFalse", S)], None, 3, S, false,
        "valueIfTrue when the condition holds, else valueIfFalse."),
    def(Func::InStr, "InStr", &[req("value1", S), req("value2", S), opt("start", I), opt("compareType", S)], None, 2, I, false,
        "1-based position of value2 in value1 from start (0 when absent); compareType vbBinaryCompare or vbTextCompare."),
    def(Func::IsNull, "IsNull", &[req("expression", S)], None, 1, B, false,
        "True if the expression is null."),
    def(Func::IsNullOrEmpty, "IsNullOrEmpty", &[req("expression", S)], None, 1, B, false,
        "True if the expression is null or an empty string."),
    def(Func::IsPresent, "IsPresent", &[req("expression", S)], None, 1, B, false,
        "True if the expression is neither null nor empty."),
    def(Func::IsString, "IsString", &[req("expression", S)], None, 1, B, false,
        "True if the expression is a string."),
    def(Func::Item, "Item", &[req("attribute", S), req("index", I)], None, 2, S, false,
        "The 1-based index-th value of a multi-valued attribute."),
    def(Func::Join, "Join", &[req("separator", S), req("source", S)], Some(1), 2, S, false,
        "Joins the values of the sources (multi-valued ones expanded, null and empty ones skipped) with the separator."),
    def(Func::Left, "Left", &[req("source", S), req("numChars", I)], None, 2, S, false,
        "The first numChars characters; 0 gives \"\", a negative count the whole string."),
    def(Func::Mid, "Mid", &[req("source", S), req("start", I), req("length", I)], None, 3, S, false,
        "length characters from the 1-based position start, clipped to the string."),
    def(Func::NormalizeDiacritics, "NormalizeDiacritics", &[req("source", S)], None, 1, S, false,
        "Replaces accented letters by their plain forms (ß → ss, æ → ae, ø → oe, ł → l)."),
    def(Func::Not, "Not", &[req("source", B)], None, 1, B, false,
        "False when the source is true, else True (null and non-boolean text included)."),
    def(Func::Now, "Now", &[], None, 0, D, false,
        "The current UTC time."),
    def(Func::NumFromDate, "NumFromDate", &[req("value", D)], None, 1, I, false,
        "A DateTime as an Active Directory FILETIME number."),
    def(Func::PCase, "PCase", &[req("source", S), opt("wordSeparators", S)], None, 1, S, false,
        "Proper case: each word's first letter upper case, the rest lower case."),
    def(Func::RandomString, "RandomString", &[req("length", I), opt("minimumNumbers", I), opt("minimumSpecialCharacters", I), opt("minimumCapital", I), opt("minimumLowerCase", I), opt("charactersToAvoid", S)], None, 1, S, false,
        "A random string of at most 256 characters with the given minimum counts of character classes."),
    def(Func::Redact, "Redact", &[req("source", S)], None, 1, S, false,
        "The value unchanged; provisioning logs show [Redact] instead."),
    def(Func::RemoveDuplicates, "RemoveDuplicates", &[req("attribute", S)], None, 1, S, true,
        "The values of a multi-valued attribute without duplicates, in first-seen order."),
    def(Func::Replace, "Replace", &[req("source", S), opt("oldValue", S), opt("regexPattern", S), opt("regexGroupName", S), opt("replacementValue", S), opt("replacementAttributeName", S), opt("template", S)], None, 1, S, false,
        "Literal, template, regular-expression, named-group and fallback-attribute replacement."),
    def(Func::SelectUniqueValue, "SelectUniqueValue", &[req("uniqueValueRule", S)], Some(0), 2, S, false,
        "The first candidate value that is not taken in the target."),
    def(Func::SingleAppRoleAssignment, "SingleAppRoleAssignment", &[req("appRoleAssignments", R)], None, 1, S, false,
        "The value of the user's one app role."),
    def(Func::Split, "Split", &[req("source", S), req("delimiter", S)], None, 2, S, true,
        "Splits the string into a multi-valued result, each part trimmed."),
    def(Func::StripSpaces, "StripSpaces", &[req("source", S)], None, 1, S, false,
        "Removes every space character."),
    def(Func::Switch, "Switch", &[req("source", S), opt("defaultValue", S), req("key", S), req("value", S)], Some(2), 4, S, false,
        "The value paired with the key equal (case-sensitively) to the source, else the default."),
    def(Func::ToLower, "ToLower", &[req("source", S), opt("culture", S)], None, 1, S, false,
        "Lower case (invariant culture unless one is given, e.g. tr-TR)."),
    def(Func::ToUpper, "ToUpper", &[req("source", S), opt("culture", S)], None, 1, S, false,
        "Upper case (invariant culture unless one is given, e.g. tr-TR)."),
    def(Func::Word, "Word", &[req("source", S), req("wordNumber", I), req("delimiters", S)], None, 3, S, false,
        "The 1-based wordNumber-th word, words being separated by any of the delimiter characters."),
];

/// The function named exactly `name` (names are case-sensitive).
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    FUNCTIONS.iter().find(|def| def.name == name)
}

/// The catalogue entry of `func`.
pub fn definition(func: Func) -> &'static FunctionDef {
    FUNCTIONS
        .iter()
        .find(|def| def.func == func)
        .unwrap_or(&FUNCTIONS[0])
}

/// One function in Graph's `attributeMappingFunctionSchema` shape.
pub fn function_schema_json(def: &FunctionDef) -> Json {
    let parameters: Vec<Json> = def
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| {
            json!({
                "name": param.name,
                "type": param.ty.as_str(),
                "allowMultipleOccurrences": def.repeats(i),
                "required": param.required,
            })
        })
        .collect();
    json!({ "name": def.name, "parameters": parameters })
}

/// The whole catalogue as Graph's `schema/functions` response body.
pub fn function_schemas_json() -> Json {
    json!({ "value": FUNCTIONS.iter().map(function_schema_json).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_one_definition() {
        for def in FUNCTIONS {
            assert_eq!(definition(def.func).name, def.name);
            assert_eq!(lookup(def.name).map(|d| d.func), Some(def.func));
            assert!(def.accepts_arity(def.min_args), "{}", def.name);
        }
        let mut names: Vec<&str> = FUNCTIONS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FUNCTIONS.len());
    }
}
