//! Keys, the handshake fixture, the AES fixture and full handshakes with
//! generated keys.

use super::*;
use crate::device_id::DeviceId;
use crate::handshake::*;
use crate::keys::{self, load_public_key, load_server_public_key, KeyError};
use crate::session::Cipher;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::Pkcs1v15Encrypt;

fn fixture(name: &str, field: &str) -> Vec<u8> {
    hx(&vectors()[name][field])
}

#[test]
fn handshake_fixture_credentials_hmac_and_signature() {
    let device = DeviceKey::from_der(&fixture(
        "handshake_fixture",
        "device_private_key_der_pkcs1_1024",
    ))
    .unwrap();
    let server = load_server_public_key(&fixture(
        "handshake_fixture",
        "server_public_key_der_spki_2048",
    ))
    .unwrap();
    let c = fixture("handshake_fixture", "encrypted_aes_credentials_128");
    let s = fixture("handshake_fixture", "signature_256_over_raw_hmac");
    let creds = device.rsa().decrypt(Pkcs1v15Encrypt, &c).unwrap();
    assert_eq!(
        creds,
        fixture("handshake_fixture", "expected_credentials_40")
    );
    assert_eq!(
        credentials_hmac(&creds, &c).to_vec(),
        fixture("handshake_fixture", "expected_hmac_sha1_20")
    );
    // open_server_reply decrypts C, recomputes the HMAC and checks S unprefixed.
    let reply = [c.clone(), s.clone()].concat();
    let keys = open_server_reply(&device, &server, &reply).unwrap();
    assert_eq!(keys.credentials().to_vec(), creds);
    // A tampered signature, ciphertext or length is refused.
    let mut bad = reply.clone();
    bad[300] ^= 1;
    assert!(matches!(
        open_server_reply(&device, &server, &bad),
        Err(HandshakeError::BadSignature)
    ));
    let mut bad = reply.clone();
    bad[5] ^= 1;
    assert!(open_server_reply(&device, &server, &bad).is_err());
    assert!(matches!(
        open_server_reply(&device, &server, &reply[..383]),
        Err(HandshakeError::BadLength { actual: 383, .. })
    ));
    // The id shown by the server.
    let id = DeviceId::from_slice(&fixture("handshake_fixture", "device_id")).unwrap();
    assert_eq!(id.to_string(), "1a118ad1c886d54240ce4b17");
    assert_eq!(fixture("handshake_fixture", "nonce").len(), NONCE_LEN);
}

#[test]
fn fixture_keys_reencode_to_the_same_der() {
    for f in ["handshake_fixture", "session_fixture", "coap_fixture"] {
        let der = fixture(f, "device_private_key_der_pkcs1_1024");
        let key = DeviceKey::from_der(&der).unwrap();
        assert_eq!(key.to_pkcs1_der().unwrap(), der);
        assert_eq!(key.public_der().unwrap().len(), 162);
        let spki = fixture(f, "server_public_key_der_spki_2048");
        assert_eq!(spki.len(), 294);
        let server = load_server_public_key(&spki).unwrap();
        assert_eq!(keys::public_key_to_der(&server).unwrap(), spki);
        let pem = keys::public_key_to_pem(&server).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(load_server_public_key(pem.as_bytes()).unwrap(), server);
        let pkcs1 = server.to_pkcs1_der().unwrap();
        assert_eq!(load_public_key(pkcs1.as_bytes()).unwrap(), server);
        // Sizes are enforced per role.
        assert!(matches!(
            keys::load_device_public_key(&spki),
            Err(KeyError::WrongSize {
                expected: 1024,
                actual: 2048
            })
        ));
        assert!(matches!(
            ServerKey::from_der(&der),
            Err(KeyError::WrongSize { .. })
        ));
    }
    assert!(matches!(
        load_public_key(b"garbage"),
        Err(KeyError::Unrecognised(_))
    ));
    assert!(DeviceKey::from_pem(
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"
    )
    .is_err());
}

#[test]
fn coap_fixture_reply_opens_to_the_credentials() {
    let device = DeviceKey::from_der(&fixture(
        "coap_fixture",
        "device_private_key_der_pkcs1_1024",
    ))
    .unwrap();
    let server =
        load_server_public_key(&fixture("coap_fixture", "server_public_key_der_spki_2048"))
            .unwrap();
    let keys = open_server_reply(
        &device,
        &server,
        &fixture("coap_fixture", "signed_encrypted_credentials_384"),
    )
    .unwrap();
    assert_eq!(keys, fixture_keys("coap_fixture"));
}

#[test]
fn aes_fixture() {
    let creds = fixture("aes_fixture", "credentials_40");
    let padded = fixture("aes_fixture", "plaintext_padded_32");
    let expected = fixture("aes_fixture", "ciphertext_32");
    let keys = crate::SessionKeys::from_slice(&creds).unwrap();
    let mut enc = Cipher::new(keys.key, keys.iv);
    let ct = enc.encrypt(b"Super secret message\n");
    assert_eq!(hex::encode(&ct), hex::encode(&expected));
    assert_eq!(
        enc.iv()[..],
        expected[..16],
        "next IV is the first ciphertext block"
    );
    let mut dec = Cipher::new(keys.key, keys.iv);
    assert_eq!(dec.decrypt(&ct).unwrap(), b"Super secret message\n");
    assert_eq!(&padded[..21], b"Super secret message\n");
    assert!(padded[21..].iter().all(|b| *b == 0x0b));
    // Bad length and bad padding are errors, not panics.
    let mut dec = Cipher::new(keys.key, keys.iv);
    assert!(dec.decrypt(&ct[..17]).is_err());
    assert!(dec.decrypt(&[0u8; 16]).is_err());
}

#[test]
fn generated_keys_save_and_load() {
    let (server, device) = generated_keys();
    assert_eq!(server.public_der().unwrap().len(), 294);
    assert_eq!(device.public_der().unwrap().len(), 162);
    for pem in [
        server.to_pkcs1_pem().unwrap(),
        server.to_pkcs8_pem().unwrap(),
    ] {
        let back = ServerKey::from_pem(&pem).unwrap();
        assert_eq!(back.public_key(), server.public_key());
    }
    assert!(server
        .to_pkcs1_pem()
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(server
        .to_pkcs8_pem()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = DeviceKey::load(device.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(back.public_key(), device.public_key());
    let back = DeviceKey::load(&device.to_pkcs1_der().unwrap()).unwrap();
    assert_eq!(back.public_key(), device.public_key());
    let pub_pem = device.public_pem().unwrap();
    assert_eq!(
        &keys::load_device_public_key(pub_pem.as_bytes()).unwrap(),
        device.public_key()
    );
    assert!(!format!("{server:?}").contains("BEGIN"));
}

#[test]
fn full_handshake_core_and_photon_style() {
    let (server, device) = generated_keys();
    let mut rng = rand::thread_rng();
    let id: DeviceId = "54e1c888f6d9492bebee1ee9".parse().unwrap();
    for append in [false, true] {
        let nonce = make_nonce(&mut rng);
        let appended = append.then(|| device.public_key());
        let msg =
            build_device_message(&mut rng, server.public_key(), &nonce, &id, appended).unwrap();
        assert_eq!(msg.len(), DEVICE_MESSAGE_LEN);
        let intro = open_device_message(&mut rng, server, &nonce, &msg).unwrap();
        assert_eq!(intro.device_id, id);
        assert_eq!(intro.public_key.as_ref(), appended);
        let (reply, keys) = build_server_reply(&mut rng, server, device.public_key()).unwrap();
        assert_eq!(reply.len(), SERVER_REPLY_LEN);
        assert_eq!(
            open_server_reply(device, server.public_key(), &reply).unwrap(),
            keys
        );
        // Wrong nonce, wrong length, wrong server key.
        let other = make_nonce(&mut rng);
        assert!(matches!(
            open_device_message(&mut rng, server, &other, &msg),
            Err(HandshakeError::NonceMismatch)
        ));
        assert!(open_device_message(&mut rng, server, &nonce, &msg[1..]).is_err());
        assert!(open_device_message(&mut rng, server, &nonce, &[0u8; 256]).is_err());
        let stranger = load_server_public_key(&fixture(
            "session_fixture",
            "server_public_key_der_spki_2048",
        ))
        .unwrap();
        assert!(matches!(
            open_server_reply(device, &stranger, &reply),
            Err(HandshakeError::BadSignature)
        ));
    }
    // A 52-byte plaintext followed by garbage is refused, shorter too.
    let nonce = make_nonce(&mut rng);
    let mut plain = nonce.to_vec();
    plain.extend_from_slice(id.as_bytes());
    plain.extend_from_slice(b"junk");
    let msg = server
        .public_key()
        .encrypt(&mut rng, Pkcs1v15Encrypt, &plain)
        .unwrap();
    assert!(matches!(
        open_device_message(&mut rng, server, &nonce, &msg),
        Err(HandshakeError::BadAppendedKey)
    ));
    let msg = server
        .public_key()
        .encrypt(&mut rng, Pkcs1v15Encrypt, &plain[..50])
        .unwrap();
    assert!(matches!(
        open_device_message(&mut rng, server, &nonce, &msg),
        Err(HandshakeError::TooShort(50))
    ));
    // Keys of the wrong size for their role.
    assert!(build_device_message(&mut rng, device.public_key(), &nonce, &id, None).is_err());
    assert!(build_server_reply(&mut rng, server, server.public_key()).is_err());
}

#[test]
fn device_key_loads_from_a_zero_padded_flash_slot() {
    let der = fixture("handshake_fixture", "device_private_key_der_pkcs1_1024");
    assert_eq!(der.len(), 607);
    let mut slot = der.clone();
    slot.resize(612, 0);
    let key = DeviceKey::from_der(&slot).unwrap();
    assert_eq!(key.to_pkcs1_der().unwrap(), der);
    assert!(DeviceKey::load(&slot).is_ok());
    assert!(DeviceKey::from_der(&der[..600]).is_err());
}
