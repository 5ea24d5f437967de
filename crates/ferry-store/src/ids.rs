//! Resource ids: a type prefix (`ns_`, `bkt_` …) and 20 random base-62 characters
//! (≈119 bits), so ids are unguessable and never collide in practice.

use rand::distributions::Alphanumeric;
use rand::Rng;

const RANDOM_LEN: usize = 20;

pub fn new_id(prefix: &str) -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(RANDOM_LEN)
        .map(char::from)
        .collect();
    format!("{prefix}_{random}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = super::new_id("ns");
        let b = super::new_id("ns");
        assert!(a.starts_with("ns_") && a.len() == 23);
        assert_ne!(a, b);
    }
}
