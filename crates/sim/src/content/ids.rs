//! Stable ids derived from names (labels and groups have no stored id in the simulator).

/// Labels are global; the id is derived from the name so it is stable across restarts.
pub fn label_id(name: &str) -> u64 {
    name.bytes().fold(1_469_598_103u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1_099_511_628_211)
    }) % 1_000_000_000
}

/// A stable, UUID-shaped group id (Cloud addresses groups by id).
pub fn group_id(name: &str) -> String {
    format!("{:08x}-0000-4000-8000-000000000000", label_id(name) as u32)
}
