//! Record readers for import files: JSON Lines and CSV, read one record at a time so that
//! memory stays flat whatever the file size. A reader never stops at a bad record: it yields
//! the line and the reason, and goes on; only an IO error (or, for CSV, a bad header) ends it.

use std::io::{BufRead, Read};

use anyhow::{bail, Context};
use provisio_engine::directory::schema::{self, PropertyType};
use provisio_engine::directory::ObjectKind;
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

/// The kind a record's `@odata.type` names (`#microsoft.graph.group`, with or without `#`),
/// or `default` when it names none or something else (validation then reports it).
pub fn kind_of(object: &Map<String, Value>, default: ObjectKind) -> ObjectKind {
    let Some(value) = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.type"))
        .and_then(|(_, v)| v.as_str())
    else {
        return default;
    };
    let name = value.trim_start_matches('#');
    [ObjectKind::User, ObjectKind::Group]
        .into_iter()
        .find(|kind| name.eq_ignore_ascii_case(&kind.odata_type()[1..]))
        .unwrap_or(default)
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
            let mut text: &[u8] = &self.buf;
            if self.line == 1 {
                text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            return Some(Ok(match serde_json::from_slice::<Value>(text) {
                Ok(Value::Object(object)) => Item::Record(Record {
                    line,
                    kind: kind_of(&object, self.default_kind),
                    object,
                }),
                Ok(_) => Item::Invalid {
                    line,
                    message: "a record must be a JSON object".to_string(),
                },
                Err(error) => Item::Invalid {
                    line,
                    message: format!("invalid JSON: {error}"),
                },
            }));
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
