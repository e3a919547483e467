//! Object ids in request paths and bodies: GUIDs, refused in Graph's words otherwise.

use provisio_directory::{DirectoryError, ErrorCode};
use uuid::Uuid;

use crate::GraphError;

/// An object id a request names, kept with its spelling: Graph's messages quote an id as
/// the request wrote it (upper case, braces and all), while the directory names it by GUID.
#[derive(Debug, Clone)]
pub struct PathId {
    pub uuid: Uuid,
    text: String,
}

impl PathId {
    /// Ids are GUIDs; anything else cannot name an object.
    pub fn parse(text: &str) -> Result<PathId, GraphError> {
        Ok(PathId {
            uuid: parse_id(text)?,
            text: text.to_string(),
        })
    }

    /// The directory's error, with "this id does not exist" quoting the id as spelled.
    pub fn quoted(&self, e: DirectoryError) -> DirectoryError {
        if e.code == ErrorCode::ResourceNotFound
            && e == DirectoryError::not_found(&self.uuid.to_string())
        {
            DirectoryError::not_found(&self.text)
        } else {
            e
        }
    }

    /// [`PathId::quoted`], as Graph's error.
    pub fn graph_error(&self, e: DirectoryError) -> GraphError {
        self.quoted(e).into()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Ids are GUIDs; anything else cannot name an object.
pub fn parse_id(text: &str) -> Result<Uuid, GraphError> {
    Uuid::try_parse(text)
        .map_err(|_| GraphError::bad_request(format!("Invalid object identifier '{text}'.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_guids_and_messages_quote_them_as_given() {
        let upper = "0F8FAD5B-D9CB-469F-A165-70867728950E";
        let cases = [
            (upper, Ok(upper)),
            (
                "{0f8fad5b-d9cb-469f-a165-70867728950e}",
                Ok("{0f8fad5b-d9cb-469f-a165-70867728950e}"),
            ),
            ("me", Err("Invalid object identifier 'me'.")),
            ("", Err("Invalid object identifier ''.")),
        ];
        for (text, expected) in cases {
            let got = PathId::parse(text).map(|id| {
                let missing = DirectoryError::not_found(&id.uuid.to_string());
                id.quoted(missing).message
            });
            let expected = expected.map(|spelled| DirectoryError::not_found(spelled).message);
            assert_eq!(
                got.map_err(|e| e.message),
                expected.map_err(str::to_string),
                "{text}"
            );
        }
        let id = PathId::parse(upper).expect("a GUID");
        let other = DirectoryError::bad_request("A user cannot be their own manager.");
        assert_eq!(id.quoted(other.clone()), other);
    }
}
