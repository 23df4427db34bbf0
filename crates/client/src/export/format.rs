//! The formats a page can be exported in, and the file extension each gets.

/// The body format written for each page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Storage,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Storage => "storage",
        }
    }
    pub(super) fn ext(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Storage => "xml",
        }
    }
}
