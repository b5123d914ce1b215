//! Known-answer tests made by PHP 8.2 (`tests/data/gen_token_vectors.php`: `secretKey` added,
//! `ksort`, non-array values concatenated, `hash('sha256', ..)`), over `json_decode($json, true)`
//! of each case's parameters.
//!
//! Regenerate with `php tests/data/gen_token_vectors.php < cases.json`. Set
//! `KUPIKUPI_PHP_VECTORS=/path/to/more.json` to also check a larger file made the same way.

use kupikupi::{signing_string, token};
use payments_core::Secret;
use serde_json::Value;

fn check(vectors: &str) -> usize {
    let cases: Vec<Value> = serde_json::from_str(vectors).expect("vectors are JSON");
    assert!(!cases.is_empty());
    for (i, case) in cases.iter().enumerate() {
        let params = case["params"].as_object().expect("params object");
        let secret = Secret::from(case["secret"].as_str().expect("secret"));
        let concat = signing_string(params, &secret).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(
            concat.expose_str(),
            case["concat"].as_str(),
            "case {i}: the concatenated text differs from PHP's"
        );
        let t = token(params, &secret).unwrap();
        assert_eq!(Some(t.as_str()), case["token"].as_str(), "case {i}");
    }
    cases.len()
}

#[test]
fn tokens_match_php() {
    let n = check(include_str!("data/php_token_vectors.json"));
    assert_eq!(n, 48);
    // Optionally, a larger file made the same way.
    if let Ok(path) = std::env::var("KUPIKUPI_PHP_VECTORS") {
        let text = std::fs::read_to_string(&path).expect("the vectors file is readable");
        let n = check(&text);
        eprintln!("{n} PHP vectors from {path} match");
    }
}
