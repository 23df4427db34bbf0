//! A CQL subset: the parser and the evaluator used by `/content/search` and `/search`.
//!
//! Grammar (keywords case-insensitive):
//! ```text
//! query   := or [ORDER BY field [ASC|DESC] {, field [ASC|DESC]}]
//! or      := and {OR and}
//! and     := unary {AND unary}
//! unary   := NOT unary | '(' or ')' | cond
//! cond    := field ( = | != | ~ | !~ ) value  |  field [NOT] IN '(' value {, value} ')'
//! field   := space | type | title | text | label | ancestor | parent | id | creator
//! ```
//! `~` is a case-insensitive "contains every word" match (a `*` wildcard is ignored), close enough
//! to Confluence's full-text match for tests. Errors name what was expected and where.

use crate::model::{Content, Db};

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    NotContains,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cond {
        field: String,
        op: Op,
        values: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderField {
    Title,
    Created,
    LastModified,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub expr: Expr,
    pub order: Vec<(OrderField, bool)>,
}

const FIELDS: &[&str] = &[
    "space", "type", "title", "text", "label", "ancestor", "parent", "id", "creator", "content",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i;
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push((Tok::LParen, at));
                i += 1;
            }
            ')' => {
                out.push((Tok::RParen, at));
                i += 1;
            }
            ',' => {
                out.push((Tok::Comma, at));
                i += 1;
            }
            '=' => {
                out.push((Tok::Op("="), at));
                i += 1;
            }
            '~' => {
                out.push((Tok::Op("~"), at));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((Tok::Op("!="), at));
                i += 2;
            }
            '!' if chars.get(i + 1) == Some(&'~') => {
                out.push((Tok::Op("!~"), at));
                i += 2;
            }
            '"' | '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(format!(
                                "unterminated string starting at character {}",
                                at + 1
                            ))
                        }
                        Some('\\') if i + 1 < chars.len() => {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(&x) => {
                            v.push(x);
                            i += 1;
                        }
                    }
                }
                out.push((Tok::Str(v), at));
            }
            _ if c.is_alphanumeric() || "_-.*@:".contains(c) => {
                let mut v = String::new();
                while let Some(&x) = chars.get(i) {
                    if x.is_alphanumeric() || "_-.*@:".contains(x) {
                        v.push(x);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push((Tok::Word(v), at));
            }
            _ => return Err(format!("unexpected character '{c}' at position {}", at + 1)),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn where_(&self) -> String {
        match self.toks.get(self.pos) {
            Some((_, at)) => format!("at position {}", at + 1),
            None => "at the end of the query".into(),
        }
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(k))
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.kw("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.kw("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err(format!("expected ')' {}", self.where_()));
            }
            return Ok(e);
        }
        self.cond()
    }
    fn value(&mut self) -> Result<String, String> {
        let w = self.where_();
        match self.next() {
            Some(Tok::Word(v)) | Some(Tok::Str(v)) => Ok(v),
            _ => Err(format!("expected a value {w}")),
        }
    }
    fn cond(&mut self) -> Result<Expr, String> {
        let w = self.where_();
        let field = match self.next() {
            Some(Tok::Word(f)) => f.to_lowercase(),
            _ => return Err(format!("expected a field name {w}")),
        };
        if !FIELDS.contains(&field.as_str()) {
            return Err(format!(
                "unsupported field '{field}' {w}; supported: {}",
                FIELDS.join(", ")
            ));
        }
        let w = self.where_();
        let op = match self.next() {
            Some(Tok::Op("=")) => Op::Eq,
            Some(Tok::Op("!=")) => Op::Ne,
            Some(Tok::Op("~")) => Op::Contains,
            Some(Tok::Op("!~")) => Op::NotContains,
            Some(Tok::Word(k)) if k.eq_ignore_ascii_case("in") => Op::In,
            Some(Tok::Word(k)) if k.eq_ignore_ascii_case("not") => {
                if !self.kw("in") {
                    return Err(format!("expected IN after NOT {}", self.where_()));
                }
                self.pos += 1;
                Op::NotIn
            }
            _ => {
                return Err(format!(
                    "expected an operator (=, !=, ~, !~, IN, NOT IN) {w}"
                ))
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            if self.next() != Some(Tok::LParen) {
                return Err(format!("expected '(' after IN {}", self.where_()));
            }
            let mut vs = vec![self.value()?];
            loop {
                match self.next() {
                    Some(Tok::Comma) => vs.push(self.value()?),
                    Some(Tok::RParen) => break,
                    _ => return Err(format!("expected ',' or ')' {}", self.where_())),
                }
            }
            vs
        } else {
            vec![self.value()?]
        };
        Ok(Expr::Cond { field, op, values })
    }
    fn order(&mut self) -> Result<Vec<(OrderField, bool)>, String> {
        let mut v = Vec::new();
        if !self.kw("order") {
            return Ok(v);
        }
        self.pos += 1;
        if !self.kw("by") {
            return Err(format!("expected BY after ORDER {}", self.where_()));
        }
        self.pos += 1;
        loop {
            let w = self.where_();
            let f = match self.next() {
                Some(Tok::Word(f)) => match f.to_lowercase().as_str() {
                    "title" => OrderField::Title,
                    "created" => OrderField::Created,
                    "lastmodified" => OrderField::LastModified,
                    other => {
                        return Err(format!(
                            "cannot order by '{other}' {w}; use title, created or lastmodified"
                        ))
                    }
                },
                _ => return Err(format!("expected a field to order by {w}")),
            };
            let mut asc = true;
            if self.kw("asc") {
                self.pos += 1;
            } else if self.kw("desc") {
                self.pos += 1;
                asc = false;
            }
            v.push((f, asc));
            if self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
            } else {
                return Ok(v);
            }
        }
    }
}

pub fn parse(cql: &str) -> Result<Query, String> {
    let toks = tokenize(cql)?;
    if toks.is_empty() {
        return Err("the query is empty".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let expr = p.or()?;
    let order = p.order()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected input {}", p.where_()));
    }
    Ok(Query { expr, order })
}

fn words_match(hay: &str, needle: &str) -> bool {
    let hay = hay.to_lowercase();
    needle
        .to_lowercase()
        .split_whitespace()
        .map(|w| w.trim_matches('*'))
        .filter(|w| !w.is_empty())
        .all(|w| hay.contains(w))
}

fn cond(db: &Db, c: &Content, field: &str, op: &Op, values: &[String]) -> bool {
    let one = |v: &str| -> bool {
        match (field, op) {
            ("space", _) => c.space_key.eq_ignore_ascii_case(v),
            ("type", _) => c.kind.eq_ignore_ascii_case(v),
            ("title", Op::Contains | Op::NotContains) => words_match(&c.title, v),
            ("title", _) => c.title == v,
            ("text" | "content", Op::Contains | Op::NotContains) => {
                words_match(&format!("{} {}", c.title, c.body_storage), v)
            }
            ("text" | "content", _) => c.body_storage == v,
            ("label", _) => c.labels.iter().any(|l| l.eq_ignore_ascii_case(v)),
            ("ancestor", _) => db.ancestors_of(c.id).iter().any(|a| a.id.to_string() == v),
            ("parent", _) => c.parent_id.is_some_and(|p| p.to_string() == v),
            ("id", _) => c.id.to_string() == v,
            ("creator", _) => c.author.eq_ignore_ascii_case(v),
            _ => false,
        }
    };
    let any = values.iter().any(|v| one(v));
    match op {
        Op::Eq | Op::Contains | Op::In => any,
        Op::Ne | Op::NotContains | Op::NotIn => !any,
    }
}

pub fn matches(db: &Db, c: &Content, e: &Expr) -> bool {
    match e {
        Expr::And(a, b) => matches(db, c, a) && matches(db, c, b),
        Expr::Or(a, b) => matches(db, c, a) || matches(db, c, b),
        Expr::Not(a) => !matches(db, c, a),
        Expr::Cond { field, op, values } => cond(db, c, field, op, values),
    }
}

/// Current content matching the query, in the requested order (default: by id).
pub fn run<'a>(db: &'a Db, q: &Query) -> Vec<&'a Content> {
    let mut v: Vec<&Content> = db
        .content
        .values()
        .filter(|c| c.status == "current" && matches(db, c, &q.expr))
        .collect();
    for (f, asc) in q.order.iter().rev() {
        v.sort_by(|a, b| {
            let o = match f {
                OrderField::Title => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
                OrderField::Created => a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)),
                OrderField::LastModified => a.updated_at.cmp(&b.updated_at).then(a.id.cmp(&b.id)),
            };
            if *asc {
                o
            } else {
                o.reverse()
            }
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_and_order() {
        let q = parse("space = DEV and (title ~ \"a b\" or label in (x, 'y')) and not type = blogpost order by title desc").unwrap();
        assert_eq!(q.order, vec![(OrderField::Title, false)]);
        match q.expr {
            Expr::And(l, r) => {
                assert!(matches!(*r, Expr::Not(_)));
                assert!(matches!(*l, Expr::And(_, _)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("space = ").unwrap_err().contains("expected a value"));
        assert!(parse("colour = red")
            .unwrap_err()
            .contains("unsupported field 'colour'"));
        assert!(parse("title ~ \"open")
            .unwrap_err()
            .contains("unterminated"));
        assert!(parse("space = A B")
            .unwrap_err()
            .contains("unexpected input"));
        assert!(parse("space in (A, B")
            .unwrap_err()
            .contains("expected ',' or ')'"));
        assert!(parse("space = A order by size")
            .unwrap_err()
            .contains("cannot order by"));
    }

    #[test]
    fn evaluates_against_seeded_content() {
        let cfg = crate::SimConfig::parse("flavor = \"dc\"").unwrap();
        let db = crate::world::build(&cfg, 0);
        let all_dev = run(&db, &parse("space = DEV").unwrap()).len();
        assert_eq!(all_dev, 13);
        let both = run(&db, &parse("space in (DEV, OPS)").unwrap()).len();
        assert_eq!(both, 26);
        let not_dev = run(&db, &parse("NOT space = DEV").unwrap()).len();
        assert_eq!(not_dev, 13);
        let home = db.spaces["DEV"].homepage_id.unwrap();
        let under = run(&db, &parse(&format!("ancestor = {home}")).unwrap()).len();
        assert_eq!(under, 12);
        let labelled = run(&db, &parse("label = howto").unwrap());
        assert!(
            !labelled.is_empty()
                && labelled
                    .iter()
                    .all(|c| c.labels.contains(&"howto".to_string()))
        );
        let sorted = run(&db, &parse("space = DEV order by title desc").unwrap());
        assert!(sorted
            .windows(2)
            .all(|w| w[0].title.to_lowercase() >= w[1].title.to_lowercase()));
    }
}
