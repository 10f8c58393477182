//! Salted password hashes for the server's users: PBKDF2-HMAC-SHA256, stored as
//! `pbkdf2-sha256$ITERATIONS$SALT$HASH` so the cost can change without a migration.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::constant_time_eq;

/// Enough to make a stolen database slow to attack, little enough that a login in
/// an unoptimised test build stays quick.
const ITERATIONS: u32 = 10_000;

pub fn hash(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    let derived = pbkdf2_sha256(password.as_bytes(), &salt, ITERATIONS);
    format!(
        "pbkdf2-sha256${ITERATIONS}${}${}",
        hex::encode(salt),
        hex::encode(derived)
    )
}

/// Whether `password` matches a stored hash; a malformed hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let ["pbkdf2-sha256", iterations, salt, expected] = parts.as_slice() else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (
        iterations.parse::<u32>(),
        hex::decode(salt),
        hex::decode(expected),
    ) else {
        return false;
    };
    if iterations == 0 {
        return false;
    }
    let derived = pbkdf2_sha256(password.as_bytes(), &salt, iterations);
    constant_time_eq(&derived, &expected)
}

/// PBKDF2 (RFC 8018) with HMAC-SHA256, one 32-byte block.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let keyed = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes any key");
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut block = mac.finalize().into_bytes();
    let mut out = block;
    for _ in 1..iterations {
        let mut mac = keyed.clone();
        mac.update(&block);
        block = mac.finalize().into_bytes();
        for (o, b) in out.iter_mut().zip(block.iter()) {
            *o ^= b;
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        assert_eq!(
            hex::encode(pbkdf2_sha256(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex::encode(pbkdf2_sha256(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn hashes_are_salted_and_verify() {
        let a = hash("secret");
        let b = hash("secret");
        assert_ne!(a, b);
        assert!(!a.contains("secret"));
        assert!(verify("secret", &a));
        assert!(!verify("Secret", &a));
        assert!(!verify("secret", "plain"));
        assert!(!verify("secret", "pbkdf2-sha256$0$00$00"));
    }
}
