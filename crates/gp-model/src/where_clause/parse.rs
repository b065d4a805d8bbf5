//! The clause's text into its tree: a lexer (strings with `''`, quoted names,
//! numbers, symbols) and a recursive-descent parser bounded in depth.

use chrono::{NaiveDate, NaiveDateTime};

use super::{Cmp, Expr, MAX_DEPTH, Operand, WhereError};
use crate::fields::AttrValue;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64, bool),
    Str(String),
    Sym(&'static str),
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, WhereError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |m: String, at| WhereError { message: m, at };
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'\'' {
            let mut text = String::new();
            i += 1;
            loop {
                let Some(rel) = s[i..].find('\'') else {
                    return Err(err("a string is not closed with '".into(), start));
                };
                text.push_str(&s[i..i + rel]);
                i += rel + 1;
                if b.get(i) == Some(&b'\'') {
                    text.push('\'');
                    i += 1;
                } else {
                    break;
                }
            }
            out.push((Tok::Str(text), start));
            continue;
        }
        if c == b'"' {
            let Some(rel) = s[i + 1..].find('"') else {
                return Err(err(
                    "a quoted field name is not closed with \"".into(),
                    start,
                ));
            };
            out.push((Tok::Ident(s[i + 1..i + 1 + rel].to_string()), start));
            i += rel + 2;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &s[start..i];
            let v: f64 = text
                .parse()
                .map_err(|_| err(format!("`{text}` is not a number"), start))?;
            out.push((Tok::Num(v, !text.contains(['.', 'e', 'E'])), start));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push((Tok::Ident(s[start..i].to_string()), start));
            continue;
        }
        let two = s.get(i..i + 2).unwrap_or("");
        let sym = match two {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "<>" => Some("<>"),
            "!=" => Some("<>"),
            _ => None,
        };
        if let Some(sym) = sym {
            out.push((Tok::Sym(sym), start));
            i += 2;
            continue;
        }
        let sym = match c {
            b'=' => "=",
            b'<' => "<",
            b'>' => ">",
            b'(' => "(",
            b')' => ")",
            b',' => ",",
            b'-' => "-",
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(err(format!("`{ch}` is not allowed here"), start));
            }
        };
        out.push((Tok::Sym(sym), start));
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

fn kw(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word))
}

const RESERVED: &[&str] = &[
    "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "BETWEEN", "ESCAPE",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }

    fn fail<T>(&self, m: impl Into<String>) -> Result<T, WhereError> {
        Err(WhereError {
            message: m.into(),
            at: self.at(),
        })
    }

    fn eat_kw(&mut self, word: &str) -> bool {
        if kw(self.peek(), word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), WhereError> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            self.fail(format!("expected `{sym}`"))
        }
    }

    fn deeper(&mut self) -> Result<(), WhereError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, WhereError> {
        let mut left = self.and()?;
        while self.eat_kw("OR") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, WhereError> {
        let mut left = self.not()?;
        while self.eat_kw("AND") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, WhereError> {
        if self.eat_kw("NOT") {
            self.deeper()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, WhereError> {
        // A parenthesis opens a sub-expression unless it is an operand's: try the
        // expression first, then fall back to a predicate on a parenthesised operand.
        if matches!(self.peek(), Some(Tok::Sym("("))) {
            let (save, depth) = (self.pos, self.depth);
            self.pos += 1;
            self.deeper()?;
            if let Ok(e) = self.or()
                && self.eat_sym(")")
            {
                self.depth = depth;
                return Ok(e);
            }
            // A failed attempt may have stopped deeper down: back to where it began.
            self.depth = depth;
            self.pos = save;
        }
        self.predicate()
    }

    fn operand(&mut self) -> Result<Operand, WhereError> {
        let at = self.at();
        match self.peek().cloned() {
            Some(Tok::Num(v, int)) => {
                self.pos += 1;
                Ok(Operand::Value(number(v, int)))
            }
            Some(Tok::Sym("-")) => {
                self.pos += 1;
                match self.peek().cloned() {
                    Some(Tok::Num(v, int)) => {
                        self.pos += 1;
                        Ok(Operand::Value(number(-v, int)))
                    }
                    _ => self.fail("expected a number after `-`"),
                }
            }
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Operand::Value(AttrValue::String(s)))
            }
            Some(Tok::Sym("(")) => {
                self.pos += 1;
                self.deeper()?;
                let o = self.operand()?;
                self.expect_sym(")")?;
                self.depth -= 1;
                Ok(o)
            }
            Some(Tok::Ident(w)) => {
                self.pos += 1;
                let upper = w.to_ascii_uppercase();
                if (upper == "DATE" || upper == "TIMESTAMP")
                    && let Some(Tok::Str(text)) = self.peek().cloned()
                {
                    self.pos += 1;
                    return match parse_date(&text) {
                        Some(ms) => Ok(Operand::Value(AttrValue::Int(ms))),
                        None => Err(WhereError {
                            message: format!(
                                "`{text}` is not a date (yyyy-mm-dd or yyyy-mm-dd hh:mm:ss)"
                            ),
                            at,
                        }),
                    };
                }
                if (upper == "UPPER" || upper == "LOWER") && self.eat_sym("(") {
                    self.deeper()?;
                    let inner = self.operand()?;
                    self.expect_sym(")")?;
                    self.depth -= 1;
                    return Ok(if upper == "UPPER" {
                        Operand::Upper(Box::new(inner))
                    } else {
                        Operand::Lower(Box::new(inner))
                    });
                }
                if upper == "NULL" {
                    return Ok(Operand::Value(AttrValue::Null));
                }
                if RESERVED.contains(&upper.as_str()) {
                    return Err(WhereError {
                        message: format!("expected a field or a value, got `{w}`"),
                        at,
                    });
                }
                if matches!(self.peek(), Some(Tok::Sym("("))) {
                    return Err(WhereError {
                        message: format!(
                            "the function `{w}` is not supported (UPPER and LOWER are)"
                        ),
                        at,
                    });
                }
                Ok(Operand::Field(w))
            }
            Some(Tok::Sym(s)) => self.fail(format!("expected a field or a value, got `{s}`")),
            None => self.fail("the clause ends where a field or a value was expected"),
        }
    }

    fn predicate(&mut self) -> Result<Expr, WhereError> {
        let left = self.operand()?;
        let cmp = match self.peek() {
            Some(Tok::Sym("=")) => Some(Cmp::Eq),
            Some(Tok::Sym("<>")) => Some(Cmp::Ne),
            Some(Tok::Sym("<")) => Some(Cmp::Lt),
            Some(Tok::Sym("<=")) => Some(Cmp::Le),
            Some(Tok::Sym(">")) => Some(Cmp::Gt),
            Some(Tok::Sym(">=")) => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            self.pos += 1;
            let right = self.operand()?;
            return Ok(Expr::Compare(left, c, right));
        }
        if self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return self.fail("expected NULL after IS");
            }
            return Ok(Expr::IsNull(left, not));
        }
        let not = self.eat_kw("NOT");
        if self.eat_kw("IN") {
            self.expect_sym("(")?;
            let mut list = vec![self.operand()?];
            while self.eat_sym(",") {
                list.push(self.operand()?);
            }
            self.expect_sym(")")?;
            return Ok(Expr::In(left, list, not));
        }
        if self.eat_kw("LIKE") {
            let Some(Tok::Str(pattern)) = self.peek().cloned() else {
                return self.fail("expected a quoted pattern after LIKE");
            };
            self.pos += 1;
            let mut escape = None;
            if self.eat_kw("ESCAPE") {
                match self.peek().cloned() {
                    Some(Tok::Str(e)) if e.chars().count() == 1 => {
                        self.pos += 1;
                        escape = e.chars().next();
                    }
                    _ => return self.fail("expected one quoted character after ESCAPE"),
                }
            }
            return Ok(Expr::Like(left, pattern, escape, not));
        }
        if self.eat_kw("BETWEEN") {
            let lo = self.operand()?;
            if !self.eat_kw("AND") {
                return self.fail("expected AND in BETWEEN … AND …");
            }
            let hi = self.operand()?;
            return Ok(Expr::Between(left, lo, hi, not));
        }
        self.fail("expected a comparison (=, <>, <, <=, >, >=), IN, LIKE, BETWEEN or IS NULL")
    }
}

fn number(v: f64, int: bool) -> AttrValue {
    if int && v.abs() < 9.0e15 {
        AttrValue::Int(v as i64)
    } else {
        AttrValue::Float(v)
    }
}

fn parse_date(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    None
}

/// Parses `text` (checked non-empty and not too long by the caller's rules here).
pub(super) fn parse(text: &str) -> Result<Expr, WhereError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(WhereError {
            message: "the clause is empty (1=1 selects every feature)".into(),
            at: 0,
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let root = p.or()?;
    if p.pos < p.toks.len() {
        return p.fail("unexpected text after the end of the clause");
    }
    Ok(root)
}
