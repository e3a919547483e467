//! Record readers for import files: JSON Lines and CSV, read one record at a time so that
//! memory stays flat whatever the file size. A reader never stops at a bad record: it yields
//! the line and the reason, and goes on; only an IO error (or, for CSV, a bad header) ends it.

use std::io::{BufRead, Read};

use anyhow::{bail, Context};
use provisio_directory::import::{self, kind_of};
use provisio_directory::schema::{self, PropertyType};
use provisio_directory::ObjectKind;
use serde_json::{Map, Value};

/// One record of an import file, not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based physical line where the record starts.
    pub line: u64,
    pub kind: ObjectKind,
    pub object: Map<String, Value>,
}

/// What a reader yields for each record.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(Record),
    /// A record that could not even be read (bad JSON, a CSV row of the wrong width).
    Invalid {
        line: u64,
        message: String,
    },
}

/// Reads JSON Lines: one JSON object per line, blank lines skipped.
pub struct JsonLines<R> {
    input: R,
    default_kind: ObjectKind,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonLines<R> {
    pub fn new(input: R, default_kind: ObjectKind) -> Self {
        JsonLines {
            input,
            default_kind,
            line: 0,
            buf: Vec::with_capacity(4096),
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = anyhow::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(error) => {
                    return Some(
                        Err(error).with_context(|| format!("reading line {}", self.line + 1)),
                    )
                }
            }
            self.line += 1;
            let line = self.line;
            return Some(Ok(
                match import::parse_line(line, &self.buf, self.default_kind) {
                    None => continue,
                    Some(Ok((kind, object))) => Item::Record(Record { line, kind, object }),
                    Some(Err(message)) => Item::Invalid { line, message },
                },
            ));
        }
    }
}

/// What a CSV column holds.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    /// A Graph property (canonical name) or an extension attribute.
    Property(String),
    Manager,
    Members,
    ODataType,
}

/// Reads CSV whose header names Graph properties (any case), extension attributes
/// (`extension_<32 hex>_<name>`), `manager`, `members`, `id` and `@odata.type`. Cells are typed
/// by the property: booleans from `true`/`false` in any case, collections and `members` split
/// on `;`; an empty cell is an absent property.
pub struct Csv<R> {
    reader: csv::Reader<R>,
    columns: Vec<Column>,
    default_kind: ObjectKind,
    row: csv::StringRecord,
}

impl<R: Read> Csv<R> {
    /// Reads the header; an unknown or repeated column is an error, before any record is read.
    pub fn new(input: R, default_kind: ObjectKind) -> anyhow::Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(input);
        let header = reader.headers().context("reading the CSV header")?.clone();
        let has_type_column = header
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case("@odata.type"));
        // With a type column a row may be a user or a group, so a column may name a property
        // of either; without one, every row is of the default kind.
        let kinds: &[ObjectKind] = if has_type_column {
            &[ObjectKind::User, ObjectKind::Group]
        } else {
            std::slice::from_ref(&default_kind)
        };
        let mut columns: Vec<Column> = Vec::with_capacity(header.len());
        for name in header.iter() {
            let name = name.trim();
            let column = if name.eq_ignore_ascii_case("@odata.type") {
                Column::ODataType
            } else if name.eq_ignore_ascii_case("manager") {
                Column::Manager
            } else if name.eq_ignore_ascii_case("members") {
                Column::Members
            } else if schema::is_extension_name(name) {
                Column::Property(name.to_string())
            } else if let Some(p) = kinds.iter().find_map(|k| schema::property(*k, name)) {
                Column::Property(p.name.to_string())
            } else {
                bail!(
                    "unknown column '{name}' in the CSV header: not a property of a Graph {}, an \
                     extension attribute (extension_<32 hex digits>_<name>), manager, members or @odata.type",
                    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ")
                );
            };
            if columns.contains(&column) {
                bail!("column '{name}' appears twice in the CSV header");
            }
            columns.push(column);
        }
        Ok(Csv {
            reader,
            columns,
            default_kind,
            row: csv::StringRecord::new(),
        })
    }

    fn record(&self, line: u64) -> Record {
        let kind = self
            .columns
            .iter()
            .zip(self.row.iter())
            .find(|(c, _)| **c == Column::ODataType)
            .map(|(_, cell)| {
                let mut m = Map::new();
                m.insert("@odata.type".into(), Value::String(cell.trim().to_string()));
                kind_of(&m, self.default_kind)
            })
            .unwrap_or(self.default_kind);
        let mut object = Map::with_capacity(self.columns.len());
        for (column, cell) in self.columns.iter().zip(self.row.iter()) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let (name, value) = match column {
                Column::ODataType => ("@odata.type", Value::String(cell.to_string())),
                Column::Manager => ("manager", Value::String(cell.to_string())),
                Column::Members => ("members", split_list(cell)),
                Column::Property(name) => (name.as_str(), typed_cell(kind, name, cell)),
            };
            object.insert(name.to_string(), value);
        }
        Record { line, kind, object }
    }
}

/// A cell as the JSON value its property's type calls for. A value that does not fit the
/// type stays a string, so that validation reports it as the server would.
fn typed_cell(kind: ObjectKind, name: &str, cell: &str) -> Value {
    match schema::property(kind, name).map(|p| p.ty) {
        Some(PropertyType::Boolean) if cell.eq_ignore_ascii_case("true") => Value::Bool(true),
        Some(PropertyType::Boolean) if cell.eq_ignore_ascii_case("false") => Value::Bool(false),
        Some(PropertyType::StringCollection) => split_list(cell),
        _ => Value::String(cell.to_string()),
    }
}

/// `a; b;;c` → `["a", "b", "c"]`.
fn split_list(cell: &str) -> Value {
    Value::Array(
        cell.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect(),
    )
}

impl<R: Read> Iterator for Csv<R> {
    type Item = anyhow::Result<Item>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_record(&mut self.row) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.row.position().map_or(0, |p| p.line());
                Some(Ok(Item::Record(self.record(line))))
            }
            Err(error) => match error.kind() {
                csv::ErrorKind::Io(_) => Some(Err(error).context("reading the CSV file")),
                _ => {
                    let line = error.position().map_or(0, |p| p.line());
                    let message = match error.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => {
                            format!("invalid CSV: {len} cells where the header has {expected_len}")
                        }
                        _ => format!("invalid CSV: {error}"),
                    };
                    Some(Ok(Item::Invalid { line, message }))
                }
            },
        }
    }
}

/// A reader that counts the bytes read through it, for the progress bar.
pub struct Counting<R> {
    pub inner: R,
    pub count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provisio_directory::{import, ObjectRef, ReferenceKind};
    use serde_json::json;

    const EXT: &str = "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter";

    /// What a reader yields, in a form easy to write down: `(line, kind, object)` or
    /// `(line, error)`.
    fn shown(items: impl Iterator<Item = anyhow::Result<Item>>) -> Vec<Value> {
        items
            .map(|item| match item.expect("no IO error") {
                Item::Record(r) => json!([r.line, r.kind.as_str(), r.object]),
                Item::Invalid { line, message } => json!([line, message]),
            })
            .collect()
    }

    fn check_csv(kind: ObjectKind, input: &str, expected: Value) {
        let reader = Csv::new(input.as_bytes(), kind).expect("a valid header");
        assert_eq!(Value::Array(shown(reader)), expected, "{input}");
    }

    fn check_jsonl(input: &str, expected: Value) {
        let reader = JsonLines::new(input.as_bytes(), ObjectKind::User);
        assert_eq!(Value::Array(shown(reader)), expected, "{input}");
    }

    #[test]
    fn csv_cells_are_typed_by_property() {
        use ObjectKind::{Group, User};
        // Booleans in any case; a value that is not one stays a string for validation to refuse.
        check_csv(
            User,
            "userPrincipalName,displayName,accountEnabled\na@x.com,A,TRUE\nb@x.com,B,false\nc@x.com,C,yes\n",
            json!([
                [2, "user", {"userPrincipalName": "a@x.com", "displayName": "A", "accountEnabled": true}],
                [3, "user", {"userPrincipalName": "b@x.com", "displayName": "B", "accountEnabled": false}],
                [4, "user", {"userPrincipalName": "c@x.com", "displayName": "C", "accountEnabled": "yes"}],
            ]),
        );
        // Collections split on `;`, items trimmed; an empty cell is an absent property.
        check_csv(
            User,
            "userPrincipalName,displayName,businessPhones,otherMails,jobTitle\na@x.com,A,+1 555 0100; +1 555 0101;,,\n",
            json!([[2, "user", {"userPrincipalName": "a@x.com", "displayName": "A",
                                "businessPhones": ["+1 555 0100", "+1 555 0101"]}]]),
        );
        // Header names in any case become canonical; extension attributes are kept as named.
        check_csv(
            User,
            &format!("USERPRINCIPALNAME,displayname,{EXT}\na@x.com,A,4711\n"),
            json!([[2, "user", {"userPrincipalName": "a@x.com", "displayName": "A", EXT: "4711"}]]),
        );
        // Quoted cells with commas, quotes and newlines: the next record's line stays right.
        check_csv(
            User,
            "userPrincipalName,displayName,streetAddress\na@x.com,\"Doe, Jane\",\"1 Main St\nApt \"\"2\"\"\"\nb@x.com,B,\n",
            json!([
                [2, "user", {"userPrincipalName": "a@x.com", "displayName": "Doe, Jane", "streetAddress": "1 Main St\nApt \"2\""}],
                [4, "user", {"userPrincipalName": "b@x.com", "displayName": "B"}],
            ]),
        );
        // A type column mixes users and groups; manager and members are references.
        check_csv(
            User,
            "@odata.type,displayName,mailNickname,members,userPrincipalName,manager,description\n\
             #microsoft.graph.group,Sales,sales,a@x.com; eng-team,,,Sellers\n\
             ,Ann,,,ann@x.com,boss@x.com,\n",
            json!([
                [2, "group", {"@odata.type": "#microsoft.graph.group", "displayName": "Sales", "mailNickname": "sales",
                              "members": ["a@x.com", "eng-team"], "description": "Sellers"}],
                [3, "user", {"displayName": "Ann", "userPrincipalName": "ann@x.com", "manager": "boss@x.com"}],
            ]),
        );
        // --type group: group properties without a type column.
        check_csv(
            Group,
            "displayName,securityEnabled,groupTypes\nSales,False,Unified\n",
            json!([[2, "group", {"displayName": "Sales", "securityEnabled": false, "groupTypes": ["Unified"]}]]),
        );
        // A row of the wrong width is reported on its line, and reading goes on.
        check_csv(
            User,
            "userPrincipalName,displayName\na@x.com\nb@x.com,B\n",
            json!([
                [2, "invalid CSV: 1 cells where the header has 2"],
                [3, "user", {"userPrincipalName": "b@x.com", "displayName": "B"}],
            ]),
        );
    }

    #[test]
    fn csv_headers_that_cannot_be_read_name_the_column() {
        for (kind, header, expected) in [
            (
                ObjectKind::User,
                "userPrincipalName,shoeSize\n",
                "unknown column 'shoeSize'",
            ),
            // Without a type column, a group property is not a user column.
            (
                ObjectKind::User,
                "userPrincipalName,description\n",
                "unknown column 'description'",
            ),
            (
                ObjectKind::Group,
                "displayName,jobTitle\n",
                "unknown column 'jobTitle'",
            ),
            (
                ObjectKind::User,
                "userPrincipalName,UserPrincipalName\n",
                "column 'UserPrincipalName' appears twice",
            ),
            (
                ObjectKind::User,
                "extension_zz_costCenter\n",
                "unknown column 'extension_zz_costCenter'",
            ),
        ] {
            let error = Csv::new(header.as_bytes(), kind)
                .err()
                .expect(header)
                .to_string();
            assert!(error.starts_with(expected), "{header}: {error}");
        }
    }

    #[test]
    fn json_lines_report_bad_lines_and_go_on() {
        check_jsonl(
            "\u{feff}{\"userPrincipalName\":\"a@x.com\"}\r\n\n   \n{bad\n[1]\n{\"@odata.type\":\"microsoft.graph.GROUP\",\"displayName\":\"G\"}\n{\"@odata.type\":\"#microsoft.graph.device\"}",
            json!([
                [1, "user", {"userPrincipalName": "a@x.com"}],
                [4, "invalid JSON: key must be a string at column 2"],
                [5, "a record must be a JSON object"],
                [6, "group", {"@odata.type": "microsoft.graph.GROUP", "displayName": "G"}],
                [7, "user", {"@odata.type": "#microsoft.graph.device"}],
            ]),
        );
    }

    #[test]
    fn references_are_ids_user_principal_names_or_mail_nicknames() {
        let id = "0b1f6b5e-8a4e-4c4e-9c55-0e4f0a4e3b7e";
        let input = format!(
            "@odata.type,displayName,members\n#microsoft.graph.group,Sales,a@contoso.com;eng-team; {id} ;\n"
        );
        let Some(Ok(Item::Record(record))) =
            Csv::new(input.as_bytes(), ObjectKind::User).unwrap().next()
        else {
            panic!("one record")
        };
        let (_, links) = import::record(record.line, record.kind, record.object).unwrap();
        let targets: Vec<(ReferenceKind, ObjectRef)> =
            links.into_iter().map(|l| (l.kind, l.to)).collect();
        assert_eq!(
            targets,
            [
                (
                    ReferenceKind::Member,
                    ObjectRef::UserPrincipalName("a@contoso.com".into())
                ),
                (
                    ReferenceKind::Member,
                    ObjectRef::MailNickname("eng-team".into())
                ),
                (ReferenceKind::Member, ObjectRef::Id(id.parse().unwrap())),
            ]
        );
    }
}
