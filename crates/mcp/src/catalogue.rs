//! The tool catalogue: names, what each does (written for a model choosing a tool) and the
//! JSON Schema of its arguments. Schemas are written out rather than derived, so the server
//! needs no schema generator at run time and the descriptions read as prose.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Value};

/// Whether a tool only reads or also changes Confluence (`--read-only` refuses the latter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Read,
    Write,
}

/// Every tool, in the order `tools/list` shows them.
pub const NAMES: &[&str] = &[
    "search",
    "get_page",
    "get_page_children",
    "get_space_tree",
    "list_spaces",
    "get_attachment",
    "get_labels",
    "create_page",
    "update_page",
    "add_label",
    "add_comment",
];

pub fn kind(name: &str) -> Option<ToolKind> {
    match name {
        "search" | "get_page" | "get_page_children" | "get_space_tree" | "list_spaces"
        | "get_attachment" | "get_labels" => Some(ToolKind::Read),
        "create_page" | "update_page" | "add_label" | "add_comment" => Some(ToolKind::Write),
        _ => None,
    }
}

const PAGE_REF: &str = "The page: its id (123456), its URL, or SPACE:Title (exact title).";

fn page_ref() -> Value {
    json!({"type": "string", "description": PAGE_REF})
}

fn list_args() -> (Value, Value) {
    (
        json!({"type": "integer", "minimum": 1, "maximum": crate::sizing::MAX_LIST_LIMIT,
               "description": "How many items to return (default 25, at most 100)."}),
        json!({"type": "string",
               "description": "The `cursor` of the previous answer, to get the next items."}),
    )
}

fn window_args() -> (Value, Value) {
    (
        json!({"type": "integer", "minimum": 0,
               "description": "Start of the text, in characters (default 0); use `nextOffset` of the previous answer to read on."}),
        json!({"type": "integer", "minimum": 1, "maximum": crate::sizing::MAX_TEXT_LIMIT,
               "description": "Characters to return (default 20000, at most 100000)."}),
    )
}

fn schema(properties: Value, required: &[&str]) -> Arc<JsonObject> {
    let mut s = json!({"type": "object", "properties": properties, "additionalProperties": false});
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    match s {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The definition of the tool `name` (one of [`NAMES`]).
pub fn definition(name: &'static str) -> Option<Tool> {
    let (limit, cursor) = list_args();
    let (offset, chars) = window_args();
    let (description, input) = match name {
        "search" => (
            "Search Confluence. Give `text` (plain words, searched in titles and bodies) or `cql` \
             (Confluence Query Language, e.g. `space = DEV and type = page and title ~ \"plan\"`). \
             Returns matching pages and blog posts with id, title, space and URL.",
            schema(
                json!({"text": {"type": "string", "description": "Plain words to look for."},
                       "cql": {"type": "string", "description": "A CQL query (used instead of `text`)."},
                       "space": {"type": "string", "description": "Only this space key (with `text`)."},
                       "limit": limit, "cursor": cursor}),
                &[],
            ),
        ),
        "get_page" => (
            "Read a page: title, space, version, parent and the body, as Markdown by default \
             (`format: storage` for Confluence's XHTML storage format). Long bodies come in \
             windows: read on with `offset` = the answer's `nextOffset`.",
            schema(
                json!({"page": page_ref(),
                       "format": {"type": "string", "enum": ["markdown", "storage"], "description": "Body format (default markdown)."},
                       "offset": offset, "limit": chars}),
                &["page"],
            ),
        ),
        "get_page_children" => (
            "List the direct children of a page (on Cloud also of a folder; folders are listed \
             with type `folder`).",
            schema(
                json!({"page": page_ref(), "limit": limit, "cursor": cursor}),
                &["page"],
            ),
        ),
        "get_space_tree" => (
            "List every page of a space (and on Cloud its folders) with its parent, to see how \
             the space is organised.",
            schema(
                json!({"space": {"type": "string", "description": "The space key, e.g. DEV."},
                       "limit": limit, "cursor": cursor}),
                &["space"],
            ),
        ),
        "list_spaces" => (
            "List the spaces this server may read, with key, name and home page id.",
            schema(json!({"limit": limit, "cursor": cursor}), &[]),
        ),
        "get_attachment" => (
            "Without `name`: list a page's attachments (name, media type, size). With `name`: \
             that attachment's metadata, and its content when it is text (text/*, JSON, XML, \
             CSV, Markdown…), in windows like get_page.",
            schema(
                json!({"page": page_ref(),
                       "name": {"type": "string", "description": "The attachment's file name."},
                       "offset": offset, "limit": chars, "cursor": cursor}),
                &["page"],
            ),
        ),
        "get_labels" => (
            "List a page's labels.",
            schema(json!({"page": page_ref()}), &["page"]),
        ),
        _ => {
            return write_tool(name).map(|(description, input)| annotated(name, description, input))
        }
    };
    Some(annotated(name, description, input))
}

/// The description and input schema of a write tool (`None`: not one).
fn write_tool(name: &str) -> Option<(&'static str, Arc<JsonObject>)> {
    Some(match name {
        "create_page" => (
            "Create a page in a space, at its top or under a parent page. The body is Markdown \
             (converted to Confluence's format) unless `format` is `storage`.",
            schema(
                json!({"space": {"type": "string", "description": "The space key."},
                       "title": {"type": "string"},
                       "body": {"type": "string", "description": "The page body (Markdown by default)."},
                       "parent": {"type": "string", "description": "The parent page (id, URL or SPACE:Title); default the top of the space."},
                       "format": {"type": "string", "enum": ["markdown", "storage"]}}),
                &["space", "title", "body"],
            ),
        ),
        "update_page" => (
            "Replace a page's body and/or title; the version number is handled for you. Pass \
             `baseVersion` (the `version` get_page returned) so the update fails instead of \
             overwriting someone's newer change.",
            schema(
                json!({"page": page_ref(),
                       "body": {"type": "string", "description": "The new body (Markdown by default)."},
                       "title": {"type": "string", "description": "A new title."},
                       "baseVersion": {"type": "integer", "minimum": 1, "description": "The version your change is based on."},
                       "format": {"type": "string", "enum": ["markdown", "storage"]}}),
                &["page"],
            ),
        ),
        "add_label" => (
            "Add labels to a page (single words; use - or _ instead of spaces). Returns the \
             page's labels afterwards.",
            schema(
                json!({"page": page_ref(),
                       "labels": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
                &["page", "labels"],
            ),
        ),
        "add_comment" => (
            "Add a comment at the bottom of a page. The body is Markdown unless `format` is \
             `storage`.",
            schema(
                json!({"page": page_ref(),
                       "body": {"type": "string"},
                       "format": {"type": "string", "enum": ["markdown", "storage"]}}),
                &["page", "body"],
            ),
        ),
        _ => return None,
    })
}

fn annotated(name: &'static str, description: &'static str, input: Arc<JsonObject>) -> Tool {
    let read = kind(name) == Some(ToolKind::Read);
    let annotations = ToolAnnotations::new()
        .read_only(read)
        .destructive(false)
        .open_world(false);
    Tool::new(name, description, input).annotate(annotations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_kind_and_a_definition_whose_required_fields_exist() {
        for name in NAMES {
            assert!(kind(name).is_some(), "{name}");
            let tool = definition(name).unwrap_or_else(|| panic!("{name} has no definition"));
            let props = tool.input_schema["properties"].as_object().unwrap();
            for r in tool
                .input_schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(props.contains_key(r.as_str().unwrap()), "{name}: {r}");
            }
        }
        assert!(kind("delete_page").is_none());
    }
}
