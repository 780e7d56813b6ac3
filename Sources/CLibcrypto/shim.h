// TLS record ciphers through OpenSSL's libcrypto. swift-crypto has no fast AES-CBC: its
// _CryptoExtras one sets up the key schedule again for every 16-byte block through generic code
// (27 MB/s measured on a 300 MB FTPS download); libcrypto's EVP runs on the CPU's AES
// instructions. Its AEADs also open a record from and into buffers the caller owns, where
// swift-crypto's copy the ciphertext into a sealed box and hand the plaintext back as new Data.
#include <openssl/evp.h>

/// Decrypts (`encrypt` 0) or encrypts (1: synthetic captures, the benchmark's generator)
/// `length` bytes, whole blocks, of `in` into `out` with a 16- or 32-byte key; no padding is
/// added or removed (TLS pads its own way). Returns 1 on success, 0 otherwise.
static inline int ftpscope_aes_cbc(int encrypt, const unsigned char *key, int keyLength, const unsigned char *iv,
                                   const unsigned char *in, int length, unsigned char *out) {
    const EVP_CIPHER *cipher = keyLength == 16 ? EVP_aes_128_cbc() : keyLength == 32 ? EVP_aes_256_cbc() : NULL;
    if (cipher == NULL || length <= 0 || length % 16 != 0) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int written = 0, ok = EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt) == 1
        && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
        && EVP_CipherUpdate(ctx, out, &written, in, length) == 1
        && written == length;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/// Opens an AEAD record: AES-128/256-GCM (`chacha` 0, 16- or 32-byte key) or ChaCha20-Poly1305
/// (`chacha` 1), a 12-byte nonce, `aad`, `length` bytes of ciphertext and its 16-byte tag, into
/// `out` (room for `length` bytes, at least 1). Returns 1 when the record authenticates.
static inline int ftpscope_aead_open(int chacha, const unsigned char *key, int keyLength, const unsigned char *nonce,
                                     const unsigned char *aad, int aadLength, const unsigned char *in, int length,
                                     const unsigned char *tag, unsigned char *out) {
    const EVP_CIPHER *cipher = chacha ? (keyLength == 32 ? EVP_chacha20_poly1305() : NULL)
        : keyLength == 16 ? EVP_aes_128_gcm() : keyLength == 32 ? EVP_aes_256_gcm() : NULL;
    if (cipher == NULL || length < 0) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int n = 0, ok = EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1
        && EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1
        && (aadLength == 0 || EVP_DecryptUpdate(ctx, NULL, &n, aad, aadLength) == 1)
        && (length == 0 || (EVP_DecryptUpdate(ctx, out, &n, in, length) == 1 && n == length))
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) == 1
        && EVP_DecryptFinal_ex(ctx, out + length, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
