//! The value of a field that describes a person (docs/architecture.md, invariant 8): a participant's `groups` and
//! what they contributed (`summary`). The server stores them encrypted under a key of that
//! participant's own, so that destroying the key erases them without rewriting the log
//! (crypto-shredding).
//!
//! The domain only carries them: a client posts them in clear, the server seals them before the
//! entry is hashed and stored, and opens them again, where it still can, when it reads. What the
//! domain knows about them across a project's entries sits above the events, in `personal`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How an encrypted field is stored: the cipher, a fresh nonce and the ciphertext (with its
/// authentication tag), both in standard base64.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedValue {
    pub cipher: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// A personal field: readable, sealed (as stored, not opened here) or erased (its key is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal<T> {
    /// As the client posted it, or as the server decrypted it.
    Clear(T),
    /// As stored: encrypted under the participant's key.
    Sealed(SealedValue),
    /// Its key was destroyed when the participant's data was erased: it can never be read again.
    Erased,
}

/// What a personal field holds in place of its value once erased, wherever it is shown.
pub const ERASED: &str = "erased";

impl<T> Personal<T> {
    /// The value, if it can be read.
    pub fn clear(&self) -> Option<&T> {
        match self {
            Personal::Clear(value) => Some(value),
            Personal::Sealed(_) | Personal::Erased => None,
        }
    }

    pub fn is_clear(&self) -> bool {
        matches!(self, Personal::Clear(_))
    }
}

impl<T: Serialize> Personal<T> {
    /// The field as shown to a reader allowed to see it: its value, `"erased"`, or
    /// `"unreadable"` (sealed, and it could not be opened).
    pub fn shown(&self) -> serde_json::Value {
        match self {
            Personal::Clear(value) => serde_json::to_value(value).unwrap_or_default(),
            Personal::Erased => ERASED.into(),
            Personal::Sealed(_) => "unreadable".into(),
        }
    }
}

impl<T> From<T> for Personal<T> {
    fn from(value: T) -> Self {
        Personal::Clear(value)
    }
}

impl From<&str> for Personal<String> {
    fn from(value: &str) -> Self {
        Personal::Clear(value.to_string())
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Clear(value) => value.serialize(serializer),
            Personal::Sealed(sealed) => sealed.serialize(serializer),
            Personal::Erased => serializer.serialize_str(ERASED),
        }
    }
}

/// Reads a sealed object (`{"cipher", "nonce", "ciphertext"}`), or the value itself; never
/// "erased", which is only ever shown, not stored.
impl<'de, T: DeserializeOwned> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.is_object() {
            // A value that is itself an object (an answer) is read as one when it is not
            // sealed; any other object is reported as a sealed value that is not right.
            return match serde_json::from_value::<SealedValue>(value.clone()) {
                Ok(sealed) => Ok(Personal::Sealed(sealed)),
                Err(not_sealed) => serde_json::from_value(value)
                    .map(Personal::Clear)
                    .map_err(|_| D::Error::custom(not_sealed)),
            };
        }
        serde_json::from_value(value)
            .map(Personal::Clear)
            .map_err(D::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl<T: utoipa::PartialSchema> utoipa::PartialSchema for Personal<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        // Clients post and read the value itself; the stored form is described in docs/privacy.md.
        T::schema()
    }
}

#[cfg(feature = "openapi")]
impl<T: utoipa::PartialSchema> utoipa::ToSchema for Personal<T> {}
