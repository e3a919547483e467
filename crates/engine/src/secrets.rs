//! A service principal's `synchronization/secrets` (the target's URL, its token, `SyncAll`, …):
//! sealed with XChaCha20-Poly1305 before they reach the state store, opened only inside the
//! engine. Nothing here prints a secret value: `Debug` shows keys only.
//!
//! Sealed form: a version byte, the 24-byte random nonce, then the ciphertext of the pairs'
//! JSON with its tag. The service principal's id is the associated data, so sealed secrets
//! copied to another service principal's row do not open.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use uuid::Uuid;

use crate::model::{SynchronizationSecret, SynchronizationSecretKeyStringValuePair};

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Why sealed secrets could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealed secrets are truncated or of an unknown format")]
    Malformed,
    /// The key differs from the one that sealed them, or the bytes were altered.
    #[error("the sealed secrets do not open with this key")]
    WrongKeyOrTampered,
}

/// Seals and opens secrets under one 32-byte key.
#[derive(Clone)]
pub struct SecretSealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSealer { key: [redacted] }")
    }
}

impl SecretSealer {
    pub fn new(key: [u8; 32]) -> Self {
        SecretSealer {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// Seals `secrets` for `service_principal` under a fresh random nonce.
    pub fn seal(&self, service_principal: Uuid, secrets: &Secrets) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let plaintext = serde_json::to_vec(&secrets.pairs).unwrap_or_default();
        let payload = Payload {
            msg: &plaintext,
            aad: service_principal.as_bytes(),
        };
        // Encryption fails only for messages beyond 256 GiB; a request body is at most a
        // few megabytes.
        let ciphertext = self.cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens what [`SecretSealer::seal`] sealed for `service_principal`.
    pub fn open(&self, service_principal: Uuid, sealed: &[u8]) -> Result<Secrets, SealError> {
        let (version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
        if *version != FORMAT_VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: service_principal.as_bytes(),
        };
        let plaintext = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::WrongKeyOrTampered)?;
        let pairs = serde_json::from_slice(&plaintext).map_err(|_| SealError::Malformed)?;
        Ok(Secrets { pairs })
    }
}

/// A service principal's secrets in the clear, as `PUT …/synchronization/secrets` set them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pairs: Vec<SynchronizationSecretKeyStringValuePair>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.pairs.iter().map(|p| p.key.as_str()).collect();
        f.debug_struct("Secrets")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    pub fn new(pairs: Vec<SynchronizationSecretKeyStringValuePair>) -> Self {
        Secrets { pairs }
    }

    /// The value of `key` (the last one, when a request repeated a key), if set.
    pub fn get(&self, key: &SynchronizationSecret) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|p| &p.key == key)
            .and_then(|p| p.value.as_deref())
    }

    /// Every pair, in request order.
    pub fn pairs(&self) -> &[SynchronizationSecretKeyStringValuePair] {
        &self.pairs
    }

    /// The keys that are set, in request order.
    pub fn keys(&self) -> impl Iterator<Item = &SynchronizationSecret> {
        self.pairs.iter().map(|p| &p.key)
    }

    /// The SCIM endpoint (`BaseAddress`, the admin center's "Tenant URL").
    pub fn base_address(&self) -> Option<&str> {
        self.get(&SynchronizationSecret::BaseAddress)
    }

    /// The bearer token sent to the target (`SecretToken`).
    pub fn secret_token(&self) -> Option<&str> {
        self.get(&SynchronizationSecret::SecretToken)
    }

    /// `SyncAll = "True"`: every user and group is in scope, not only assigned ones.
    pub fn sync_all(&self) -> bool {
        self.flag(&SynchronizationSecret::SyncAll)
    }

    /// `SkipOutOfScopeDeletions = "True"`: objects leaving scope are not disabled or deleted.
    pub fn skip_out_of_scope_deletions(&self) -> bool {
        self.flag(&SynchronizationSecret::SkipOutOfScopeDeletions)
    }

    /// Entra writes these flags `True`/`False`; any letter case reads.
    fn flag(&self, key: &SynchronizationSecret) -> bool {
        self.get(key)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: SynchronizationSecret, value: &str) -> SynchronizationSecretKeyStringValuePair {
        SynchronizationSecretKeyStringValuePair {
            key,
            value: Some(value.to_string()),
        }
    }

    fn sample() -> Secrets {
        Secrets::new(vec![
            pair(
                SynchronizationSecret::BaseAddress,
                "https://scim.example/scim",
            ),
            pair(SynchronizationSecret::SecretToken, "s3cr3t-token"),
            pair(SynchronizationSecret::SyncAll, "True"),
            pair(SynchronizationSecret::SkipOutOfScopeDeletions, "false"),
        ])
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_service_principal() {
        let sealer = SecretSealer::new([7; 32]);
        let sp = Uuid::from_u128(1);
        let sealed = sealer.seal(sp, &sample());
        assert!(
            !sealed.windows(12).any(|w| w == b"s3cr3t-token"),
            "the token is not stored in the clear"
        );
        assert_eq!(sealer.open(sp, &sealed), Ok(sample()));
        assert_eq!(
            SecretSealer::new([8; 32]).open(sp, &sealed),
            Err(SealError::WrongKeyOrTampered)
        );
        assert_eq!(
            sealer.open(Uuid::from_u128(2), &sealed),
            Err(SealError::WrongKeyOrTampered)
        );
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            sealer.open(sp, &altered),
            Err(SealError::WrongKeyOrTampered)
        );
        assert_eq!(sealer.open(sp, &sealed[..10]), Err(SealError::Malformed));
        assert_eq!(sealer.open(sp, &[]), Err(SealError::Malformed));
        assert_ne!(
            sealer.seal(sp, &sample()),
            sealed,
            "every seal has its own nonce"
        );
    }

    #[test]
    fn the_engine_reads_flags_and_the_base_address() {
        let secrets = sample();
        assert_eq!(secrets.base_address(), Some("https://scim.example/scim"));
        assert_eq!(secrets.secret_token(), Some("s3cr3t-token"));
        assert!(secrets.sync_all());
        assert!(!secrets.skip_out_of_scope_deletions());
        assert!(!Secrets::default().sync_all());
        let debug = format!("{secrets:?} {:?}", SecretSealer::new([1; 32]));
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("SecretToken"), "{debug}");
    }
}
