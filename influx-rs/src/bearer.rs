//! `Authorization: Bearer <JWT>`: tokens signed with `[http] shared-secret` (HMAC: HS256,
//! HS384 or HS512) that name a user in a `username` claim and must carry an `exp` claim, as
//! InfluxDB 1.x checks them. Refusals use the words of InfluxDB (and of the JWT library it
//! uses), so a client sees the same message from either server.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// Why a bearer token was refused, in InfluxDB's words; logged, while the client gets only
/// "authorization failed" (see [`crate::users::AuthError::Bearer`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// A bearer token, but no `shared-secret` configured. (Misspelt as InfluxDB 1.6.7 spells
    /// it, word for word.)
    #[error("bearer auth disabld")]
    Disabled,
    /// The token is not three base64url segments.
    #[error("token contains an invalid number of segments")]
    Malformed,
    /// The header or the claims do not decode.
    #[error("{0}")]
    Undecodable(String),
    /// Signed with something other than HMAC.
    #[error("unexpected signing method: {0}")]
    SigningMethod(String),
    /// The HMAC does not match the shared secret.
    #[error("signature is invalid")]
    Signature,
    /// `exp` is in the past.
    #[error("Token is expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("Token is not valid yet")]
    NotYetValid,
    /// No positive `exp` claim.
    #[error("token expiration required")]
    ExpirationRequired,
    /// `username` is not a string.
    #[error("username in token must be a string")]
    UsernameNotString,
    /// `username` is empty.
    #[error("token must contain a username")]
    UsernameMissing,
}

/// The user a valid `token` signed with `secret` speaks for.
pub fn username(token: &str, secret: &str) -> Result<String, BearerError> {
    if token.split('.').count() != 3 {
        return Err(BearerError::Malformed);
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| BearerError::Undecodable(e.to_string()))?;
    let hmac = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];
    if !hmac.contains(&header.alg) {
        return Err(BearerError::SigningMethod(format!("{:?}", header.alg)));
    }
    let mut validation = Validation::new(header.alg);
    validation.algorithms = hmac.to_vec();
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let key = DecodingKey::from_secret(secret.as_bytes());
    let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
        token,
        &key,
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => BearerError::Signature,
        ErrorKind::ExpiredSignature => BearerError::Expired,
        ErrorKind::ImmatureSignature => BearerError::NotYetValid,
        _ => BearerError::Undecodable(e.to_string()),
    })?
    .claims;
    if !claims
        .get("exp")
        .and_then(serde_json::Value::as_f64)
        .is_some_and(|exp| exp > 0.0)
    {
        return Err(BearerError::ExpirationRequired);
    }
    match claims.get("username") {
        Some(serde_json::Value::String(name)) if name.is_empty() => {
            Err(BearerError::UsernameMissing)
        }
        Some(serde_json::Value::String(name)) => Ok(name.clone()),
        _ => Err(BearerError::UsernameNotString),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const SECRET: &str = "s3cret";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn token(alg: Algorithm, claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn valid_tokens_name_their_user() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let t = token(alg, json!({"username": "ann", "exp": now() + 60}), SECRET);
            assert_eq!(username(&t, SECRET), Ok("ann".to_string()));
        }
    }

    #[test]
    fn refusals_use_influxdb_words() {
        let claims = json!({"username": "ann", "exp": now() + 60});
        let cases = [
            ("abc", "token contains an invalid number of segments"),
            (
                &token(Algorithm::HS256, claims.clone(), "other") as &str,
                "signature is invalid",
            ),
            (
                &token(
                    Algorithm::HS256,
                    json!({"username": "ann", "exp": now() - 60}),
                    SECRET,
                ),
                "Token is expired",
            ),
            (
                &token(
                    Algorithm::HS256,
                    json!({"username": "ann", "exp": now() + 60, "nbf": now() + 60}),
                    SECRET,
                ),
                "Token is not valid yet",
            ),
            (
                &token(Algorithm::HS256, json!({"username": "ann"}), SECRET),
                "token expiration required",
            ),
            (
                &token(Algorithm::HS256, json!({"exp": now() + 60}), SECRET),
                "username in token must be a string",
            ),
            (
                &token(
                    Algorithm::HS256,
                    json!({"username": 7, "exp": now() + 60}),
                    SECRET,
                ),
                "username in token must be a string",
            ),
            (
                &token(
                    Algorithm::HS256,
                    json!({"username": "", "exp": now() + 60}),
                    SECRET,
                ),
                "token must contain a username",
            ),
        ];
        for (t, message) in cases {
            assert_eq!(username(t, SECRET).unwrap_err().to_string(), message, "{t}");
        }
    }

    #[test]
    fn non_hmac_tokens_are_refused() {
        // {"alg":"none"} and {"alg":"RS256"} headers with any claims and signature.
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let claims = b64(r#"{"username":"ann","exp":9999999999}"#);
        let rs = format!("{}.{claims}.c2ln", b64(r#"{"alg":"RS256","typ":"JWT"}"#));
        assert_eq!(
            username(&rs, SECRET),
            Err(BearerError::SigningMethod("RS256".into()))
        );
        let none = format!("{}.{claims}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
        assert!(username(&none, SECRET).is_err());
    }

    proptest::proptest! {
        /// Any text as a token is refused or accepted, never a panic.
        #[test]
        fn arbitrary_tokens_never_panic(t in "[A-Za-z0-9_.=-]{0,80}") {
            let _ = username(&t, SECRET);
        }
    }
}
