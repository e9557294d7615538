//! collectd's network security: signed parts (HMAC-SHA-256 over the user name and the rest of
//! the packet) and encrypted parts (AES-256 in OFB mode, the key the SHA-256 of the password,
//! the plaintext led by its SHA-1), with users and passwords from an `AuthFile` (`user: password`
//! lines, re-read when the file changes), as collectd's `network` plugin and Telegraf read them.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// What a packet's value lists must be to be accepted (`collectd_security_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Everything (signatures checked, and encrypted parts read, when an auth file is set).
    None,
    /// Signed or encrypted value lists only.
    Sign,
    /// Encrypted value lists only.
    Encrypt,
}

impl Level {
    /// Reads `collectd_security_level`.
    pub fn parse(text: &str) -> Result<Level, String> {
        match text {
            "" | "none" => Ok(Level::None),
            "sign" => Ok(Level::Sign),
            "encrypt" => Ok(Level::Encrypt),
            other => Err(format!(
                "collectd_security_level {other:?}: none, sign or encrypt"
            )),
        }
    }
}

/// The users and passwords of an auth file.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
    state: Arc<Mutex<Users>>,
}

/// The file's users and passwords as last read, with the file's time then.
#[derive(Debug, Default)]
struct Users {
    read_at: Option<SystemTime>,
    passwords: HashMap<String, String>,
}

impl AuthFile {
    /// Reads `path` (an error names it when it cannot be read).
    pub fn open(path: &str) -> Result<AuthFile, String> {
        let file = AuthFile {
            path: PathBuf::from(path),
            state: Arc::new(Mutex::new(Users::default())),
        };
        file.refresh()?;
        Ok(file)
    }

    /// Re-reads the file when it changed since it was read.
    fn refresh(&self) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("collectd_auth_file {}: {e}", self.path.display());
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .map_err(fail)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.read_at == Some(modified) {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.path).map_err(fail)?;
        state.passwords = parse_auth_file(&text);
        state.read_at = Some(modified);
        Ok(())
    }

    /// The password of `user`.
    pub fn password(&self, user: &str) -> Result<String, String> {
        self.refresh()?;
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .passwords
            .get(user)
            .cloned()
            .ok_or_else(|| format!("user {user:?} is not in the collectd auth file"))
    }
}

/// `user: password` lines; blank lines, lines without a colon and users starting with `#` are
/// skipped.
pub fn parse_auth_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(user, password)| (user.trim(), password.trim()))
        .filter(|(user, _)| !user.is_empty() && !user.starts_with('#'))
        .map(|(user, password)| (user.to_string(), password.to_string()))
        .collect()
}

/// Checks a signature part's body (32-byte HMAC, then the user name) against `rest`, the bytes
/// of the packet after the part; the user name when it holds.
pub fn verify(body: &[u8], rest: &[u8], auth: &AuthFile) -> Result<String, String> {
    if body.len() <= 32 {
        return Err(format!("signature part too short ({} bytes)", body.len()));
    }
    let (hash, user) = body.split_at(32);
    let user = String::from_utf8_lossy(user).into_owned();
    let password = auth.password(&user)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(password.as_bytes())
        .map_err(|e| format!("HMAC key: {e}"))?;
    mac.update(user.as_bytes());
    mac.update(rest);
    mac.verify_slice(hash)
        .map_err(|_| format!("the signature of user {user:?} does not match"))?;
    Ok(user)
}

/// Decrypts an encrypted part's body (user name length, user name, 16-byte IV, then the
/// ciphertext of a SHA-1 and the plaintext); the plaintext when its SHA-1 matches.
pub fn decrypt(body: &[u8], auth: &AuthFile) -> Result<Vec<u8>, String> {
    let user_len = body
        .get(..2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or("encrypted part too short")?;
    let user = body
        .get(2..2 + user_len)
        .ok_or("encrypted part: the user name is cut short")?;
    let user = String::from_utf8_lossy(user).into_owned();
    let iv = body
        .get(2 + user_len..2 + user_len + 16)
        .ok_or("encrypted part: the IV is cut short")?;
    let mut data = body
        .get(2 + user_len + 16..)
        .filter(|d| d.len() >= 20)
        .ok_or("encrypted part: no room for its checksum")?
        .to_vec();
    let key = Sha256::digest(auth.password(&user)?.as_bytes());
    let mut cipher = ofb::Ofb::<aes::Aes256>::new_from_slices(&key, iv)
        .map_err(|e| format!("AES-256-OFB: {e}"))?;
    cipher.apply_keystream(&mut data);
    let (checksum, plaintext) = data.split_at(20);
    if Sha1::digest(plaintext).as_slice() != checksum {
        return Err(format!(
            "the encrypted part of user {user:?} does not decrypt (wrong password?)"
        ));
    }
    Ok(plaintext.to_vec())
}

/// Signs `payload` as collectd does: the signature part, then the payload.
#[cfg(test)]
pub(crate) fn sign(payload: &[u8], user: &str, password: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(password.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(user.as_bytes());
    mac.update(payload);
    let mut out = Vec::with_capacity(36 + user.len() + payload.len());
    out.extend(0x0200u16.to_be_bytes());
    out.extend(((36 + user.len()) as u16).to_be_bytes());
    out.extend(mac.finalize().into_bytes());
    out.extend(user.as_bytes());
    out.extend(payload);
    out
}

/// Encrypts `payload` as collectd does, with the IV given.
#[cfg(test)]
pub(crate) fn encrypt(payload: &[u8], user: &str, password: &str, iv: [u8; 16]) -> Vec<u8> {
    let mut data = Sha1::digest(payload).to_vec();
    data.extend(payload);
    let key = Sha256::digest(password.as_bytes());
    let mut cipher = ofb::Ofb::<aes::Aes256>::new(&key, &iv.into());
    cipher.apply_keystream(&mut data);
    let mut out = Vec::new();
    out.extend(0x0210u16.to_be_bytes());
    out.extend(((4 + 2 + user.len() + 16 + data.len()) as u16).to_be_bytes());
    out.extend((user.len() as u16).to_be_bytes());
    out.extend(user.as_bytes());
    out.extend(iv);
    out.extend(data);
    out
}
