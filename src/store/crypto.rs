//! Envelope encryption of personal data (docs/architecture.md, invariant 8), with RustCrypto's AES-256-GCM.
//!
//! Each (project, participant) has a random 256-bit data key; personal fields are encrypted under
//! it with a fresh 96-bit nonce. Data keys are stored only wrapped (encrypted) by the master key.
//! Every ciphertext is bound by its associated data to what it is — which field, of whom, in
//! which project — so that no ciphertext can be moved to another participant or field.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use coprod_domain::SealedValue;
use sha2::{Digest as _, Sha256};

/// The cipher every sealed value names.
pub const CIPHER: &str = "AES-256-GCM";
const NONCE_BYTES: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a master key is 64 hexadecimal digits (256 bits)")]
    MalformedMasterKey,
    #[error("the value cannot be decrypted with this key")]
    Undecryptable,
}

/// The key that wraps every data key. Never logged, never stored in the database.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// A new random master key.
    pub fn generate() -> MasterKey {
        MasterKey::from_bytes(Aes256Gcm::generate_key(OsRng).into())
    }

    /// Reads a master key written as 64 hexadecimal digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<MasterKey, KeyError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).map_err(|_| KeyError::MalformedMasterKey)?;
        Ok(MasterKey::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> MasterKey {
        // A public name for the key (safe to store and show): it cannot be turned back into it.
        let mut hasher = Sha256::new();
        hasher.update(b"coprod master key id\0");
        hasher.update(key);
        let id = format!("mk-{}", &hex::encode(hasher.finalize())[..16]);
        MasterKey { key, id }
    }

    /// The key as 64 hexadecimal digits, for the key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key)
    }

    /// A public name for this key.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key))
    }

    /// `data_key` encrypted under this master key, bound to its owner.
    pub fn wrap(&self, data_key: &DataKey, project_id: &str, participant_id: &str) -> String {
        encrypt(
            &self.cipher(),
            &data_key.0,
            &data_key_context(project_id, participant_id),
        )
    }

    pub fn unwrap(
        &self,
        wrapped: &str,
        project_id: &str,
        participant_id: &str,
    ) -> Result<DataKey, KeyError> {
        let bytes = decrypt(
            &self.cipher(),
            wrapped,
            &data_key_context(project_id, participant_id),
        )?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Undecryptable)?;
        Ok(DataKey(key))
    }

    /// A value only this master key can decrypt, kept in the database to recognise the key.
    pub fn canary(&self) -> String {
        encrypt(&self.cipher(), CANARY, CANARY_CONTEXT)
    }

    /// Whether `canary` was made by this master key.
    pub fn opens_canary(&self, canary: &str) -> bool {
        decrypt(&self.cipher(), canary, CANARY_CONTEXT).is_ok_and(|plain| plain == CANARY)
    }

    /// A key for `purpose`, derived from this one (HMAC-SHA-256 of the purpose, keyed by the
    /// master key): the same on every server that holds the master key, different for each
    /// purpose, and telling nothing about the master key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.key, &[b"coprod derived key v1\0", purpose.as_bytes()])
    }
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts` under a 256-bit `key`.
pub fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::digest::KeyInit;
    use hmac::{Hmac, Mac};
    // HMAC pads a key shorter than SHA-256's 64-byte block with zeros: padding it here gives
    // the same MAC, through the constructor that cannot fail.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

const CANARY: &[u8] = b"coprod master key check v1";
const CANARY_CONTEXT: &[u8] = b"coprod:master-key-check:v1";

fn data_key_context(project_id: &str, participant_id: &str) -> Vec<u8> {
    format!("coprod:data-key:v1:{project_id}:{participant_id}").into_bytes()
}

fn field_context(field: &str, project_id: &str, participant_id: &str) -> Vec<u8> {
    format!("coprod:{field}:v1:{project_id}:{participant_id}").into_bytes()
}

/// One participant's data key.
#[derive(Clone)]
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn generate() -> DataKey {
        DataKey(Aes256Gcm::generate_key(OsRng).into())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Encrypts one personal field of `participant_id` in `project_id`.
    pub fn seal(
        &self,
        field: &str,
        project_id: &str,
        participant_id: &str,
        plaintext: &[u8],
    ) -> SealedValue {
        let context = field_context(field, project_id, participant_id);
        let (nonce, ciphertext) = encrypt_parts(&self.cipher(), plaintext, &context);
        SealedValue {
            cipher: CIPHER.to_string(),
            nonce: BASE64.encode(nonce),
            ciphertext: BASE64.encode(ciphertext),
        }
    }

    /// Decrypts a field sealed by [`DataKey::seal`] with the same field, project and participant.
    pub fn open(
        &self,
        field: &str,
        project_id: &str,
        participant_id: &str,
        sealed: &SealedValue,
    ) -> Result<Vec<u8>, KeyError> {
        if sealed.cipher != CIPHER {
            return Err(KeyError::Undecryptable);
        }
        let nonce = BASE64
            .decode(&sealed.nonce)
            .map_err(|_| KeyError::Undecryptable)?;
        let ciphertext = BASE64
            .decode(&sealed.ciphertext)
            .map_err(|_| KeyError::Undecryptable)?;
        let context = field_context(field, project_id, participant_id);
        decrypt_parts(&self.cipher(), &nonce, &ciphertext, &context)
    }
}

/// Encrypts under a fresh random nonce; returns the nonce and the ciphertext (with its tag).
fn encrypt_parts(cipher: &Aes256Gcm, plaintext: &[u8], context: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let nonce = Aes256Gcm::generate_nonce(OsRng);
    let payload = Payload {
        msg: plaintext,
        aad: context,
    };
    let ciphertext = cipher
        .encrypt(&nonce, payload)
        .expect("AES-GCM encrypts any message of this size");
    (nonce.to_vec(), ciphertext)
}

fn decrypt_parts(
    cipher: &Aes256Gcm,
    nonce: &[u8],
    ciphertext: &[u8],
    context: &[u8],
) -> Result<Vec<u8>, KeyError> {
    if nonce.len() != NONCE_BYTES {
        return Err(KeyError::Undecryptable);
    }
    let payload = Payload {
        msg: ciphertext,
        aad: context,
    };
    cipher
        .decrypt(Nonce::from_slice(nonce), payload)
        .map_err(|_| KeyError::Undecryptable)
}

/// `nonce || ciphertext`, base64 (wrapped keys and the canary).
fn encrypt(cipher: &Aes256Gcm, plaintext: &[u8], context: &[u8]) -> String {
    let (mut out, ciphertext) = encrypt_parts(cipher, plaintext, context);
    out.extend(ciphertext);
    BASE64.encode(out)
}

fn decrypt(cipher: &Aes256Gcm, text: &str, context: &[u8]) -> Result<Vec<u8>, KeyError> {
    let bytes = BASE64.decode(text).map_err(|_| KeyError::Undecryptable)?;
    if bytes.len() < NONCE_BYTES {
        return Err(KeyError::Undecryptable);
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    decrypt_parts(cipher, nonce, ciphertext, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_is_rfc_4231s() {
        // RFC 4231, test case 2 (a key shorter than the block), with the key zero-padded to 32
        // bytes: HMAC pads short keys with zeros, so the MAC is the published one.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac_sha256(&key, &[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_master_key() {
        let master = MasterKey::generate();
        assert_eq!(master.derive("a"), master.derive("a"));
        assert_ne!(master.derive("a"), master.derive("b"));
        assert_ne!(master.derive("a"), MasterKey::generate().derive("a"));
    }

    #[test]
    fn a_sealed_field_opens_only_for_its_own_field_participant_and_project() {
        let key = DataKey::generate();
        let sealed = key.seal("groups", "p1", "ann", b"[\"carers\"]");
        assert_eq!(
            key.open("groups", "p1", "ann", &sealed).unwrap(),
            b"[\"carers\"]"
        );
        assert!(key.open("summary", "p1", "ann", &sealed).is_err());
        assert!(key.open("groups", "p1", "bob", &sealed).is_err());
        assert!(key.open("groups", "p2", "ann", &sealed).is_err());
        assert!(DataKey::generate()
            .open("groups", "p1", "ann", &sealed)
            .is_err());
    }

    #[test]
    fn a_wrapped_data_key_unwraps_only_under_its_master_key_and_owner() {
        let master = MasterKey::generate();
        let data = DataKey::generate();
        let wrapped = master.wrap(&data, "p1", "ann");
        let unwrapped = master.unwrap(&wrapped, "p1", "ann").unwrap();
        let sealed = data.seal("groups", "p1", "ann", b"x");
        assert_eq!(
            unwrapped.open("groups", "p1", "ann", &sealed).unwrap(),
            b"x"
        );
        assert!(master.unwrap(&wrapped, "p1", "bob").is_err());
        assert!(MasterKey::generate().unwrap(&wrapped, "p1", "ann").is_err());
    }

    #[test]
    fn a_master_key_round_trips_through_hex_and_recognises_only_its_canary() {
        let master = MasterKey::generate();
        let again = MasterKey::parse(&format!(" {}\n", master.to_hex())).unwrap();
        assert_eq!(again.id(), master.id());
        assert!(again.opens_canary(&master.canary()));
        assert!(!MasterKey::generate().opens_canary(&master.canary()));
        assert_eq!(
            MasterKey::parse("not hex").unwrap_err(),
            KeyError::MalformedMasterKey
        );
        assert!(MasterKey::parse(&"ab".repeat(31)).is_err());
    }
}
