//! The `where` clause of layer queries and the `filter` of layer inputs: a safe
//! subset of SQL-92, parsed into a tree and evaluated on attributes. The text is
//! never handed to a database.
//!
//! Accepted: comparisons (`=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`) of fields, numbers,
//! strings (`'it''s'`) and `DATE 'yyyy-mm-dd[ hh:mm:ss]'` / `TIMESTAMP '…'` literals;
//! `[NOT] IN (…)`, `[NOT] LIKE '…' [ESCAPE 'c']` (`%` and `_`), `IS [NOT] NULL`,
//! `[NOT] BETWEEN … AND …`, `UPPER(…)`/`LOWER(…)`, `AND`, `OR`, `NOT` and parentheses.
//! Comparisons with NULL are unknown (false), as in SQL. `1=1` selects everything.
//!
//! ```
//! use gp_model::{AttrValue, Attributes, Where};
//! let w = Where::parse("POP_MAX > 1000000 AND NAME LIKE 'S%'").unwrap();
//! let mut a = Attributes::new();
//! a.insert("POP_MAX".into(), AttrValue::Int(5_000_000));
//! a.insert("NAME".into(), AttrValue::String("Seoul".into()));
//! assert!(w.matches(&a));
//! ```

use chrono::{NaiveDate, NaiveDateTime};

use crate::fields::{AttrValue, Attributes, Field};

/// The longest clause accepted, in bytes.
pub const MAX_WHERE_LEN: usize = 64 * 1024;
/// The deepest nesting of parentheses and `NOT` accepted.
const MAX_DEPTH: usize = 64;

/// A parsed `where` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Where {
    root: Expr,
}

/// Why a clause was refused: what and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {at} of the where clause)")]
pub struct WhereError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the clause.
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(String),
    Value(AttrValue),
    Upper(Box<Operand>),
    Lower(Box<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, Cmp, Operand),
    In(Operand, Vec<Operand>, bool),
    Like(Operand, String, Option<char>, bool),
    IsNull(Operand, bool),
    Between(Operand, Operand, Operand, bool),
}

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

/// A value compared as SQL compares: numbers with numbers, text with text.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Num(f64),
    Text(String),
}

fn val(v: &AttrValue) -> Val {
    match v {
        AttrValue::Null | AttrValue::Json(_) => Val::Null,
        AttrValue::Bool(b) => Val::Num(if *b { 1.0 } else { 0.0 }),
        AttrValue::Int(i) => Val::Num(*i as f64),
        AttrValue::UInt(u) => Val::Num(*u as f64),
        AttrValue::Float(f) => Val::Num(*f),
        AttrValue::String(s) => Val::Text(s.clone()),
    }
}

fn lookup<'a>(a: &'a Attributes, name: &str) -> Option<&'a AttrValue> {
    a.get(name).or_else(|| {
        a.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn eval(o: &Operand, a: &Attributes) -> Val {
    match o {
        Operand::Field(f) => lookup(a, f).map_or(Val::Null, val),
        Operand::Value(v) => val(v),
        Operand::Upper(i) => match eval(i, a) {
            Val::Text(t) => Val::Text(t.to_uppercase()),
            other => other,
        },
        Operand::Lower(i) => match eval(i, a) {
            Val::Text(t) => Val::Text(t.to_lowercase()),
            other => other,
        },
    }
}

fn order(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
        (Val::Text(x), Val::Text(y)) => Some(x.cmp(y)),
        (Val::Num(x), Val::Text(y)) => y.trim().parse::<f64>().ok().and_then(|y| x.partial_cmp(&y)),
        (Val::Text(x), Val::Num(y)) => x.trim().parse::<f64>().ok().and_then(|x| x.partial_cmp(y)),
        _ => None,
    }
}

fn like(text: &str, pattern: &[char], escape: Option<char>) -> bool {
    // Iterative matching with backtracking over the last `%`.
    let t: Vec<char> = text.chars().collect();
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let (pc, literal, width) = match pattern.get(pi) {
            Some(&c) if Some(c) == escape => (pattern.get(pi + 1).copied(), true, 2),
            Some(&c) => (Some(c), false, 1),
            None => (None, false, 0),
        };
        match pc {
            Some('%') if !literal => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(c) if (c == '_' && !literal) || c == t[ti] => {
                ti += 1;
                pi += width;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pattern.get(pi) == Some(&'%') {
        pi += 1;
    }
    pi == pattern.len()
}

fn test(e: &Expr, a: &Attributes) -> Option<bool> {
    // Three-valued logic: `None` is SQL's unknown.
    match e {
        Expr::And(l, r) => match (test(l, a), test(r, a)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Or(l, r) => match (test(l, a), test(r, a)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Expr::Not(i) => test(i, a).map(|b| !b),
        Expr::Compare(l, c, r) => {
            let o = order(&eval(l, a), &eval(r, a))?;
            Some(match c {
                Cmp::Eq => o.is_eq(),
                Cmp::Ne => o.is_ne(),
                Cmp::Lt => o.is_lt(),
                Cmp::Le => o.is_le(),
                Cmp::Gt => o.is_gt(),
                Cmp::Ge => o.is_ge(),
            })
        }
        Expr::In(l, list, not) => {
            let v = eval(l, a);
            if v == Val::Null {
                return None;
            }
            let hit = list
                .iter()
                .any(|o| order(&v, &eval(o, a)).is_some_and(|o| o.is_eq()));
            Some(hit != *not)
        }
        Expr::Like(l, p, esc, not) => match eval(l, a) {
            Val::Text(t) => {
                let pat: Vec<char> = p.chars().collect();
                Some(like(&t, &pat, *esc) != *not)
            }
            Val::Num(n) => {
                let pat: Vec<char> = p.chars().collect();
                Some(like(&n.to_string(), &pat, *esc) != *not)
            }
            Val::Null => None,
        },
        Expr::IsNull(l, not) => Some((eval(l, a) == Val::Null) != *not),
        Expr::Between(v, lo, hi, not) => {
            let v = eval(v, a);
            let ge = order(&v, &eval(lo, a))?.is_ge();
            let le = order(&v, &eval(hi, a))?.is_le();
            Some((ge && le) != *not)
        }
    }
}

fn fields_of(e: &Expr, out: &mut Vec<String>) {
    fn op(o: &Operand, out: &mut Vec<String>) {
        match o {
            Operand::Field(f) => out.push(f.clone()),
            Operand::Value(_) => {}
            Operand::Upper(i) | Operand::Lower(i) => op(i, out),
        }
    }
    match e {
        Expr::And(l, r) | Expr::Or(l, r) => {
            fields_of(l, out);
            fields_of(r, out);
        }
        Expr::Not(i) => fields_of(i, out),
        Expr::Compare(l, _, r) => {
            op(l, out);
            op(r, out);
        }
        Expr::In(l, list, _) => {
            op(l, out);
            list.iter().for_each(|o| op(o, out));
        }
        Expr::Like(l, ..) | Expr::IsNull(l, _) => op(l, out),
        Expr::Between(a, b, c, _) => {
            op(a, out);
            op(b, out);
            op(c, out);
        }
    }
}

impl Where {
    /// Parses a clause. An empty clause is refused: send `1=1` to select everything.
    pub fn parse(text: &str) -> Result<Where, WhereError> {
        if text.len() > MAX_WHERE_LEN {
            return Err(WhereError {
                message: format!("the clause is longer than {MAX_WHERE_LEN} bytes"),
                at: MAX_WHERE_LEN,
            });
        }
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
        Ok(Where { root })
    }

    /// True when a feature with these attributes is selected (field names match
    /// case-insensitively; a missing field is NULL).
    pub fn matches(&self, attributes: &Attributes) -> bool {
        test(&self.root, attributes) == Some(true)
    }

    /// The field names the clause reads.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        fields_of(&self.root, &mut out);
        out
    }

    /// Checks that every field the clause reads is one of `fields`; names the first
    /// that is not.
    pub fn check_fields(&self, fields: &[Field]) -> Result<(), String> {
        for f in self.fields() {
            if !fields.iter().any(|k| k.name.eq_ignore_ascii_case(&f)) {
                return Err(format!("the field `{f}` is not a field of the layer"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Attributes {
        let mut a = Attributes::new();
        a.insert("NAME".into(), AttrValue::String("O'Brien Town".into()));
        a.insert("POP".into(), AttrValue::Int(1500));
        a.insert("AREA".into(), AttrValue::Float(2.5));
        a.insert("NOTE".into(), AttrValue::Null);
        a.insert("FOUNDED".into(), AttrValue::Int(946_684_800_000));
        a
    }

    #[track_caller]
    fn check(clause: &str, expected: bool) {
        let w = Where::parse(clause).unwrap_or_else(|e| panic!("{clause}: {e}"));
        assert_eq!(w.matches(&attrs()), expected, "{clause}");
    }

    #[track_caller]
    fn refused(clause: &str, says: &str) {
        let e = Where::parse(clause).expect_err(clause);
        assert!(e.to_string().contains(says), "{clause}: {e}");
    }

    #[test]
    fn clauses_select_as_sql_does() {
        check("1=1", true);
        check("1=0", false);
        check("POP > 1000", true);
        check("pop >= 1500 AND area < 3", true);
        check("POP <> 1500 OR AREA = 2.5", true);
        check("NOT (POP = 1500)", false);
        check("NAME = 'O''Brien Town'", true);
        check("NAME LIKE 'O%Town'", true);
        check("NAME LIKE 'o%'", false);
        check("UPPER(NAME) LIKE 'O''BRIEN%'", true);
        check("NAME NOT LIKE '%x%'", true);
        check("NAME LIKE 'O_Brien Town'", true);
        check("NAME LIKE '50!%' ESCAPE '!'", false);
        check("POP IN (1, 1500, 3)", true);
        check("POP NOT IN (1, 2)", true);
        check("NOTE IS NULL", true);
        check("NAME IS NOT NULL", true);
        check("NOTE = 'x'", false);
        check("NOT NOTE = 'x'", false);
        check("POP BETWEEN 1000 AND 2000", true);
        check("POP NOT BETWEEN 1000 AND 2000", false);
        check("FOUNDED >= DATE '2000-01-01'", true);
        check("FOUNDED < TIMESTAMP '2000-01-01 00:00:00'", false);
        check("((POP > 0) AND (AREA > 0)) OR NOTE IS NULL", true);
        check("\"POP\" = 1500", true);
        check("AREA > -1", true);
        check("MISSING IS NULL", true);
        check("((POP) = 1500)", true);
        check("(UPPER(NAME) LIKE 'O%') AND ((AREA) BETWEEN 2 AND 3)", true);
        // Many failed attempts at sub-expressions do not add up to a nesting error.
        let many = vec!["((POP) = 1500)"; 100].join(" AND ");
        check(&many, true);
    }

    #[test]
    fn bad_clauses_say_what_and_where() {
        refused("", "empty");
        refused("POP >", "ends where");
        refused("POP = 1; DROP TABLE x", "`;` is not allowed");
        refused("NAME = 'open", "not closed");
        refused("POP 5", "expected a comparison");
        refused("SLEEP(5) = 1", "function `SLEEP`");
        refused("POP = 1 extra", "unexpected text");
        refused("D = DATE 'soon'", "not a date");
        refused(&"(".repeat(200), "nested deeper");
        let e = Where::parse("POP >= 1 AND NAME LIKE 5").expect_err("like");
        assert_eq!(e.at, 23, "{e}");
    }

    #[test]
    fn fields_are_checked_against_the_layer() {
        let w = Where::parse("POP > 1 AND upper(Name) = 'X'").expect("parse");
        let fields = [
            Field::new("POP", crate::FieldType::Integer),
            Field::new("NAME", crate::FieldType::String),
        ];
        assert!(w.check_fields(&fields).is_ok());
        let w = Where::parse("POPULATION > 1").expect("parse");
        assert!(
            w.check_fields(&fields)
                .expect_err("unknown")
                .contains("POPULATION")
        );
    }
}
