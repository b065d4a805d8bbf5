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

mod eval;
mod parse;

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

impl Where {
    /// Parses a clause. An empty clause is refused: send `1=1` to select everything.
    pub fn parse(text: &str) -> Result<Where, WhereError> {
        if text.len() > MAX_WHERE_LEN {
            return Err(WhereError {
                message: format!("the clause is longer than {MAX_WHERE_LEN} bytes"),
                at: MAX_WHERE_LEN,
            });
        }
        Ok(Where {
            root: parse::parse(text)?,
        })
    }

    /// True when a feature with these attributes is selected (field names match
    /// case-insensitively; a missing field is NULL).
    pub fn matches(&self, attributes: &Attributes) -> bool {
        eval::test(&self.root, attributes) == Some(true)
    }

    /// The field names the clause reads.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        eval::fields_of(&self.root, &mut out);
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
