//! Sibling order: the fewest moves that put pages in the files' order. The pages already in
//! the right relative order (a longest increasing subsequence of their current positions) stay;
//! each other page goes right after its predecessor in the wanted order (the first one before
//! its successor).

use crate::content::sync::Place;

/// Moves that turn `current` (ids in their present sibling order) into `wanted` (the same ids
/// in the order wanted). Applied in the order returned.
pub fn placements(current: &[String], wanted: &[String]) -> Vec<(String, Place, String)> {
    let rank: Vec<usize> = wanted
        .iter()
        .map(|id| current.iter().position(|c| c == id).unwrap_or(usize::MAX))
        .collect();
    let keep = lis(&rank);
    let mut out = Vec::new();
    for (i, id) in wanted.iter().enumerate() {
        if keep[i] {
            continue;
        }
        if i > 0 {
            out.push((id.clone(), Place::After, wanted[i - 1].clone()));
        } else if let Some(j) = keep.iter().position(|k| *k) {
            out.push((id.clone(), Place::Before, wanted[j].clone()));
        }
    }
    out
}

/// Which entries of `seq` belong to one longest strictly increasing subsequence.
fn lis(seq: &[usize]) -> Vec<bool> {
    // tails[k]: index in seq of the smallest tail of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &v) in seq.iter().enumerate() {
        let k = tails.partition_point(|&t| seq[t] < v);
        prev[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = vec![false; seq.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep[i] = true;
        at = prev[i];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(mut order: Vec<String>, moves: &[(String, Place, String)]) -> Vec<String> {
        for (id, place, target) in moves {
            order.retain(|x| x != id);
            let t = order.iter().position(|x| x == target).unwrap();
            let at = if *place == Place::After { t + 1 } else { t };
            order.insert(at, id.clone());
        }
        order
    }

    fn ids(s: &str) -> Vec<String> {
        s.chars().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_fewest_moves_reach_the_wanted_order() {
        for (cur, want, n) in [
            ("abcde", "abcde", 0),
            ("abcde", "eabcd", 1),
            ("abcde", "bcdea", 1),
            ("edcba", "abcde", 4),
            ("acbde", "abcde", 1),
        ] {
            let moves = placements(&ids(cur), &ids(want));
            assert_eq!(moves.len(), n, "{cur} -> {want}: {moves:?}");
            assert_eq!(apply(ids(cur), &moves), ids(want), "{cur} -> {want}");
        }
    }
}
