//! The tree evaluated on attributes, with SQL's three-valued logic.

use super::{Cmp, Expr, Operand};
use crate::fields::{AttrValue, Attributes};

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

pub(super) fn test(e: &Expr, a: &Attributes) -> Option<bool> {
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

pub(super) fn fields_of(e: &Expr, out: &mut Vec<String>) {
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
